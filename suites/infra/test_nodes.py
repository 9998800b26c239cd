"""Infrastructure checks of every web node (testinfra): the services run, sessions go to the shared Redis,
and blue and green are built the same."""
import json

import httpx
import pytest

from suites.infra.drift import drift, parse_lines

pytestmark = pytest.mark.infra


def test_nginx_and_php_fpm_run_and_listen(host):
    assert host.process.filter(comm="nginx"), "nginx is not running"
    assert host.process.filter(comm="php-fpm8.2"), "php-fpm is not running"
    assert host.socket("tcp://0.0.0.0:80").is_listening
    assert host.socket("unix:///run/php/php8.2-fpm.sock").is_listening


def test_sshd_takes_keys_only(host):
    """Droplets are reached over SSH with a key: password and keyboard-interactive logins stay off."""
    conf = dict(line.split(" ", 1) for line in host.check_output("sshd -T 2>/dev/null").splitlines() if " " in line)
    assert conf.get("passwordauthentication") == "no" and conf.get("kbdinteractiveauthentication") == "no"
    assert conf.get("permitrootlogin") in ("prohibit-password", "without-password", "no")


def test_sessions_go_to_the_shared_redis(host):
    status = json.loads(host.check_output("php /srv/storefront/current/bin/magento greenlight:status --json"))
    assert status["session_save"] == "redis", status
    assert host.check_output("printenv MAGE_REDIS_HOST").strip() == "redis"
    # The node itself reaches that Redis (the session store every node shares).
    pong = host.check_output("""php -r '$r = new Redis(); $r->connect("redis", 6379, 1); echo $r->ping() ? "PONG" : "";'""")
    assert pong.strip() == "PONG"


# Facts that differ per host or per login by nature (an SSH session's own variables included), not drift.
_PER_HOST = ("$_SERVER", "$_ENV", "GREENLIGHT_", "HOSTNAME", "Build date", "Server API", "System", "SSH_", "XDG_")


def _facts(host) -> dict:
    packages = parse_lines(host.check_output("dpkg-query -W -f '${Package}=${Version}\\n'"), "=")
    php_ini = parse_lines(host.check_output("php -i | grep ' => '"), " => ")
    php_ini = {k: v for k, v in php_ini.items() if not k.startswith(_PER_HOST)}
    nginx = {line: "" for line in host.check_output("nginx -T 2>/dev/null").splitlines()
             if ("greenlight_node" not in line and "greenlight_release" not in line) or "add_header" in line}
    fpm = parse_lines(host.check_output("cat /etc/php/8.2/fpm/pool.d/www.conf /etc/php/8.2/fpm/php-fpm.conf"), "=")
    return {"packages": packages, "php_ini": php_ini, "nginx": nginx, "fpm": fpm}


def test_blue_and_green_are_built_the_same(hosts, first_of_each_colour):
    """Drift between colours is a classic cutover failure: a package or setting only the new colour has."""
    b, g = first_of_each_colour["blue"], first_of_each_colour["green"]
    diffs = drift(b, _facts(hosts[b]), g, _facts(hosts[g]))
    assert not diffs, "blue and green differ:\n" + "\n".join(diffs[:30])


def test_healthz_answers_without_auth(node):
    r = httpx.get(node.url + "/healthz", timeout=5)
    assert r.status_code == 200, r.text
    assert r.json()["db"] == "ok" and r.json()["redis"] == "ok"
    assert r.headers["X-Served-By"] == node.name
