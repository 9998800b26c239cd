"""What a drill plan run leaves for people and CI: a JUnit XML file (one testcase per drill, the failed clauses as
its failure), and a history file with one JSON line per drill run, so reports can show the last runs."""
from __future__ import annotations

import json
import time
from pathlib import Path
from xml.etree import ElementTree as ET

HISTORY_KEEP = 10


def write_junit(path: str | Path, results: list[dict], suite: str = "greenlight.drills") -> Path:
    path = Path(path)
    failures = sum(1 for r in results if not r["passed"])
    ts = ET.Element("testsuite", name=suite, tests=str(len(results)), failures=str(failures),
                    time=f"{sum(r['wall_s'] for r in results):.1f}")
    for r in results:
        tc = ET.SubElement(ts, "testcase", classname=suite, name=r["drill"], time=f"{r['wall_s']:.1f}")
        lines = [f"{f['label']}: budget {f['budget_errors']} errors, spent {f['spent_errors']}" for f in r["faults"]]
        if not r["passed"]:
            fail = ET.SubElement(tc, "failure", message="; ".join(r["reasons"])[:500])
            fail.text = "\n".join(r["reasons"] + lines)
        ET.SubElement(tc, "system-out").text = "\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(ts).write(path, encoding="unicode", xml_declaration=True)
    return path


def append_history(path: str | Path, result: dict) -> dict:
    line = {"ts": round(time.time(), 1), "drill": result["drill"], "passed": result["passed"],
            "wall_s": result["wall_s"], "engine": result.get("engine"), "convergence_s": result.get("convergence_s"),
            "p99_ms": result.get("p99_ms"), "budget": result.get("budget"),
            "reasons": result["reasons"][:3]}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(line) + "\n")
    return line


def history(path: str | Path, drill: str | None = None, last: int = HISTORY_KEEP) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for raw in path.read_text().splitlines():
        try:
            row = json.loads(raw)
        except ValueError:
            continue
        if drill is None or row.get("drill") == drill:
            rows.append(row)
    return rows[-last:]
