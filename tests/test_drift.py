"""The drift check names what differs, and passes only on identical fact sets."""
from suites.infra.drift import drift, parse_lines


def test_identical_hosts_have_no_drift():
    facts = {"packages": {"nginx": "1.22.1-9"}, "php_ini": {"memory_limit": "128M"}}
    assert drift("blue-1", facts, "green-1", {k: dict(v) for k, v in facts.items()}) == []


def test_drift_names_each_difference():
    a = {"packages": {"nginx": "1.22.1-9", "php8.2-redis": "5.3.7"}, "php_ini": {"memory_limit": "128M"}}
    b = {"packages": {"nginx": "1.22.1-9+deb12u1"}, "php_ini": {"memory_limit": "256M", "opcache.enable": "On"}}
    d = drift("blue-1", a, "green-1", b)
    assert "packages: nginx is '1.22.1-9' on blue-1 but '1.22.1-9+deb12u1' on green-1" in d
    assert "packages: php8.2-redis only on blue-1 (5.3.7)" in d
    assert "php_ini: memory_limit is '128M' on blue-1 but '256M' on green-1" in d
    assert "php_ini: opcache.enable only on green-1 (On)" in d
    assert len(d) == 4


def test_parse_lines():
    assert parse_lines("a=1\n# c\n\nb = 2\nflag", "=") == {"a": "1", "b": "2", "flag": ""}
