"""greenlight.toml validation: good files load; each problem is one line naming file, key and fix; a token in the
file is refused without being echoed."""
import secrets
from pathlib import Path

import pytest

from harness.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
LB = "4de7ac8b-495b-4884-9a69-1050c6793cd6"
BASE = f'[target]\nkind = "digitalocean"\n[digitalocean]\nlb_id = "{LB}"\n'


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "greenlight.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("name", ["greenlight.toml", "greenlight-simulator.toml"])
def test_shipped_examples_load(name):
    cfg = load_config(ROOT / "examples" / "digitalocean" / name)
    assert cfg.target.kind == "digitalocean" and cfg.digitalocean.health_check.path == "/healthz"
    assert cfg.digitalocean.blue_tag != cfg.digitalocean.green_tag


def test_defaults_and_verdict_bounds(tmp_path):
    cfg = load_config(write(tmp_path, BASE + "[bounds]\nconverged_s = 12\np99_floor_ms = 400\n"))
    do = cfg.digitalocean
    assert (do.api_base, do.token_env, do.switch_mode) == ("https://api.digitalocean.com", "DIGITALOCEAN_TOKEN",
                                                             "droplet_ids")
    b = cfg.verdict_bounds()
    assert (b.converged_s, b.p99_floor_ms, b.p99_ratio) == (12, 400, 3.0)
    assert load_config(write(tmp_path, '[target]\nkind = "compose"\n')).digitalocean is None


@pytest.mark.parametrize("extra, key, fragment", [
    ('switch_mode = "teleport"\n', "digitalocean.switch_mode", "droplet_ids"),
    ('token_env = "my token"\n', "digitalocean.token_env", "environment variable name"),
    ('api_base = "http://api.digitalocean.com"\n', "digitalocean.api_base", "https://"),
    ('region = "New York"\n', "digitalocean.region", "region slug"),
    ('node_url = "http://{address}:80"\n', "digitalocean.node_url", "{ip}"),
    ('deploy_hook = "deploy {color}"\n', "digitalocean.deploy_hook", "unknown placeholder"),
    ('green_tag = "magento-blue"\n', "digitalocean", "must differ"),
    ('blue_tag = ""\n', "digitalocean", "blue_tag/green_tag or by blue_ids/green_ids"),
    ('bleu_tag = "x"\n', "digitalocean.bleu_tag", "unknown key"),
    ('[digitalocean.health_check]\nhealthy_threshold = 1\n', "digitalocean.health_check.healthy_threshold", "2"),
    ('[digitalocean.ssh]\nport = 0\n', "digitalocean.ssh.port", "1"),
    ('[checkout]\nshipping_method = "flatrate"\n', "checkout.shipping_method", "<carrier>_<method>"),
    ('[checkout]\npayment_method = ""\n', "checkout.payment_method", "at least 1"),
    ('[checkout.address]\ncountry_id = "USA"\n', "checkout.address.country_id", "ISO 3166"),
])
def test_each_problem_is_one_line_naming_file_key_and_fix(tmp_path, extra, key, fragment):
    p = write(tmp_path, BASE + extra)
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert "\n" not in msg, msg
    assert msg.startswith(f"{p}: {key}: ") and fragment in msg, msg


def test_several_problems_give_one_line_each(tmp_path):
    p = write(tmp_path, BASE + 'region = "Amsterdam"\nswitch_mode = "x"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    lines = str(exc.value).splitlines()
    assert [ln.split(": ")[1] for ln in lines] == ["digitalocean.region", "digitalocean.switch_mode"]


def test_missing_section_and_missing_key(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, '[target]\nkind = "digitalocean"\n'))
    assert "no [digitalocean] section" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, BASE.replace(f'lb_id = "{LB}"\n', "")))
    assert "digitalocean.lb_id: required" in str(exc.value)


@pytest.mark.parametrize("token", ["dop_v1_" + secrets.token_hex(32), secrets.token_hex(32),
                                   "doo_v1_" + secrets.token_hex(32)])
@pytest.mark.parametrize("where", ['token_env = "{t}"\n', 'deploy_hook = "x"\n[digitalocean.database]\npassword_env = "{t}"\n'])
def test_a_token_in_the_file_is_refused_and_not_echoed(tmp_path, token, where):
    p = write(tmp_path, BASE + where.format(t=token))
    with pytest.raises(ConfigError, match="looks like a token itself") as exc:
        load_config(p)
    assert token not in str(exc.value)


def test_file_and_toml_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[target\n"))


def test_plain_http_api_is_allowed_on_loopback_only(tmp_path):
    cfg = load_config(write(tmp_path, BASE + 'api_base = "http://127.0.0.1:8090/"\n'))
    assert cfg.digitalocean.api_base == "http://127.0.0.1:8090"
