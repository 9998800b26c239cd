"""greenlight preflight: every requirement named, with its fix, when it is missing — each removed in turn from a
store that has them all (a stand-in store over httpx's MockTransport, a fleet that answers commands)."""
from __future__ import annotations

import httpx
import pytest

from harness.checks.preflight import MISSING, OK, OPTIONAL, run_preflight
from harness.config.catalogue import Catalogue
from harness.targets.base import ExecResult, Fleet, Node, Router, Target

CSS = "/static/version7/frontend/Greenlight/luma/en_US/css/styles.css"
NODES = {"blue": ["blue-1"], "green": ["green-1"]}


class Store:
    """What the store answers; each test takes one thing away."""

    def __init__(self):
        self.page_headers = {"X-Served-By": "blue-1", "X-Release": "r1"}
        self.static_headers = dict(self.page_headers)
        self.health = {"blue-1": 200, "green-1": 200}
        self.products = {1, 2}
        self.lb_up = True

    def __call__(self, req: httpx.Request) -> httpx.Response:
        host, path = req.url.host, req.url.path
        if host == "lb":
            if not self.lb_up:
                raise httpx.ConnectError("refused", request=req)
            if path == "/":
                return httpx.Response(200, headers=self.page_headers, text=f'<link href="{CSS}" rel="stylesheet">')
            if path == CSS:
                return httpx.Response(200, headers=self.static_headers, text="body{}")
            if path.startswith("/catalog/product/view/id/"):
                return httpx.Response(200 if int(path.rsplit("/", 1)[1]) in self.products else 404)
        if path == "/healthz":
            return httpx.Response(self.health[host], headers={"X-Release": "r1", "X-Served-By": host})
        return httpx.Response(404)


class Nodes(Fleet):
    def __init__(self):
        self.reachable, self.magento = True, True

    def nodes(self, colour):
        return [Node(n, colour, f"http://{n}") for n in NODES[colour]]

    def exec(self, node, argv, timeout=120):
        if not self.reachable:
            return ExecResult(255, "", "ssh: connect to host 203.0.113.7 port 22: Connection refused", unreachable=True)
        return ExecResult(0, "magento\n" if self.magento else "", "")

    def put_tar(self, node, dest_dir, tar_bytes):
        raise AssertionError("preflight writes nothing")


class Lb(Router):
    lb_url = "http://lb"

    def live_colour(self):
        return "blue"

    def switch(self, colour):
        raise AssertionError("preflight never switches")


class Db:
    def __init__(self, fail=None):
        self.fail = fail

    def connect(self):
        if self.fail:
            raise self.fail
        return _Conn()


class _Conn:
    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def execute(self, sql, *a):
        assert sql.startswith("SELECT"), sql   # read-only

    def close(self):
        pass


def _run(store=None, fleet=None, kind="digitalocean", release="r2", **target):
    store, fleet = store or Store(), fleet or Nodes()
    t = Target(kind=kind, router=Lb(), fleet=fleet, db=target.pop("db", Db()),
               background_job_commands=target.pop("commands", ("cron off", "cron on")),
               catalogue=Catalogue(skus=("GL-0001", "GL-0002"), product_ids=(1, 2), email_domain="shop.example"),
               **target)
    pf = run_preflight(t, release, transport=httpx.MockTransport(store))
    return pf, {f.requirement: f for f in pf.findings}


def test_a_store_with_everything_is_ready():
    pf, by = _run()
    assert pf.passed and all(f.status == OK for f in pf.findings), [f.line() for f in pf.findings if f.status != OK]
    assert {"answers", "identity headers on pages", "identity headers on static files", "blue-1 health",
            "green-1 reachable", "cron hand-over", "catalogue products", "read access", "release directory"} <= set(by)


def _missing(pf, by, name, *words):
    f = by[name]
    assert f.status == MISSING and not pf.passed, f.line()
    line = f.line()
    assert "fix:" in line and all(w in line for w in words), line
    return f


def test_each_missing_requirement_is_named_with_its_fix(tmp_path):
    s = Store()
    s.lb_up = False
    _missing(*_run(store=s), "answers", "ConnectError", "load balancer's address")
    s = Store()
    del s.page_headers["X-Release"]
    _missing(*_run(store=s), "identity headers on pages", "X-Release", "add_header")
    s = Store()
    del s.static_headers["X-Release"]   # nginx does not inherit add_header into location /static/
    _missing(*_run(store=s), "identity headers on static files", "X-Release", "location /static/")
    s = Store()
    s.health["green-1"] = 503
    _missing(*_run(store=s), "green-1 health", "HTTP 503", "/healthz")
    f = Nodes()
    f.reachable = False
    _missing(*_run(fleet=f), "blue-1 reachable", "Connection refused", "SSH as the Magento file owner")
    f = Nodes()
    f.magento = False
    _missing(*_run(fleet=f), "blue-1 Magento root", "bin/magento", "magento_root")
    s = Store()
    s.products = {1}
    _missing(*_run(store=s), "catalogue products", "2 (GL-0002): HTTP 404", "[catalogue]")
    _missing(*_run(db=Db(fail=OSError("Access denied for user 'greenlight'"))), "read access", "Access denied",
             "password_env")
    _missing(*_run(release=None), "release directory", "no --release", "manifest.json")
    (tmp_path / "not-a-release").mkdir()
    _missing(*_run(release=str(tmp_path / "not-a-release")), "release directory", "manifest.json")


def test_what_a_run_can_do_without_is_optional_and_says_what_is_then_not_judged():
    pf, by = _run(db=None, commands=None)
    assert pf.passed
    assert by["read access"].status == OPTIONAL and "orders_reconciled" in by["read access"].detail
    assert by["cron hand-over"].status == OPTIONAL and "cron_stop" in by["cron hand-over"].fix


@pytest.mark.parametrize("kind", ["compose"])
def test_the_replica_needs_no_release_directory(kind):
    _pf, by = _run(kind=kind, release=None)
    assert by["release directory"].status == OK
