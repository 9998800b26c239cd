"""Cron and queue consumers: a Magento node runs them wherever its crontab is installed, and consumers spawned by
cron keep running on the code they started with. In a blue-green pair exactly one colour may run them — two
colours run every job twice (two order exports, two e-mails) and old code keeps consuming after the switch.

Evidence is what a stock store has: each node's crontab and consumer processes (sampled through the run), and the
shop DB's cron_schedule and queue_message_status rows, which say that work was done, never by whom."""
from __future__ import annotations

import time

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


# One look at a node: is Magento's cron installed (the replica's crontab file, the node user's crontab, or the
# Magento owner's), and how many queue consumers run ('[q]' keeps pgrep from counting this shell itself).
NODE_PROBE = ("if { test -f /etc/greenlight/crontab || crontab -l 2>/dev/null | grep -q 'bin/magento cron:run' || "
              "crontab -l -u {user} 2>/dev/null | grep -q 'bin/magento cron:run'; }; then echo cron=1; "
              "else echo cron=0; fi; echo consumers=$(pgrep -fc '[q]ueue:consumers:start' || true)")


def probe_node(target: Target, node: Node, user: str = "www-data", timeout: float = 5) -> dict | None:
    """{"cron": bool, "consumers": int} on `node`, or None when it could not be read (frozen, down, no exec)."""
    try:
        r = target.exec(node, ["sh", "-c", NODE_PROBE.replace("{user}", user)], timeout=timeout)
    except TargetError:
        return None
    if not r.ok and not r.stdout:
        return None
    got = dict(part.split("=", 1) for part in r.stdout.split() if "=" in part)
    try:
        return {"cron": got.get("cron") == "1", "consumers": int(got.get("consumers") or 0)}
    except ValueError:
        return None


def sample(target: Target) -> dict[str, dict]:
    """Who runs Magento's background work now: {node: {colour, cron, consumers}} (unreadable nodes left out)."""
    out = {}
    for colour in ("blue", "green"):
        for n in target.nodes(colour):
            got = probe_node(target, n)
            if got is not None:
                out[n.name] = {"colour": colour, **got}
    return out


def activity(db, since: float) -> dict:
    """What a stock Magento 2.4 DB tells of background work since `since` (epoch s), and nothing of who did it:
    cron jobs executed (cron_schedule.executed_at), queue messages completed (queue_message_status 4, its
    updated_at is when), and the messages queued since then still waiting (status 2: new; updated_at is when they
    were queued)."""
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute("SELECT UNIX_TIMESTAMP(executed_at) FROM cron_schedule WHERE executed_at >= "
                        "FROM_UNIXTIME(%s) ORDER BY executed_at", (int(since),))
            cron = [float(ts) for (ts,) in cur.fetchall()]
            cur.execute("SELECT UNIX_TIMESTAMP(updated_at) FROM queue_message_status WHERE status = 4 AND "
                        "updated_at >= FROM_UNIXTIME(%s) ORDER BY updated_at", (int(since),))
            done = [float(ts) for (ts,) in cur.fetchall()]
            # Waiting messages queued during the run (a backlog older than the run is not this release's).
            cur.execute("SELECT COUNT(*), UNIX_TIMESTAMP(MIN(updated_at)) FROM queue_message_status WHERE status = 2 "
                        "AND updated_at >= FROM_UNIXTIME(%s)", (int(since),))
            waiting, oldest = cur.fetchone()
    finally:
        conn.close()
    return {"cron_runs": cron, "completed": done, "waiting": int(waiting or 0),
            "oldest_waiting_ts": float(oldest) if oldest is not None else None, "read_at": time.time()}
