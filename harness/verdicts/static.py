"""Static assets: a page's CSS/JS are its own release's files, across the switch. Judged by the digests and static
version learnt from each release's nodes at deploy time (harness/static_digests.py), never by a marker inside the
asset: real Magento assets carry none."""
from __future__ import annotations

from harness.context import RunContext
from harness.ledger import Ledger
from harness.static_digests import from_events, judge_asset
from harness.verdicts.registry import (
    EVIDENCE_MAX,
    Bounds,
    Verdict,
    evidence_row,
    verdict,
)


def static_assets_consistent(led: Ledger) -> Verdict:
    """Every static asset a page referenced answered 200 with the file of that page's release: its URL carries the
    release's static version and its bytes match the digest learnt from that release's nodes at deploy time
    (`static_digests` events). Nothing inside the asset is trusted: real assets carry no release marker."""
    releases = from_events(led.events)
    assets = led.sparse.get("asset", {})
    checked, judged, bad = 0, 0, []
    for i, page_rel in led.sparse["page_release"].items():
        checked += 1
        asset = assets.get(i) or {}
        if led.cols["status"][i] != 200:
            bad.append((i, f"HTTP {led.cols['status'][i]}"))
            continue
        try:
            why = judge_asset(releases, page_rel, asset.get("url"), asset.get("sha256"))
        except KeyError:
            continue  # no digests for this page's release (or no release header): status only
        judged += 1
        if why:
            bad.append((i, why))
    value = {"assets": checked, "judged_by_digest": judged, "bad": len(bad)}
    if not checked:
        return Verdict("static_assets_consistent", False, value, 0, "no static assets were fetched: nothing was checked")
    ev = [{**evidence_row(led, i), "page_release": led.sparse["page_release"][i],
           "asset": assets.get(i), "why": why} for i, why in bad[:EVIDENCE_MAX]]
    if bad:
        return Verdict("static_assets_consistent", False, value, 0,
                       f"{len(bad)} of {checked} assets were not their page's release's file: {bad[0][1]}", ev)
    if not judged:
        return Verdict("static_assets_consistent", False, value, 0,
                       f"{checked} assets answered 200 but none could be judged: no release's static digests were "
                       "learnt at deploy time (static_digests events)")
    return Verdict("static_assets_consistent", True, value, 0,
                   f"{judged} assets matched their page's release (digest and version)"
                   + (f"; {checked - judged} judged by status only" if judged < checked else ""))


@verdict("static_assets_consistent", family="static")
def _static_assets_consistent(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every asset a page referenced answered 200 with its page's release's file (digest and static version)."""
    return static_assets_consistent(led)
