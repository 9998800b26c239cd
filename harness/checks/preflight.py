"""What Greenlight needs of a store, checked against the live store and its nodes before anything changes.

Read-only: GETs through the load balancer and straight to each node, one harmless command per node, SELECTs on
the shop DB. No order is placed, no cart is created, nothing is written. Each requirement says ok, missing (a
certification cannot be honest without it: certify stops with the same words) or optional (what is then not
judged), with how to fix it. A registry like the gate's: a new requirement is one decorated function."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import httpx

from harness.config.catalogue import catalogue
from harness.targets import health
from harness.targets.base import Target, TargetError

OK, MISSING, OPTIONAL = "ok", "missing", "optional"
_ASSET = re.compile(r"""(?:href|src)=["']([^"']*/static/[^"']+\.(?:css|js))["']""")
IDENTITY_SNIPPET = ('add_header X-Served-By $hostname always; add_header X-Release <release id> always; — and '
                    'again inside every location with its own add_header (Magento\'s nginx.conf.sample '
                    '`location /static/` has one: nginx does not inherit add_header into it)')


@dataclass
class Finding:
    group: str
    requirement: str
    status: str            # ok | missing | optional
    detail: str
    fix: str = ""

    def line(self) -> str:
        return (f"{self.status.upper():8} {self.group} / {self.requirement}: {self.detail}"
                + (f" — fix: {self.fix}" if self.fix and self.status != OK else ""))


