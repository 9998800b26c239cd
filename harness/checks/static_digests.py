"""What each release's static assets are, learnt from the nodes at deploy time — real assets carry no marker.

Magento's nginx strips `/static/version<N>/` and serves whatever pub/static holds now, so a page's assets are
right only if the file behind the URL is the one its release deployed. The harness reads every node's pub/static
(sha256 of each file, and deployed_version.txt) over the target's exec (docker exec here, SSH on DigitalOcean),
records one `static_digests` event per release, and judges every asset a page referenced against those digests.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from harness.checks.live_nodes import NodeUnusable, answered, each_answering, in_order
from harness.targets.base import Node, Target, TargetError

DEFAULT_ROOT = "/srv/storefront/current"
_VERSION = re.compile(r"^/static/version(\d+)/(.+)$")
_PLAIN = re.compile(r"^/static/(.+)$")
EVENT = "static_digests"


class StaticProblem(RuntimeError):
    """The release's static content cannot be served consistently; the message says why, in one line."""


@dataclass
class ReleaseStatic:
    release: str
    version: str
    assets: dict[str, str] = field(default_factory=dict)   # path under pub/static -> sha256

    def to_event(self) -> dict:
        return {"release": self.release, "version": self.version, "assets": self.assets}

    @classmethod
    def from_event(cls, e: dict) -> ReleaseStatic:
        return cls(release=str(e.get("release", "")), version=str(e.get("version", "")),
                   assets=dict(e.get("assets") or {}))


def split_url(url: str) -> tuple[str | None, str | None]:
    """`/static/version12/frontend/x.css?y` → ("12", "frontend/x.css"); unversioned → (None, path)."""
    path = url.split("?", 1)[0]
    m = _VERSION.match(path)
    if m:
        return m.group(1), m.group(2)
    m = _PLAIN.match(path)
    return (None, m.group(1)) if m else (None, None)


def parse_listing(release: str, text: str) -> ReleaseStatic:
    """The output of the listing command: deployed_version.txt's content, then `sha256sum` lines."""
    lines = text.splitlines()
    version = lines[0].strip() if lines else ""
    assets = {}
    for line in lines[1:]:
        parts = line.split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            assets[parts[1].strip().removeprefix("./")] = parts[0]
    return ReleaseStatic(release=release, version=version, assets=assets)


def read_node(target: Target, node: Node, release: str, root: str = DEFAULT_ROOT) -> ReleaseStatic:
    d = shlex.quote(f"{root}/pub/static")
    script = (f"cd {d} && (cat deployed_version.txt 2>/dev/null; echo) | head -n 1 && "
              "find . -type f ! -name deployed_version.txt -exec sha256sum {} + | sort -k 2")
    r = answered(target.exec(node, ["sh", "-c", script], timeout=60), node, "reading pub/static")
    if not r.ok:
        raise StaticProblem(f"{node.name}: cannot read {root}/pub/static: {(r.stderr or r.stdout).strip()[:160]}")
    rs = parse_listing(release, r.stdout)
    if not rs.assets:
        raise StaticProblem(f"{node.name}: {root}/pub/static holds no assets for {release} (static content deploy "
                            "not run?)")
    return rs


def agree(per_node: dict[str, ReleaseStatic]) -> ReleaseStatic:
    """One release's static content as every node holds it; nodes that disagree are a problem (deployphp/deployer
    #2281: each server deployed its own version or files, so a page from one node gets another's assets)."""
    items = sorted(per_node.items())
    first_name, first = items[0]
    for name, rs in items[1:]:
        if rs.version != first.version:
            raise StaticProblem(f"{first_name} and {name} deployed different static versions for {first.release} "
                                f"({first.version} vs {rs.version})")
        differ = sorted(p for p in set(first.assets) | set(rs.assets) if first.assets.get(p) != rs.assets.get(p))
        if differ:
            raise StaticProblem(f"{first_name} and {name} hold different static files for {first.release}: "
                                f"{', '.join(differ[:3])}{' …' if len(differ) > 3 else ''}")
    return first


def learn(target: Target, colour: str, release: str, root: str = DEFAULT_ROOT) -> ReleaseStatic:
    """The new colour's digests, from every node: a node that cannot be read is a reason to refuse the switch."""
    per_node = {}
    for n in target.nodes(colour):
        try:
            per_node[n.name] = read_node(target, n, release, root)
        except (TargetError, NodeUnusable) as exc:
            why = str(exc).removeprefix(f"{n.name}: ")
            raise StaticProblem(f"{n.name}: cannot read its static content: {why[:160]}") from None
    return agree(per_node)


def learn_live(target: Target, colour: str, release: str, root: str, event) -> ReleaseStatic:
    """The live colour's digests, from the nodes that answer (a frozen or dead live node is skipped, reported)."""
    nodes = in_order(target, target.nodes(colour))
    return agree(each_answering(nodes, "static digests", lambda n: read_node(target, n, release, root), event))


