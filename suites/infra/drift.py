"""Configuration drift between two hosts: compare fact sets, name every difference."""
from __future__ import annotations


def drift(a_name: str, a: dict[str, dict[str, str]], b_name: str, b: dict[str, dict[str, str]]) -> list[str]:
    """`a` and `b` map a fact kind (packages, php_ini, nginx, fpm_pool) to {key: value}. Returns one line per
    difference, e.g. "packages: php8.2-fpm is 8.2.7 on blue-1 but 8.2.8 on green-1"."""
    out = []
    for kind in sorted(set(a) | set(b)):
        fa, fb = a.get(kind, {}), b.get(kind, {})
        for key in sorted(set(fa) | set(fb)):
            va, vb = fa.get(key), fb.get(key)
            if va == vb:
                continue
            if va is None:
                out.append(f"{kind}: {key} only on {b_name} ({vb})")
            elif vb is None:
                out.append(f"{kind}: {key} only on {a_name} ({va})")
            else:
                out.append(f"{kind}: {key} is {va!r} on {a_name} but {vb!r} on {b_name}")
    return out


def parse_lines(text: str, sep: str | None = None) -> dict[str, str]:
    """'key<sep>value' lines → dict; lines without a separator become keys with an empty value."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if sep and sep in line:
            k, v = line.split(sep, 1)
            out[k.strip()] = v.strip()
        else:
            out[line] = ""
    return out