@dataclass
class Preflight:
    findings: list[Finding] = field(default_factory=list)

    @property
    def missing(self) -> list[Finding]:
        return [f for f in self.findings if f.status == MISSING]

    @property
    def passed(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict:
        return {"passed": self.passed, "missing": len(self.missing), "findings": [asdict(f) for f in self.findings]}


@dataclass
class Ask:
    """What every requirement is handed."""
    target: Target
    client: httpx.Client
    release_dir: str | None = None


Requirement = Callable[[Ask], list[Finding]]
REQUIREMENTS: list[tuple[str, Requirement]] = []


def requirement(group: str) -> Callable[[Requirement], Requirement]:
    def register(fn: Requirement) -> Requirement:
        REQUIREMENTS.append((group, fn))
        return fn
    return register


def _get(ask: Ask, url: str) -> httpx.Response | str:
    try:
        return ask.client.get(url)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"


@requirement("load balancer")
def _lb_identity(ask: Ask) -> list[Finding]:
    """The store answers through the LB, and every response (pages and static files) says who served it."""
    t, g = ask.target, "load balancer"
    r = _get(ask, t.lb_url.rstrip("/") + "/")
    if isinstance(r, str) or r.status_code >= 500:
        return [Finding(g, "answers", MISSING, f"{t.lb_url}/ gave {r if isinstance(r, str) else f'HTTP {r.status_code}'}",
                        "check the load balancer's address in the target file and that the store is up")]
    out = [Finding(g, "answers", OK, f"{t.lb_url}/ answered HTTP {r.status_code}")]
    lacking = [h for h in (t.served_by_header, t.release_header) if not r.headers.get(h)]
    out.append(Finding(g, "identity headers on pages", MISSING if lacking else OK,
                       f"the home page lacks {', '.join(lacking)}" if lacking else
                       f"{t.served_by_header}: {r.headers.get(t.served_by_header)}, "
                       f"{t.release_header}: {r.headers.get(t.release_header)}", IDENTITY_SNIPPET))
    m = _ASSET.search(r.text or "")
    if not m:
        out.append(Finding(g, "identity headers on static files", OPTIONAL,
                           "the home page links no /static/ CSS or JS: static files not checked", IDENTITY_SNIPPET))
        return out
    url = m.group(1)
    url = url if url.startswith("http") else t.lb_url.rstrip("/") + "/" + url.lstrip("/")
    a = _get(ask, url)
    lacking = ["no answer"] if isinstance(a, str) else [h for h in (t.served_by_header, t.release_header)
                                                         if not a.headers.get(h)]
    out.append(Finding(g, "identity headers on static files", MISSING if lacking else OK,
                       f"{url} lacks {', '.join(lacking)}" if lacking else f"{url} says who served it",
                       IDENTITY_SNIPPET))
    return out


@requirement("nodes")
def _nodes_healthy(ask: Ask) -> list[Finding]:
    """Each node answers its health path with the release it runs, straight (not through the LB)."""
    t, out = ask.target, []
    for colour in ("blue", "green"):
        for n in t.nodes(colour):
            h = health.probe(n.url, timeout=5, client=ask.client, path=t.health_path)
            rel = h.header(t.release_header)
            if not h.ok:
                out.append(Finding("nodes", f"{n.name} health", MISSING, f"{h.url} gave {h.problem}",
                                   f"serve {t.health_path} on every node (200 when PHP, DB and Redis answer), "
                                   "reachable from this machine"))
            elif not rel:
                out.append(Finding("nodes", f"{n.name} health", MISSING, f"{h.url} answers without {t.release_header}",
                                   IDENTITY_SNIPPET))
            else:
                out.append(Finding("nodes", f"{n.name} health", OK, f"{h.url}: 200, release {rel}"))
    if not out:
        out.append(Finding("nodes", "nodes listed", MISSING, "the target lists no node for either colour",
                           "tag the droplets of each colour, or list their ids, in the target file"))
    return out


@requirement("nodes")
def _nodes_reachable(ask: Ask) -> list[Finding]:
    """Each node runs a command for Greenlight (SSH as the Magento file owner on droplets) and holds Magento."""
    t, out = ask.target, []
    root = t.magento_root
    for colour in ("blue", "green"):
        for n in t.nodes(colour):
            try:
                r = t.exec(n, ["sh", "-c", f"test -f {root}/bin/magento && echo magento"], timeout=15)
            except TargetError as exc:
                out.append(Finding("nodes", f"{n.name} reachable", MISSING, str(exc)[:160],
                                   "give Greenlight SSH as the Magento file owner ([digitalocean.ssh] user, key)"))
                continue
            if r.unreachable or r.timed_out:
                out.append(Finding("nodes", f"{n.name} reachable", MISSING, (r.stderr or "no answer").strip()[:160],
                                   "give Greenlight SSH as the Magento file owner ([digitalocean.ssh] user, key)"))
            elif "magento" not in r.stdout:
                out.append(Finding("nodes", f"{n.name} Magento root", MISSING, f"no {root}/bin/magento",
                                   "set magento_root to the live code's directory (e.g. /var/www/html/current)"))
            else:
                out.append(Finding("nodes", f"{n.name} reachable", OK, f"runs commands; {root}/bin/magento is there"))
    return out


@requirement("background work")
def _cron_handover(ask: Ask) -> list[Finding]:
    t = ask.target
    if t.background_job_commands is None:
        return [Finding("background work", "cron hand-over", OPTIONAL,
                        "no cron_stop / cron_start commands: Greenlight will not move cron and consumers at the switch, "
                        "nor watch who runs them",
                        "set cron_stop = \"bin/magento cron:remove && pkill -f queue:consumers:start\" and "
                        "cron_start = \"bin/magento cron:install\", run as the Magento file owner")]
    return [Finding("background work", "cron hand-over", OK, "cron_stop / cron_start are configured")]


@requirement("store")
def _catalogue(ask: Ask) -> list[Finding]:
    """The products the journeys buy exist on the storefront (a product page per id)."""
    t = ask.target
    cat = catalogue(t)
    bad = []
    for pid, sku in zip(cat.product_ids, cat.skus, strict=False):
        r = _get(ask, f"{t.lb_url.rstrip('/')}/catalog/product/view/id/{pid}")
        if isinstance(r, str) or r.status_code != 200:
            bad.append(f"{pid} ({sku}): {r if isinstance(r, str) else f'HTTP {r.status_code}'}")
    if bad:
        return [Finding("store", "catalogue products", MISSING,
                        f"{len(bad)} of {len(cat.product_ids)} product pages do not answer 200: {'; '.join(bad[:3])}",
                        "list simple, salable, in-stock products of this store in [catalogue] skus / product_ids")]
    return [Finding("store", "catalogue products", OK, f"all {len(cat.product_ids)} product pages answer 200")]


@requirement("database")
def _db(ask: Ask) -> list[Finding]:
    t = ask.target
    why = ("orders_reconciled and the DB half of background_jobs_one_colour are not judged; the migration "
           "rehearsal is not done")
    if t.db is None:
        return [Finding("database", "read access", OPTIONAL, f"no database section: {why}",
                        "add a read-only user and [digitalocean.database] host/port/user/name/password_env")]
    try:
        conn = t.db.connect()
        try:
            with conn.cursor() as cur:
                for table in ("sales_order", "cron_schedule", "queue_message_status"):
                    cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - any DB error is the finding, said in one line
        return [Finding("database", "read access", MISSING, f"{type(exc).__name__}: {str(exc)[:160]}",
                        "check the database section's host, port, user and password_env; the user needs SELECT "
                        "on sales_order, cron_schedule, queue_message_status")]
    return [Finding("database", "read access", OK, "sales_order, cron_schedule and queue_message_status readable")]


@requirement("release")
def _release(ask: Ask) -> list[Finding]:
    from harness.config.release import ReleaseError, find_release

    if ask.release_dir is None:
        if ask.target.kind == "compose":
            return [Finding("release", "release directory", OK, "the replica's own releases")]
        return [Finding("release", "release directory", MISSING, "no --release given: the replica's own r1/r2 would "
                        "be deployed through your deploy hook",
                        "pass --release <your release directory holding manifest.json>")]
    try:
        r = find_release(ask.release_dir)
    except (ReleaseError, OSError) as exc:
        return [Finding("release", "release directory", MISSING, str(exc)[:200],
                        "a release directory holds manifest.json (release id, static_version, migrations)")]
    return [Finding("release", "release directory", OK, f"{ask.release_dir}: release {r.id}")]


def run_preflight(target: Target, release_dir: str | None = None, timeout: float = 10,
                  transport: httpx.BaseTransport | None = None) -> Preflight:
    """Every registered requirement, in order. `transport` lets a test stand a store in for the network."""
    res = Preflight()
    with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client:
        ask = Ask(target, client, release_dir)
        for group, check in REQUIREMENTS:
            try:
                res.findings += check(ask)
            except TargetError as exc:
                res.findings.append(Finding(group, check.__name__.strip("_").replace("_", " "), MISSING, str(exc)[:200]))
    return res