def version_reuse(live: ReleaseStatic, new: ReleaseStatic) -> str | None:
    """A new release that changes files under the live release's version number: browsers and CDNs keep the old
    file for a year under a URL that now means the new one (and during the mixed window either colour answers)."""
    if live.version != new.version or live.release == new.release:
        return None
    changed = sorted(p for p in set(live.assets) & set(new.assets) if live.assets[p] != new.assets[p])
    if not changed:
        return None
    return (f"release {new.release} changes {len(changed)} static file(s) ({', '.join(changed[:3])}) under the live "
            f"release's static version {live.version}: cached copies of the old files stay valid for browsers and "
            "CDNs; deploy static content with a new version")


def from_events(events: list[dict]) -> dict[str, ReleaseStatic]:
    return {e["release"]: ReleaseStatic.from_event(e) for e in events if e.get("event") == EVENT and e.get("release")}


def judge_asset(releases: dict[str, ReleaseStatic], page_release: str | None, url: str | None,
                sha256: str | None) -> str | None:
    """Why an asset fetched for a page of `page_release` is not that release's file, or None when it is.
    Raises KeyError when the page's release has no learnt digests (the asset cannot be judged)."""
    rs = releases[page_release or ""]
    version, path = split_url(url or "")
    if path is None:
        return f"{url!r} is not a /static/ URL"
    if version is not None and version != rs.version:
        other = next((r.release for r in releases.values() if r.version == version), None)
        return (f"the page of {rs.release} links static version {version}"
                + (f" (deployed by {other})" if other else "") + f", its release deployed {rs.version}")
    want = rs.assets.get(path)
    if want is None:
        return f"{rs.release} deployed no {path}"
    if sha256 != want:
        other = next((r.release for r in releases.values() if r.assets.get(path) == sha256), None)
        return f"{path} is not {rs.release}'s file" + (f" (it is {other}'s)" if other else "")
    return None


def learn_both(target: Target, live_colour: str, live_release: str, new_colour: str, new_release: str,
               event) -> dict[str, ReleaseStatic]:
    """Digests of the live and the new release, one event each; refuses (StaticProblem) when the new release's
    nodes disagree or it changes files under the live release's static version."""
    root = target.magento_root
    out = {}
    for colour, release in ((live_colour, live_release), (new_colour, new_release)):
        if not release or not target.nodes(colour):
            continue
        rs = learn_live(target, colour, release, root, event) if colour == live_colour else \
            learn(target, colour, release, root)
        out[release] = rs
        event(EVENT, colour=colour, **rs.to_event())
    if live_release in out and new_release in out:
        why = version_reuse(out[live_release], out[new_release])
        if why:
            raise StaticProblem(why)
    if new_release in out:
        why = reused_by_earlier(target, target.nodes(new_colour)[0], out[new_release], root)
        if why:
            raise StaticProblem(why)
    return out


# Written into a release's directory on the nodes when the switch to it was refused: its files never reached a
# customer, a browser or a CDN, so its static version holds no promise (a redeploy of the id replaces the directory).
NEVER_LIVE = ".greenlight-never-live"


def _releases_dir(root: str) -> str:
    return root.rstrip("/").rsplit("/", 1)[0] + "/releases"


def mark_never_live(target: Target, colour: str, release: str, event) -> None:
    """Best effort: a node that does not answer keeps its directory unmarked (then the release counts as served,
    the cautious side)."""
    d = shlex.quote(f"{_releases_dir(target.magento_root)}/{release}")
    marked = []
    for n in target.nodes(colour):
        try:
            r = target.exec(n, ["sh", "-c", f"[ ! -d {d} ] || echo refused > {d}/{NEVER_LIVE}"], timeout=15)
        except TargetError:
            continue
        if r.ok:
            marked.append(n.name)
    event("release_never_live", release=release, nodes=marked)


def reused_by_earlier(target: Target, node: Node, new: ReleaseStatic, root: str = DEFAULT_ROOT) -> str | None:
    """Earlier releases still on the node (releases/<id>/) that deployed the same static version with other files
    and may have been live: their URLs are in browsers' and CDNs' caches for a year. A release whose switch was
    refused (marked NEVER_LIVE) was never served and is skipped."""
    releases = shlex.quote(_releases_dir(root))
    script = (f"for d in {releases}/*/; do [ -e \"$d/{NEVER_LIVE}\" ] && continue; echo \"$(basename \"$d\") "
              "$(head -n 1 \"$d/pub/static/deployed_version.txt\" 2>/dev/null)\"; done")
    r = target.exec(node, ["sh", "-c", script], timeout=30)
    if not r.ok:
        return None
    for line in r.stdout.splitlines():
        rid, _, version = line.strip().partition(" ")
        if rid and rid != new.release and version.strip() == new.version:
            try:
                earlier = read_node(target, node, rid, root=f"{releases.strip(chr(39))}/{rid}")
            except StaticProblem:
                continue
            why = version_reuse(earlier, new)
            if why:
                return why.replace("the live release's", f"release {rid}'s")
    return None
