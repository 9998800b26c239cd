"""Hand-written inline SVG charts for report.html (no library, nothing fetched: the report opens offline).

All charts share one time axis, so phases and events line up from the timeline strip down to the latency chart.
Event labels are laid out in lanes so that no two ever overlap, however close their events are."""
from __future__ import annotations

import math
from html import escape

W = 1100                      # viewBox width; the SVG scales to the page
L, R = 64, 24                 # margins for the y axis labels / right edge
CHAR_W = 6.6                  # px per character at 11 px sans-serif (generous, so estimates never undershoot)
LANE_H = 16
COLOURS = {"blue": "#2563eb", "green": "#16a34a", "unknown": "#6b7280", "no node": "#9ca3af"}
EXTRA = ("#9333ea", "#0891b2", "#ca8a04", "#db2777")
FAILED = "#dc2626"
PHASE_FILL = {"baseline": "#f3f4f6", "deploy": "#e0e7ff", "gate": "#fef3c7", "switch": "#ede9fe",
              "watch": "#e0f2fe", "rollback": "#fee2e2", "fault": "url(#gl-fault)"}
PHASE_TEXT = {"baseline": "#6b7280", "deploy": "#4338ca", "gate": "#a16207", "switch": "#6d28d9",
              "watch": "#0369a1", "rollback": "#b91c1c", "fault": "#c2410c"}


def colour_for(name: str, order: list[str]) -> str:
    if name in COLOURS:
        return COLOURS[name]
    others = [n for n in order if n not in COLOURS]
    return EXTRA[others.index(name) % len(EXTRA)] if name in others else COLOURS["unknown"]


def nice_ceiling(v: float) -> float:
    """The smallest round number (1, 1.2, 1.5, 2, … × 10^k) at or above v: an axis maximum people can read, in
    quarters (the y axis has four steps)."""
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        if m * mag >= v - 1e-9:
            return m * mag
    return 10 * mag


def fmt_clock(s: float) -> str:
    s = round(s)
    return f"{s // 60}:{s % 60:02d}"


def text_width(text: str, size: float = 11) -> float:
    return len(text) * CHAR_W * size / 11


