"""What a Magento page's scripts request as soon as it loads, read from the page (stdlib only: the locustfile
imports it too).

Magento_Customer/js/customer-data reloads the private-content sections (`customer/section/load/?sections=…`) when a
page loads; a browser fires those requests at once, on the page's session, while other requests of the same session
may be running. The page declares them in its `text/x-magento-init` config: `sectionLoadUrl`, and `reloads` (one
list of section names per request its scripts make; a theme that reloads each section on its own makes several).
Without `reloads`, customer-data's own behaviour: one request for the cart and customer sections.
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

_INIT = re.compile(r'<script type="text/x-magento-init">(.*?)</script>', re.S | re.I)
CUSTOMER_DATA = "Magento_Customer/js/customer-data"
DEFAULT_RELOADS = (("cart", "customer"),)


def _components(html: str):
    for block in _INIT.findall(html or ""):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        if isinstance(data, dict):
            for comps in data.values():
                if isinstance(comps, dict):
                    yield comps


def on_load_requests(html: str) -> list[str]:
    """The section-load URLs (path and query) the page's scripts request on load, one per request."""
    out = []
    for comps in _components(html):
        cfg = comps.get(CUSTOMER_DATA)
        if not isinstance(cfg, dict) or not cfg.get("sectionLoadUrl"):
            continue
        path = urlsplit(str(cfg["sectionLoadUrl"])).path or "/customer/section/load/"
        reloads = cfg.get("reloads") or DEFAULT_RELOADS
        for sections in reloads:
            if isinstance(sections, list | tuple) and sections:
                out.append(f"{path}?sections={','.join(map(str, sections))}")
    return out
