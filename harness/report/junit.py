"""JUnit XML for CI: one testcase per verdict, so a pipeline shows exactly which verdict failed and why.

failed → <failure>, inconclusive → <failure type="inconclusive"> (no evidence is not a pass), skipped → <skipped>.
The failure text carries the verdict's detail, value and bound, and its first evidence rows."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report import verdict_status

EVIDENCE_ROWS = 5


def junit_xml(rep: dict, suite: str = "greenlight.certify") -> bytes:
    verdicts = rep.get("verdicts", {})
    statuses = {n: verdict_status(v) for n, v in verdicts.items()}
    failures = sum(1 for s in statuses.values() if s in ("failed", "inconclusive"))
    skipped = sum(1 for s in statuses.values() if s == "skipped")
    t = rep.get("facts", {}).get("series", {})
    duration = max(0.0, (t.get("t1") or 0) - (t.get("t0") or 0))
    root = ET.Element("testsuites", name="greenlight", tests=str(len(verdicts)), failures=str(failures),
                      errors="0", skipped=str(skipped), time=f"{duration:.3f}")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(verdicts)), failures=str(failures),
                       errors="0", skipped=str(skipped), time=f"{duration:.3f}")
    props = ET.SubElement(ts, "properties")
    sw = rep.get("switch", {})
    for k, v in (("run_id", rep.get("run_id")), ("status", rep.get("status")), ("from_release", sw.get("from_release")),
                 ("to_release", sw.get("to_release")), ("from_colour", sw.get("from")), ("to_colour", sw.get("to")),
                 ("refused", sw.get("refused")), ("rolled_back", sw.get("rolled_back"))):
        if v:
            ET.SubElement(props, "property", name=k, value=str(v))
    for name, v in verdicts.items():
        st = statuses[name]
        case = ET.SubElement(ts, "testcase", classname=suite, name=name, time="0")
        if st in ("failed", "inconclusive"):
            el = ET.SubElement(case, "failure", message=str(v.get("detail") or name), type=st)
            lines = [str(v.get("detail") or ""), f"value: {json.dumps(v.get('value'), default=str)}",
                     f"bound: {json.dumps(v.get('bound'), default=str)}"]
            ev = v.get("evidence") or []
            lines += [f"evidence: {json.dumps(row, default=str)}" for row in ev[:EVIDENCE_ROWS]]
            if len(ev) > EVIDENCE_ROWS:
                lines.append(f"… {len(ev) - EVIDENCE_ROWS} more in report.json")
            el.text = "\n".join(lines)
        elif st == "skipped":
            ET.SubElement(case, "skipped", message=str(v.get("detail") or "not judged"))
        else:
            ET.SubElement(case, "system-out").text = str(v.get("detail") or "")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(rep: dict, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(junit_xml(rep))
    return p
