"""Static assets: a page's CSS/JS come from the same release as the page, across the switch."""
from __future__ import annotations

from harness.context import RunContext
from harness.ledger import Ledger
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, Verdict, evidence_row, verdict


def static_assets_consistent(led: Ledger) -> Verdict:
    """Every static asset a page referenced answered 200 with the content of that page's release."""
    checked, bad = 0, []
    for i, page_rel in led.sparse["page_release"].items():
        checked += 1
        asset_rel = led.sparse["asset_release"].get(i)
        if led.cols["status"][i] != 200 or (asset_rel is not None and page_rel and asset_rel != page_rel):
            bad.append(i)
    if not checked:
        return Verdict("static_assets_consistent", False, 0, 0, "no static assets were fetched: nothing was checked")
    ev = [{**evidence_row(led, i), "page_release": led.sparse["page_release"][i],
           "asset_release": led.sparse["asset_release"].get(i)} for i in bad[:EVIDENCE_MAX]]
    return Verdict("static_assets_consistent", not bad, len(bad), 0,
                   f"{checked} assets consistent with their pages" if not bad else
                   f"{len(bad)} of {checked} assets failed or carried another release than their page", ev)


@verdict("static_assets_consistent", family="static")
def _static_assets_consistent(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every asset a page referenced answered 200 from the page's own release."""
    return static_assets_consistent(led)
