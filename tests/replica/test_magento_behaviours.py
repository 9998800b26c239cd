"""Magento 2.4 behaviours that break real cutovers, through the real replica: Cm_RedisSession locking, JWT customer
tokens, ConfigChangeDetector, the built-in full-page cache and its id_prefix, setup:upgrade's cache flush, the
stock nginx static rule, and cron/consumers on the live colour only."""
import base64
import concurrent.futures as cf
import json
import re
import time
import uuid

import docker
import httpx
import pytest

from harness.targets.base import other_colour
from harness.targets.replica import stack

pytestmark = pytest.mark.replica


@pytest.fixture(scope="module")
def nodes(gl_target):
    return {n.name: n for c in ("blue", "green") for n in gl_target.nodes(c)}


def _sh(service: str, cmd: str) -> str:
    c = docker.from_env().containers.get(stack.container(service))
    r = c.exec_run(["sh", "-c", cmd])
    assert r.exit_code == 0, r.output.decode(errors="replace")
    return r.output.decode(errors="replace")


def _redis(cmd: str, db: int = 2) -> str:
    return _sh("redis", f"redis-cli -n {db} {cmd}").strip()


def _customer(c: httpx.Client, base: str) -> tuple[str, str]:
    email, pw = f"replica-{uuid.uuid4().hex[:8]}@smoke.greenlight.test", "Passw0rd-" + uuid.uuid4().hex[:6]
    r = c.post(f"{base}/rest/V1/customers", json={"customer": {"email": email, "firstname": "Ann", "lastname": "Lee"},
                                                  "password": pw})
    assert r.status_code == 200, r.text
    return email, pw


def test_sessions_are_cm_redis_hashes_and_too_many_waiters_get_503(nodes):
    base = nodes["blue-1"].url
    with httpx.Client(timeout=20) as c:
        c.get(f"{base}/customer/account/login/")
        sid = c.cookies["PHPSESSID"]
    key = f"sess_{sid}"
    assert _redis(f"type {key}") == "hash" and "_form_key" in _redis(f"hget {key} data")
    # A request stuck holding the lock: six waiters queue (max_concurrency), the seventh and later get 503.
    _redis(f"hset {key} lock 1 pid stuck-request")
    def one(_):
        with httpx.Client(timeout=20, cookies={"PHPSESSID": sid}) as c:
            return c.get(f"{base}/customer/section/load/", params={"sections": "customer"}).status_code
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(9) as pool:
        statuses = sorted(pool.map(one, range(9)))
    assert statuses.count(503) >= 1, statuses
    # The waiters got through once break_after_frontend (5 s) broke the stuck lock.
    assert statuses.count(200) >= 1 and time.monotonic() - t0 >= 4, statuses
    assert _redis(f"hget {key} lock") == "0"


def test_jwt_customer_tokens_work_on_every_node_and_tampering_is_401(nodes):
    with httpx.Client(timeout=10) as c:
        email, pw = _customer(c, nodes["blue-1"].url)
        token = c.post(f"{nodes['blue-1'].url}/rest/V1/integration/customer/token",
                       json={"username": email, "password": pw}).json()
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header["alg"] == "HS256" and header["kid"] == "0"
        for n in nodes.values():
            me = c.get(f"{n.url}/rest/V1/customers/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["email"] == email
        forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        assert c.get(f"{nodes['green-1'].url}/rest/V1/customers/me",
                     headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_changed_config_file_makes_old_code_answer_500_but_healthz_stays_200(nodes):
    base = nodes["green-2"].url
    try:
        _sh("db", "mariadb magento -e \"REPLACE INTO flag VALUES ('config_hash', '{\\\"system\\\":\\\"x\\\"}', NOW())\"")
        r = httpx.get(f"{base}/customer/section/load/", params={"sections": "customer"}, timeout=10)
        assert r.status_code == 500 and "The configuration file has changed" in r.text
        rest = httpx.post(f"{base}/rest/V1/guest-carts", timeout=10)
        assert rest.status_code == 500
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200   # health_check.php skips the plugin
    finally:
        _sh("green-2", "php /srv/storefront/current/bin/magento app:config:import")
    assert httpx.get(f"{base}/customer/section/load/", params={"sections": "customer"}, timeout=10).status_code == 200


def test_full_page_cache_is_shared_by_installs_on_one_path_and_setup_upgrade_flushes_it(nodes, gl_target):
    url = "/catalog/product/view/id/7"
    first = httpx.get(nodes["green-1"].url + url, timeout=10)
    assert first.status_code == 200
    # green-2 runs the same release from the same path: same derived id_prefix, so green-1's entry is a hit there.
    again = httpx.get(nodes["green-2"].url + url, timeout=10)
    assert again.headers.get("X-Magento-Cache-Debug") == "HIT"
    assert re.sub(r'value="[0-9a-f]{16}"', "", again.text) == re.sub(r'value="[0-9a-f]{16}"', "", first.text)
    # A logged-in context (X-Magento-Vary) is another entry.
    vary = httpx.get(nodes["green-2"].url + url, cookies={"X-Magento-Vary": "abc"}, timeout=10)
    assert vary.headers.get("X-Magento-Cache-Debug") == "MISS"
    # setup:upgrade empties the whole cache backend, whatever the prefix: every install's pages go cold.
    _sh("green-1", "php /srv/storefront/current/bin/magento setup:upgrade")
    cold = httpx.get(nodes["green-2"].url + url, timeout=10)
    assert cold.headers.get("X-Magento-Cache-Debug") == "MISS"


def test_static_version_segment_is_stripped_and_missing_files_404(nodes):
    base = nodes["blue-2"].url
    path = "frontend/Greenlight/luma/en_US/css/styles.css"
    a = httpx.get(f"{base}/static/version1/{path}", timeout=10)
    b = httpx.get(f"{base}/static/version999999/{path}", timeout=10)
    assert a.status_code == b.status_code == 200 and a.content == b.content
    assert "greenlight-release" not in a.text          # no marker: judged by digests
    assert a.headers["X-Served-By"] == "blue-2" and "public" in a.headers.get("Cache-Control", "")
    assert httpx.get(f"{base}/static/version1/frontend/Greenlight/luma/en_US/js/nope.js", timeout=10).status_code == 404


def test_cron_on_the_idle_colour_is_found_by_the_infra_check(gl_target):
    import testinfra

    from suites.infra.test_background_jobs import background_job_problems

    hosts = {n.name: testinfra.get_host(f"docker://{n.address}") for c in ("blue", "green") for n in gl_target.nodes(c)}
    assert background_job_problems(gl_target, hosts) == []
    idle = gl_target.nodes(other_colour(gl_target.live_colour()))[0]
    _sh(idle.name, "greenlight-node cron on")
    try:
        problems = background_job_problems(gl_target, hosts, wait_s=5)
        assert any(idle.name in p and "crontab" in p for p in problems), problems
    finally:
        _sh(idle.name, "greenlight-node cron off && greenlight-node consumers stop")
