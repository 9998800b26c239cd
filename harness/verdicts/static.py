"""Static assets: a page's CSS/JS are its own release's files, across the switch. Judged by the digests and static
version learnt from each release's nodes at deploy time (harness/checks/static_digests.py), never by a marker inside the
asset: real Magento assets carry none."""
from __future__ import annotations

import numpy as np

from harness.checks.static_digests import from_events, judge_asset
from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import (
    EVIDENCE_MAX,
    Bounds,
    Verdict,
    evidence_row,
    no_evidence,
    verdict,
)


def static_assets_consistent(led: Ledger) -> Verdict:
    """Every static asset a page referenced answered 200 with the file of that page's release: its URL carries the
    release's static version and its bytes match the digest learnt from that release's nodes at deploy time
    (`static_digests` events). Nothing inside the asset is trusted: real assets carry no release marker."""
    releases = from_events(led.events)
    assets = led.sparse_col("asset")
    pages = led.sparse_col("page_release")
    rows = pages.rows
    checked, judged, bad = len(rows), 0, []
    status = led.np("status")[rows]
    for j in np.flatnonzero(status != 200).tolist():
        i = int(rows[j])
        bad.append((i, f"HTTP {led.cols['status'][i]}"))
    # Judged once per distinct (page release, URL, digest): a night's assets are a handful of files.
    ok = np.flatnonzero(status == 200)
    at = assets.positions(rows[ok])
    url, sha = assets.sub("url"), assets.sub("sha256")
    width_u, width_s = len(url.values) + 1, len(sha.values) + 1
    keys, which = _distinct(pages.own.codes[ok], width_u, assets.codes_at("url", at), width_s,
                            assets.codes_at("sha256", at),
                            max(len(pages.own.values), pages.own.dict_code + 1) * width_u * width_s)
    del at
    distinct = [(k // (width_u * width_s), k // width_s % width_u, k % width_s) for k in keys.tolist()]
    outcome = []  # per distinct triple: None = matched, a reason, or False = not judged (no digests)
    for j, (p, u, h) in enumerate(distinct):
        page_rel = pages.own.values[p] if p != pages.own.dict_code else pages.value(int(ok[np.argmax(which == j)]))
        try:
            outcome.append(judge_asset(releases, page_rel, url.values[u], sha.values[h]))
        except KeyError:
            outcome.append(False)  # no digests for this page's release (or no release header): status only
    judged_by = np.array([o is not False for o in outcome], dtype=bool)
    which = which.ravel()
    judged = int(judged_by[which].sum()) if len(which) else 0
    for j in np.flatnonzero(np.array([isinstance(o, str) for o in outcome], dtype=bool)[which]).tolist():
        bad.append((int(rows[ok[j]]), outcome[which[j]]))
    bad.sort()
    value = {"assets": checked, "judged_by_digest": judged, "bad": len(bad)}
    if not checked:
        return no_evidence("static_assets_consistent", "no static assets were fetched: nothing was checked", value, 0)
    ev = [{**evidence_row(led, i), "page_release": pages[i],
           "asset": assets.get(i), "why": why} for i, why in bad[:EVIDENCE_MAX]]
    if bad:
        return Verdict("static_assets_consistent", False, value, 0,
                       f"{len(bad)} of {checked} assets were not their page's release's file: {bad[0][1]}", ev)
    if not judged:
        return no_evidence("static_assets_consistent",
                           f"{checked} assets answered 200 but none could be judged: no release's static digests were "
                           "learnt at deploy time (static_digests events)", value, 0)
    return Verdict("static_assets_consistent", True, value, 0,
                   f"{judged} assets matched their page's release (digest and version)"
                   + (f"; {checked - judged} judged by status only" if judged < checked else ""))


def _distinct(pc, width_u: int, uc, width_s: int, sc, top: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse=True) of key = (pc * width_u + uc) * width_s + sc, below `top`. When the keys
    fit a table of at most 2**24 (they do: a handful of files), without sorting: a night's millions of asset rows
    are coded in two passes over 4-byte arrays instead of a sort over 8-byte ones."""
    if top > 1 << 24:
        return np.unique((pc.astype(np.int64) * width_u + uc) * width_s + sc, return_inverse=True)
    key = pc.astype(np.int32)
    key *= width_u
    key += uc
    key *= width_s
    key += sc
    seen = np.zeros(top, dtype=bool)
    seen[key] = True
    keys = np.flatnonzero(seen)
    code = np.cumsum(seen, dtype=np.int32) - 1
    return keys, code[key]


@verdict("static_assets_consistent", family="static")
def _static_assets_consistent(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every asset a page referenced answered 200 with its page's release's file (digest and static version)."""
    return static_assets_consistent(led)
