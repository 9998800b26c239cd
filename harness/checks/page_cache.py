"""Each colour's pages must be rendered by its own release: the colours must not share page-cache entries.

Magento keeps its caches in the shared Redis under env.php's `id_prefix` (derived from the install path when not
set). Two colours with the same prefix — installed at the same path on different droplets, or an env.php copied
from the live servers — read each other's config, layout and full pages: the live colour's customers get the new
release's pages (asking for its static version, which the old nodes answer with their old files, cached for a year)
before the switch, and the new colour serves the old release's pages after it. A full-page cache in front of both
colours (one Varnish, a CDN) keyed without the colour does the same.

The probe needs no access to the cache: it renders a page on one colour under a URL nobody else asked for (a unique
query string is part of Magento's page-cache identifier), then asks the other colour for the same URL. A page
whose `/static/version<N>/` is not the answering node's release's version was rendered by the other release.
"""
from __future__ import annotations

import re
import uuid

import httpx

from harness.targets.base import Node

_STATIC_VERSION = re.compile(r"/static/version(\d+)/")


def page_static_version(html: str) -> str | None:
    """The static version a page's assets ask for (Magento links every asset under one version)."""
    m = _STATIC_VERSION.search(html)
    return m.group(1) if m else None


def _render(client: httpx.Client, node: Node, url: str) -> tuple[int, str | None]:
    r = client.get(node.url.rstrip("/") + url)
    return r.status_code, page_static_version(r.text) if r.status_code == 200 else None


def page_cache_isolated(first: Node, first_version: str, second: Node, second_version: str, *, product_id: int,
                        headers: dict | None = None, timeout: float = 10) -> tuple[bool | None, str]:
    """Render a product page on `first` under a fresh URL (it enters first's page cache), then fetch the same URL
    from `second`: second must answer with its own render (its release's static version). Both requests carry the
    store's Host (`headers`; Magento's page-cache identifier holds the whole URL): one shopper's URL, two colours. None:
    cannot be judged (the reason says why)."""
    if not first_version or not second_version or first_version == second_version:
        return None, (f"both releases deploy static version {first_version or '?'}: a page cannot be told from the "
                      "other release's")
    url = f"/catalog/product/view/id/{product_id}?gl_cache_probe={uuid.uuid4().hex[:12]}"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, headers=headers) as c:
            st1, v1 = _render(c, first, url)
            if st1 != 200 or v1 is None:
                return False, f"{first.name}: the probe page {url} answered {st1} without a static version"
            st2, v2 = _render(c, second, url)
    except httpx.HTTPError as exc:
        return False, f"{first.name} → {second.name}: {type(exc).__name__}: {exc}"
    if st2 != 200 or v2 is None:
        return False, f"{second.name}: the probe page {url} answered {st2} without a static version"
    if v2 == second_version:
        return True, ""
    whose = f"{first.name}'s release" if v2 == v1 == first_version else "another release"
    return False, (f"{second.name} answered {url} with a page rendered by {whose} (static version {v2}, its own is "
                   f"{second_version}): the colours share page-cache entries (the same cache id_prefix in one Redis, "
                   "or one full-page cache in front of both); give each colour its own id_prefix")
