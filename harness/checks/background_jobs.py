"""Cron and queue consumers: a Magento node runs them wherever its crontab is installed, and consumers spawned by
cron keep running on the code they started with. In a blue-green pair exactly one colour may run them — two
colours run every job twice (two order exports, two e-mails) and old code keeps consuming after the switch.

Evidence comes from the shop DB (cron_schedule rows and processed queue messages name the node, colour and
release that did the work) and from each node's crontab."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from harness.targets.base import Node, Target, TargetError

CRON_PROBE = ("test -f /etc/greenlight/crontab || "
              "(crontab -l 2>/dev/null | grep -q 'bin/magento cron:run')")


def cron_installed(target: Target, node: Node) -> bool:
    return target.exec(node, ["sh", "-c", CRON_PROBE], timeout=30).ok


def installed_on(target: Target, colour: str) -> tuple[list[str], list[str]]:
    """(nodes whose crontab runs Magento's cron, "node: why" for nodes that could not be read). A node that does
    not answer (paused, stopped, unreachable) is the caller's reason to refuse, not an exception mid-gate."""
    running, unreadable = [], []
    for n in target.nodes(colour):
        try:
            if cron_installed(target, n):
                running.append(n.name)
        except TargetError as exc:
            unreadable.append(str(exc)[:200])
    return running, unreadable


def commands(target: Target) -> tuple[str, str] | None:
    """(stop, start) shell commands run on each node, or None when the target does not hand cron over."""
    return target.background_job_commands


def hand_over(target: Target, from_colour: str, to_colour: str, event) -> bool:
    """At the switch: the old colour's crontab removed and its running consumers stopped, then the new colour's
    crontab installed — on the replica with `greenlight-node`, on DigitalOcean with the commands configured in
    [digitalocean] (cron_stop / cron_start). Without them an event says so, and the verdict judges what the DB
    shows."""
    cmds = commands(target)
    if cmds is None:
        event("background_jobs_handover_skipped", reason="no cron_stop/cron_start commands for this target")
        return False
    stop, start = cmds
    for colour, cmd in ((from_colour, stop), (to_colour, start)):
        for n in target.nodes(colour):
            try:
                r = target.exec(n, ["sh", "-c", cmd], timeout=60)
                problem = "" if r.ok else (r.stderr or r.stdout).strip()[:160] or f"exit {r.rc}"
                unreachable = r.timed_out or r.unreachable
            except TargetError as exc:
                problem, unreachable = str(exc)[:160], True
            if not problem:
                continue
            if colour == from_colour and unreachable:
                # A frozen or dead node of the colour leaving service runs nothing now; the switch must not fail
                # for it. If it comes back with cron on, background_jobs_one_colour sees it in the shop DB.
                event("background_jobs_stop_skipped", node=n.name, reason=problem)
                continue
            raise TargetError(f"{n.name}: {cmd!r} failed: {problem}")
    event("background_jobs_handover", stopped=from_colour, started=to_colour)
    return True


def _ts(v) -> float:
    if isinstance(v, datetime):
        return v.replace(tzinfo=v.tzinfo or UTC).timestamp()
    return float(v)


def activity(db, since: float) -> list[dict]:
    """Cron runs and consumed messages since `since` (epoch s): {ts, kind, node, colour, release}."""
    conn = db.connect()
    out = []
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute("SELECT UNIX_TIMESTAMP(executed_at), messages FROM cron_schedule WHERE executed_at >= "
                        "FROM_UNIXTIME(%s)", (since,))
            for ts, msg in cur.fetchall():
                out.append({"ts": float(ts), "kind": "cron", **_who(msg)})
            cur.execute("SELECT UNIX_TIMESTAMP(processed_at), processed_by FROM queue_message WHERE processed_at >= "
                        "FROM_UNIXTIME(%s)", (since,))
            for ts, by in cur.fetchall():
                out.append({"ts": float(ts), "kind": "consumer", **_who(by)})
    finally:
        conn.close()
    return sorted(out, key=lambda r: r["ts"])


def _who(raw) -> dict:
    try:
        d = json.loads(raw or "{}")
    except ValueError:
        d = {}
    return {"node": d.get("node", "?"), "colour": d.get("colour", "?"), "release": d.get("release", "?")}


def colours_since(rows: list[dict], since: float) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        if r["ts"] >= since:
            counts[r["colour"]] = counts.get(r["colour"], 0) + 1
    return counts
