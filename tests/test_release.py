"""A release directory that is not a release gets one clear line; a good one builds base + overlay."""
import io
import json
import tarfile

import pytest

from harness.config.release import ReleaseError, load_release


def _write(tmp_path, manifest, files=None):
    d = tmp_path / "rel"
    d.mkdir()
    if manifest is not None:
        (d / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    for name, text in (files or {}).items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return d


GOOD = {"release": "r9", "schema_version": 3, "static_version": 1700000009, "modules": {"Greenlight_Checkout": "1.0.0"},
        "migrations": ["migrations/003.sql"], "deploy_steps": ["cache:clean"]}


@pytest.mark.parametrize("manifest, files, fragment", [
    (None, {}, "no manifest.json"),
    ("{not json", {}, "invalid JSON at line 1"),
    ([1, 2], {}, "must be a JSON object"),
    ({k: v for k, v in GOOD.items() if k != "release"}, {"migrations/003.sql": ""}, "missing 'release'"),
    ({**GOOD, "release": "../etc"}, {"migrations/003.sql": ""}, "release id '../etc'"),
    ({**GOOD, "schema_version": "3"}, {"migrations/003.sql": ""}, "'schema_version' must be int"),
    ({**GOOD, "static_version": True}, {"migrations/003.sql": ""}, "'static_version' must be int"),
    (GOOD, {}, "migration migrations/003.sql does not exist"),
    ({**GOOD, "extends": "../nowhere"}, {"migrations/003.sql": ""}, "'extends' points at"),
    ({**GOOD, "modules": ["Greenlight_Checkout"]}, {"migrations/003.sql": ""}, "'modules' must map"),
])
def test_not_a_release_is_one_clear_line(tmp_path, manifest, files, fragment):
    d = _write(tmp_path, manifest, files)
    with pytest.raises(ReleaseError) as exc:
        load_release(d)
    msg = str(exc.value)
    assert fragment in msg
    assert "\n" not in msg


def test_a_file_is_not_a_release(tmp_path):
    f = tmp_path / "x.tar"
    f.write_text("")
    with pytest.raises(ReleaseError, match="not a directory"):
        load_release(f)


def test_artifact_lays_release_over_base(tmp_path):
    base = tmp_path / "app"
    (base / "pub").mkdir(parents=True)
    (base / "pub" / "index.php").write_text("base index")
    (base / "src.php").write_text("base src")
    d = _write(tmp_path, {**GOOD, "extends": "../app"},
               {"migrations/003.sql": "ALTER TABLE x ADD y INT NULL;", "src.php": "overlay src"})
    rel = load_release(d)
    assert rel.id == "r9" and rel.base == base.resolve()
    with tarfile.open(fileobj=io.BytesIO(rel.artifact())) as tar:
        got = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}
    assert got["src.php"] == "overlay src"
    assert got["pub/index.php"] == "base index"
    assert "migrations/003.sql" in got and "manifest.json" in got
