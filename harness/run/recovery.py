"""After a crash (a SIGKILLed certify or drill): what is left behind, and putting it right — every journaled fault
healed, load whose harness is gone ended, one healthy colour live. What `greenlight status` and `greenlight heal`
show and do."""
from __future__ import annotations

from dataclasses import asdict

from harness.faults import Journal, heal_journal
from harness.load import lease


def leftovers() -> dict:
    return {"faults": [asdict(e) for e in Journal().entries()], "load": lease.load_processes()}


def heal_everything(open_target=None) -> dict:
    """Heal in dependency order: faults first (a healed node can take traffic), then load, then the live colour.
    `open_target()` is called only after the faults are healed (a killed LB or node makes the target unreadable)
    and returns a target, or None when there is none to check."""
    rows = heal_journal()
    ended = lease.end_orphans()
    out = {"faults": rows, "load_ended": ended, "live": None, "ok": all(r["healed"] for r in rows)}
    target = open_target() if open_target is not None else None
    if target is not None:
        from harness.run.cutover import ensure_healthy_live
        from harness.targets.base import TargetError

        moves: list[dict] = []
        try:
            prefer = target.live_colour()
        except TargetError:
            prefer = "blue"
        out["live"] = ensure_healthy_live(target, prefer, lambda name, **kw: moves.append({"event": name, **kw}))
        out["moves"] = moves
        out["locks"] = _clear_stale_locks(target)
        out["ok"] = out["ok"] and not any(m["event"] == "safety_switch_impossible" for m in moves)
    return out


def _clear_stale_locks(target) -> dict:
    """The lock of a run that died (its pid gone, or older than any run) goes; a live holder is named, untouched."""
    from harness.targets import lock
    from harness.targets.base import TargetError

    if target.locker is None:
        return {"cleared": [], "held_by": None}
    try:
        cleared = lock.clear_stale(target.locker)
        live = lock.holders(target.locker)
    except TargetError as exc:
        return {"cleared": [], "held_by": None, "error": str(exc)}
    return {"cleared": [{"holder": h.describe(), "why": why} for h, why in cleared],
            "held_by": live[0].describe() if live else None}


def describe_leftovers(left: dict) -> list[str]:
    lines = []
    for f in left["faults"]:
        lines.append(f"  ACTIVE FAULT {f['id']} {f['description'] or f['kind']} ({f['status']}, "
                     f"injected by pid {f['owner_pid']})")
    for p in left["load"]:
        who = "harness running" if p["harness_alive"] else "HARNESS GONE"
        lines.append(f"  LOAD PROCESS pid {p['pid']} run {p['run_id']} (harness pid {p['harness_pid']}: {who})")
    return lines or ["  no active fault, no load process left"]
