"""After a switch, clean the full-page cache from the new colour: `bin/magento cache:clean full_page` cleans its
built-in page cache and purges every http_cache_hosts entry (Varnish, shared by both colours), so pages the old
release rendered (linking its static version) stop being served. Cleaning before the switch is not enough: the
old colour keeps filling a shared cache until traffic leaves it."""
from __future__ import annotations

from collections.abc import Callable

from harness.targets.base import Target


def clean_page_cache(target: Target, colour: str, event: Callable[..., None]) -> None:
    nodes = target.nodes(colour)
    if not nodes:
        return
    root = target.magento_root
    try:
        r = target.exec(nodes[0], ["php", f"{root}/bin/magento", "cache:clean", "full_page"], timeout=60)
        ok, detail = r.ok, (r.stderr or r.stdout).strip()[-200:]
    except Exception as exc:  # noqa: BLE001 - the cutover goes on; the event says what happened
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
    event("page_cache_cleaned", colour=colour, node=nodes[0].name, ok=ok, detail=detail)
