"""Every name that crosses a process has its one home in harness/ledger/schema.py: the events the engine writes and
reads, the credential kinds and cart operations the locustfile records. A name used anywhere else but missing there
fails here, so a typo in a writer or a reader cannot silently split one event into two."""
import ast
import re
from pathlib import Path

from harness.ledger.schema import CART_OPS, CREDENTIAL_KINDS, EVENTS
from harness.report import facts, page

ROOT = Path(__file__).resolve().parents[1]
SWITCH_KINDS = ("switch", "rollback")   # the switch sequence names its events f"{kind}_start" and so on
READ = re.compile(r"""["']event["']\)?\]?\s*(?:==|!=)\s*["']([a-z_]+)["']|["']event["']\)?\]?\s+(?:not\s+)?in\s+\(([^)]*)\)""")


def _emitted(source: str) -> set[str]:
    """Event names passed as the first argument to ev(...), event(...) or .event(...)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        f = node.func
        called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if called not in ("ev", "event"):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.add(arg.value)
        elif isinstance(arg, ast.JoinedStr):  # f"{kind}_start": every kind the sequence is called with
            tail = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
            names |= {k + tail for k in SWITCH_KINDS}
        elif isinstance(arg, ast.IfExp):
            names |= {a.value for a in (arg.body, arg.orelse) if isinstance(a, ast.Constant)}
    return names


def _read(source: str) -> set[str]:
    names = set()
    for one, many in READ.findall(source):
        names |= {one} if one else set(re.findall(r"[\"']([a-z_]+)[\"']", many))
    return names


def _sources(*folders: str):
    for folder in folders:
        for p in sorted((ROOT / folder).rglob("*.py")):
            yield p, p.read_text()


def test_every_event_written_or_read_is_in_the_catalogue():
    unknown = {}
    for p, src in _sources("harness"):
        for name in (_emitted(src) | _read(src)) - set(EVENTS):
            unknown.setdefault(name, []).append(str(p.relative_to(ROOT)))
    assert not unknown, f"events missing from harness/ledger/schema.py EVENTS: {unknown}"
    shown = {e for _, start, ends in facts.PHASES for e in (start, *ends)} | set(facts.MAJOR_EVENTS)
    assert shown <= set(EVENTS), shown - set(EVENTS)
    assert set(page.EVENT_WORDS) <= set(EVENTS), set(page.EVENT_WORDS) - set(EVENTS)


def test_the_scan_sees_a_writer_and_a_reader_that_drift():
    """The check above can fail: a misspelt writer and a misspelt reader are both found."""
    src = 'def f(ev, led):\n    ev("swtich_start", to="green")\n    return [e for e in led if e["event"] == "gate_fial"]\n'
    assert _emitted(src) == {"swtich_start"}
    assert _read(src) == {"gate_fial"}
    assert _emitted('ev(f"{kind}_start")') == {"switch_start", "rollback_start"}


def test_the_locustfile_records_only_catalogued_credentials_and_cart_operations():
    src = "\n".join(s for _, s in _sources("locustfiles"))
    kinds = set(re.findall(r"""["']?creds["']?\s*[=:]\s*\{\s*["']([a-z_]+)["']""", src))
    ops = set(re.findall(r"""["']op["']\s*:\s*["']([a-z_]+)["']""", src))
    assert kinds and ops, "the scan found no creds or cart_op in the locustfile: the pattern no longer matches it"
    assert kinds <= set(CREDENTIAL_KINDS), kinds - set(CREDENTIAL_KINDS)
    assert ops <= set(CART_OPS), ops - set(CART_OPS)
