"""Exactly one colour runs Magento's cron and queue consumers — the live one (testinfra on every node).

Two colours running cron run every job twice; consumers left on the old colour keep consuming on old code."""
import pytest

from harness.checks.background_jobs import CRON_PROBE
from harness.targets.base import other_colour
from harness.targets.retry import GaveUp, retry

pytestmark = pytest.mark.infra


def consumers(host) -> list[str]:
    return [p.args for p in host.process.filter(comm="php") if "queue:consumers:start" in p.args]


def crontab(host) -> bool:
    return host.run(f"sh -c {CRON_PROBE!r}").rc == 0


def background_job_problems(target, hosts, wait_s: float = 20) -> list[str]:
    """What is wrong with who runs cron and consumers now; [] when only the live colour does."""
    live = target.live_colour()
    idle = other_colour(live)
    problems = []
    for n in target.nodes(live):
        if not crontab(hosts[n.name]):
            problems.append(f"{n.name} (live) has no Magento crontab")
    for n in target.nodes(idle):
        if crontab(hosts[n.name]):
            problems.append(f"{n.name} (idle) has Magento's crontab installed")
        if consumers(hosts[n.name]):
            problems.append(f"{n.name} (idle) runs queue consumers: {consumers(hosts[n.name])[:2]}")
    if not problems:  # cron spawns one consumer per live node within a few runs
        try:
            retry(lambda: [n.name for n in target.nodes(live) if not consumers(hosts[n.name])],
                  what="consumers on the live colour", timeout=wait_s, interval=1, until=lambda missing: not missing)
        except GaveUp as exc:
            problems.append(f"no queue consumer runs on live node(s) {exc.last}")
    return problems


def test_only_the_live_colour_runs_cron_and_consumers(gl_target, hosts):
    problems = background_job_problems(gl_target, hosts)
    assert not problems, "; ".join(problems)
