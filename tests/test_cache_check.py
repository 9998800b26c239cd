"""The page-cache isolation probe (harness/checks/page_cache.py) against two tiny HTTP "nodes" with a page cache each, or
one shared between them (what one id_prefix in a shared Redis, or one Varnish in front of both colours, does)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.checks.page_cache import page_cache_isolated, page_static_version
from harness.targets.base import Node


def _node(version: str, cache: dict) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            # Magento's page cache: the full URL is the identifier; a miss renders this node's release's page.
            body = cache.setdefault(self.path, f'<link href="/static/version{version}/frontend/x.css"><h1>page</h1>')
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture
def nodes(request):
    shared = request.param
    cache_a: dict = {}
    cache_b = cache_a if shared else {}
    a, b = _node("111", cache_a), _node("222", cache_b)
    yield (Node("blue-1", "blue", f"http://127.0.0.1:{a.server_address[1]}"),
           Node("green-1", "green", f"http://127.0.0.1:{b.server_address[1]}"))
    a.shutdown()
    b.shutdown()


@pytest.mark.parametrize("nodes", [False], indirect=True)
def test_colours_with_their_own_caches_pass_both_ways(nodes):
    blue, green = nodes
    assert page_cache_isolated(blue, "111", green, "222", product_id=1) == (True, "")
    assert page_cache_isolated(green, "222", blue, "111", product_id=1) == (True, "")


@pytest.mark.parametrize("nodes", [True], indirect=True)
def test_a_shared_page_cache_fails_naming_the_other_release(nodes):
    blue, green = nodes
    ok, why = page_cache_isolated(blue, "111", green, "222", product_id=1)
    assert ok is False
    assert "green-1 answered" in why and "blue-1's release" in why and "static version 111" in why
    assert "share page-cache entries" in why
    # The other way round is what the live colour's customers would get: the new release's page.
    ok, why = page_cache_isolated(green, "222", blue, "111", product_id=1)
    assert ok is False and "static version 222" in why


@pytest.mark.parametrize("nodes", [True], indirect=True)
def test_same_static_version_cannot_be_judged(nodes):
    blue, green = nodes
    ok, why = page_cache_isolated(blue, "111", green, "111", product_id=1)
    assert ok is None and "cannot be told" in why


def test_page_static_version():
    assert page_static_version('<script src="/static/version1700000002/frontend/a.js">') == "1700000002"
    assert page_static_version("<h1>no assets</h1>") is None
