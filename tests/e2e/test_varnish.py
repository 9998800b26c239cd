"""Cutovers through one Varnish in front of both colours (the replica's optional profile: Debian's Varnish with a VCL
shaped like Magento's generated one; the nodes' full-page cache set to Varnish and purged through http_cache_hosts).

A shared Varnish keeps pages the old colour rendered (linking its static version) after the switch unless Magento
purges it: the engine cleans the full-page cache from the new colour once traffic has moved, and a release whose
env.php has no http_cache_hosts never reaches Varnish — the converged verdict catches the old release still served.
The module restarts the replica with Varnish, and without it again at the end (`make test-varnish`)."""
import os

import httpx
import pytest

from harness.cli import main as cli
from harness.run.certify import certify, default_release
from harness.run.cutover import live_release
from harness.targets.factory import open_target
from harness.targets.replica import stack

pytestmark = [pytest.mark.replica, pytest.mark.varnish]


@pytest.fixture(scope="module")
def varnish_target():
    before = os.environ.get("GREENLIGHT_VARNISH")
    os.environ["GREENLIGHT_VARNISH"] = "1"
    try:
        stack.up()
        with open_target("local") as target:
            yield target
    finally:
        if before is None:
            os.environ.pop("GREENLIGHT_VARNISH", None)
        else:
            os.environ["GREENLIGHT_VARNISH"] = before
        stack.up()  # the default replica again: customers straight to the load balancer


def test_customers_come_in_through_varnish_which_caches_public_pages_only(varnish_target):
    assert varnish_target.lb_url.endswith(f":{stack.front_port()}") and stack.front_port() != stack.lb_port()
    with httpx.Client(base_url=varnish_target.lb_url, timeout=10) as c:
        url = f"/catalog/product/view/id/1?varnish_probe={os.getpid()}"
        first, second = c.get(url), c.get(url)
        assert first.headers["X-Magento-Cache-Debug"] == "MISS" and second.headers["X-Magento-Cache-Debug"] == "HIT"
        assert "set-cookie" not in second.headers and "X-Magento-Tags" not in second.headers
        assert second.headers["X-Release"] == first.headers["X-Release"]  # the rendering node's identity is kept
        # Private content and the REST API are never served from the cache.
        assert c.get("/customer/section/load/?sections=cart").headers["X-Magento-Cache-Debug"] != "HIT"
        c.get("/customer/section/load/?sections=cart")
        assert c.get("/customer/section/load/?sections=cart").headers["X-Magento-Cache-Debug"] != "HIT"
        # Magento's purge (cache:clean full_page → PURGE with X-Magento-Tags-Pattern) empties it.
        node = varnish_target.nodes(varnish_target.live_colour())[0]
        r = varnish_target.exec(node, ["php", f"{varnish_target.magento_root}/bin/magento", "cache:clean",
                                       "full_page"], timeout=60)
        assert r.ok, r.stderr
        assert c.get(url).headers["X-Magento-Cache-Debug"] == "MISS"


def test_a_good_cutover_through_a_shared_varnish_passes(varnish_target, gl_options):
    before = live_release(varnish_target)
    release = default_release(varnish_target)
    cert = certify(varnish_target, release=release, users=10, load_seconds=30, watch_s=8,
                   report_dir=gl_options["report_dir"] / "varnish" / "good")
    assert cert.passed, {k: v["detail"] for k, v in cert.verdicts.items() if not v["passed"]}
    cleaned = [e for e in cert.report.get("events", []) if e.get("event") == "page_cache_cleaned"]
    assert live_release(varnish_target) == release.id != before
    assert cleaned and all(e["ok"] for e in cleaned), cleaned


def test_a_release_that_never_purges_the_shared_varnish_is_caught(varnish_target, gl_options):
    cert = certify(varnish_target, release="bad-no-varnish-purge", users=10, load_seconds=40, watch_s=8,
                   report_dir=gl_options["report_dir"] / "varnish" / "bad-no-varnish-purge")
    v = cert.verdict("converged")
    assert not cert.passed and not v["passed"], v
    assert "page cache in front of both colours" in v["detail"], v
    # Caught after the switch (no live rule rolls it back): put the good colour back, as an operator would.
    assert cli(["rollback"]) == 0