class TimeAxis:
    def __init__(self, t0: float, t1: float):
        self.t0, self.t1 = t0, max(t1, t0 + 1.0)

    def x(self, t: float) -> float:
        return L + (W - L - R) * (t - self.t0) / (self.t1 - self.t0)

    def ticks(self) -> list[float]:
        dur = self.t1 - self.t0
        step = next((s for s in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800) if dur / s <= 12), 3600)
        return [self.t0 + k * step for k in range(int(dur // step) + 1)]


def layout_labels(items: list[tuple[float, str]], x_min: float = L, x_max: float = W - 4) -> list[dict]:
    """Place (x, text) labels in lanes so that no two overlap: each goes to the first lane where it fits.
    A label too close to the right edge is drawn to the left of its x. Returns x0/x1 (the box), lane, anchor."""
    lanes: list[list[tuple[float, float]]] = []
    out = []
    for x, text in sorted(items, key=lambda it: it[0]):
        w = text_width(text) + 6
        if x + w <= x_max:
            x0, x1, anchor = x, x + w, "start"
        else:
            x0, x1, anchor = max(x_min, x - w), x, "end"
        lane = next((k for k, boxes in enumerate(lanes) if all(x1 + 4 <= b0 or x0 >= b1 + 4 for b0, b1 in boxes)),
                    None)
        if lane is None:
            lanes.append([])
            lane = len(lanes) - 1
        lanes[lane].append((x0, x1))
        out.append({"x": x, "x0": x0, "x1": x1, "lane": lane, "anchor": anchor, "text": text})
    return out


def _svg(height: float, body: list[str], label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {W} {height:.0f}" role="img" aria-label="{escape(label)}" '
            f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif" '
            f'font-size="11">{"".join(body)}</svg>')


def _defs() -> str:
    return ('<defs><pattern id="gl-fault" width="8" height="8" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffedd5"/>'
            '<line x1="0" y1="0" x2="0" y2="8" stroke="#fdba74" stroke-width="3"/></pattern></defs>')


def _bands(axis: TimeAxis, phases: list[dict], top: float, bottom: float, opacity: float = 1.0) -> list[str]:
    out = []
    for p in phases:
        x0, x1 = axis.x(p["start"]), axis.x(p["end"])
        fill = PHASE_FILL.get(p["phase"], "#f3f4f6")
        out.append(f'<rect x="{x0:.1f}" y="{top:.1f}" width="{max(x1 - x0, 1.5):.1f}" height="{bottom - top:.1f}" '
                   f'fill="{fill}" opacity="{opacity}"><title>{escape(p.get("label") or p["phase"])}: '
                   f'{fmt_clock(p["start"] - axis.t0)}–{fmt_clock(p["end"] - axis.t0)}</title></rect>')
    return out


def _x_axis(axis: TimeAxis, y: float, labels: bool = True) -> list[str]:
    out = [f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#9ca3af"/>']
    for t in axis.ticks():
        x = axis.x(t)
        out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + 4:.1f}" stroke="#9ca3af"/>')
        if labels:
            out.append(f'<text x="{x:.1f}" y="{y + 15:.1f}" text-anchor="middle" fill="#4b5563">'
                       f'{fmt_clock(t - axis.t0)}</text>')
    return out


def _y_axis(top: float, bottom: float, vmax: float, unit: str) -> list[str]:
    out = []
    for k in range(5):
        v = vmax * k / 4
        y = bottom - (bottom - top) * k / 4
        out.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">{v:g}</text>')
    out.append(f'<text x="12" y="{(top + bottom) / 2:.1f}" transform="rotate(-90 12 {(top + bottom) / 2:.1f})" '
               f'text-anchor="middle" fill="#374151">{escape(unit)}</text>')
    return out


def _event_lines(axis: TimeAxis, events: list[dict], top: float, bottom: float) -> list[str]:
    return [f'<line x1="{axis.x(e["ts"]):.1f}" y1="{top:.1f}" x2="{axis.x(e["ts"]):.1f}" y2="{bottom:.1f}" '
            f'stroke="#6b7280" stroke-width="0.8" stroke-dasharray="3,3"/>' for e in events]


def timeline(axis: TimeAxis, phases: list[dict], major: list[dict], minor: list[dict]) -> str:
    """The phase strip with every major event labelled above it (lanes: never overlapping) and minor events
    as ticks with a tooltip."""
    placed = layout_labels([(axis.x(e["ts"]), e["label"]) for e in major])
    lanes = max((p["lane"] for p in placed), default=0) + 1
    strip_top = 8 + lanes * LANE_H + 6
    strip_h = 26
    h = strip_top + strip_h + 24
    body = [_defs()]
    body += _bands(axis, phases, strip_top, strip_top + strip_h)
    for p in phases:
        x0, x1 = axis.x(p["start"]), axis.x(p["end"])
        name = p.get("label") or p["phase"]
        if x1 - x0 >= text_width(name) + 6:
            body.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{strip_top + 17:.1f}" text-anchor="middle" '
                        f'font-weight="600" fill="{PHASE_TEXT.get(p["phase"], "#374151")}">{escape(name)}</text>')
    body.append(f'<rect x="{L}" y="{strip_top}" width="{W - L - R}" height="{strip_h}" fill="none" stroke="#d1d5db"/>')
    for e in minor:
        x = axis.x(e["ts"])
        body.append(f'<line x1="{x:.1f}" y1="{strip_top + strip_h - 7}" x2="{x:.1f}" y2="{strip_top + strip_h}" '
                    f'stroke="#6b7280"><title>{escape(e["label"])} at {fmt_clock(e["ts"] - axis.t0)}</title></line>')
    for p in placed:
        y = 8 + p["lane"] * LANE_H + 11
        tx = p["x"] + 3 if p["anchor"] == "start" else p["x"] - 3
        body.append(f'<line class="leader" x1="{p["x"]:.1f}" y1="{y - 9:.1f}" x2="{p["x"]:.1f}" y2="{strip_top + strip_h:.1f}" '
                    f'stroke="#374151" stroke-width="0.8"/>'
                    f'<text class="event-label" x="{tx:.1f}" y="{y:.1f}" text-anchor="{p["anchor"]}" fill="#111827" '
                    f'data-x0="{p["x0"]:.1f}" data-x1="{p["x1"]:.1f}" data-lane="{p["lane"]}">{escape(p["text"])}</text>')
    body += _x_axis(axis, strip_top + strip_h)
    return _svg(h, body, "timeline: phases and events")


def _polyline(points: list[tuple[float, float]], colour: str, width: float, dash: str = "") -> str:
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    da = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{width}"{da} stroke-linejoin="round"/>'


def _segments(xs: list[float], vals: list, y) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value (a gap where a colour served nothing)."""
    segs, cur = [], []
    for x, v in zip(xs, vals, strict=False):
        if v is None:
            if cur:
                segs.append(cur)
            cur = []
        else:
            cur.append((x, y(v)))
    if cur:
        segs.append(cur)
    return segs


def _legend(items: list[tuple[str, str, str]], y: float) -> list[str]:
    """(label, colour, kind: 'area'|'line'|'dash'|'bar') from the left, one row."""
    out, x = [], L
    for label, colour, kind in items:
        if kind == "dash":
            out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 16}" y2="{y - 4}" stroke="{colour}" stroke-width="1.5" '
                       f'stroke-dasharray="4,3"/>')
        elif kind == "line":
            out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 16}" y2="{y - 4}" stroke="{colour}" stroke-width="2.5"/>')
        elif kind == "thin":
            out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 16}" y2="{y - 4}" stroke="{colour}" stroke-width="1" '
                       f'opacity="0.8"/>')
        else:
            out.append(f'<rect x="{x}" y="{y - 9}" width="16" height="10" fill="{colour}" '
                       f'opacity="{0.85 if kind == "bar" else 0.35}"/>')
        out.append(f'<text x="{x + 20}" y="{y}" fill="#374151">{escape(label)}</text>')
        x += 20 + text_width(label) + 18
    return out


def throughput(axis: TimeAxis, series: dict, phases: list[dict], major: list[dict]) -> str:
    """Requests per second per colour (areas), failed requests per second overlaid in red on the same scale."""
    top, bottom, h = 12, 212, 258
    n, step, t0 = series["buckets"], series["bucket_s"], series["t0"]
    xs = [axis.x(t0 + (b + 0.5) * step) for b in range(n)]
    rps = series["rps"]
    failed = [sum(series["failed"].get(c, [0] * n)[b] for c in series["failed"]) / step for b in range(n)]
    vmax = nice_ceiling(max([max(v) for v in rps.values()] + [max(failed, default=0), 1]))
    y = lambda v: bottom - (bottom - top) * v / vmax  # noqa: E731
    order = sorted(rps, key=lambda c: (c not in COLOURS, c))
    body = _bands(axis, phases, top, bottom, 0.55) + _y_axis(top, bottom, vmax, "requests / s")
    body += _event_lines(axis, major, top, bottom)
    for c in order:
        pts = [(x, y(v)) for x, v in zip(xs, rps[c], strict=False)]
        col = colour_for(c, order)
        area = f"{xs[0]:.1f},{bottom} " + " ".join(f"{x:.1f},{yy:.1f}" for x, yy in pts) + f" {xs[-1]:.1f},{bottom}"
        body.append(f'<polygon points="{area}" fill="{col}" opacity="0.18"/>')
        body.append(_polyline(pts, col, 1.8))
    bw = max((W - L - R) / n - 1, 1.5)
    for b, (x, v) in enumerate(zip(xs, failed, strict=False)):
        if v:
            hh = max(bottom - y(v), 3)  # a single failure stays visible next to hundreds of requests
            body.append(f'<rect class="failed-bar" x="{x - bw / 2:.1f}" y="{bottom - hh:.1f}" width="{bw:.1f}" '
                        f'height="{hh:.1f}" fill="{FAILED}" opacity="0.9"><title>{v * step:g} failed requests at '
                        f'{fmt_clock(t0 + b * step - axis.t0)}</title></rect>'
                        f'<path d="M{x - 4:.1f},{top - 8} L{x + 4:.1f},{top - 8} L{x:.1f},{top - 1} Z" fill="{FAILED}"/>')
    for b in range(n):  # hover: the numbers of each bucket
        tip = ", ".join(f"{c} {rps[c][b]:g}/s" for c in order) + f", failed {failed[b] * step:g}"
        body.append(f'<rect x="{xs[b] - (W - L - R) / n / 2:.1f}" y="{top}" width="{(W - L - R) / n:.1f}" '
                    f'height="{bottom - top}" fill="transparent"><title>{fmt_clock(t0 + b * step - axis.t0)}: '
                    f'{escape(tip)}</title></rect>')
    body += _x_axis(axis, bottom)
    body += _legend([(c + (" (no X-Served-By: LB errors, no response)" if c == "no node" else ""),
                      colour_for(c, order), "area") for c in order]
                    + [("failed requests (5xx, no response, failed check)", FAILED, "bar")], h - 6)
    return _svg(h, body, "throughput per colour with failed requests")


def latency(axis: TimeAxis, series: dict, phases: list[dict], major: list[dict]) -> str:
    """p50 / p95 / p99 per colour over time (per bucket)."""
    top, bottom, h = 12, 212, 258
    n, step, t0 = series["buckets"], series["bucket_s"], series["t0"]
    xs = [axis.x(t0 + (b + 0.5) * step) for b in range(n)]
    lat = series["latency_ms"]
    peaks = [v for per in lat.values() for v in per.get("p99", []) if v is not None]
    vmax = nice_ceiling(max(peaks, default=1))
    y = lambda v: bottom - (bottom - top) * min(v, vmax) / vmax  # noqa: E731
    order = sorted(lat, key=lambda c: (c not in COLOURS, c))
    body = _bands(axis, phases, top, bottom, 0.55) + _y_axis(top, bottom, vmax, "latency, ms")
    body += _event_lines(axis, major, top, bottom)
    legend = []
    for c in order:
        col = colour_for(c, order)
        for p, width, dash, kind in (("p50", 1.0, "", "thin"), ("p95", 1.5, "4,3", "dash"), ("p99", 2.5, "", "line")):
            for seg in _segments(xs, lat[c].get(p, []), y):
                body.append(_polyline(seg, col, width, dash) if len(seg) > 1 else
                            f'<circle cx="{seg[0][0]:.1f}" cy="{seg[0][1]:.1f}" r="{width + 0.5}" fill="{col}"/>')
            legend.append((f"{c} {p}", col, kind))
    body += _x_axis(axis, bottom)
    body += _legend(legend, h - 6)
    return _svg(h, body, "latency percentiles per colour")
