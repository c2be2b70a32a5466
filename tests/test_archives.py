"""Zip archives (BEIR corpora): a zip bomb, too many members or too large a total is refused with
a clear error before anything large is written, by the core and by the CLI; extraction happens
under RANKLENS_HOME, never in the system temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from ranklens.config import ZipLimits, get_settings
from ranklens.corpus import archives, ingest
from ranklens.errors import InputError

from .conftest import ROOT


def _beir_zip(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tiny/corpus.jsonl", '{"_id": "d1", "text": "alpha beta"}\n')
        zf.writestr("tiny/queries.jsonl", '{"_id": "q1", "text": "alpha"}\n')
        zf.writestr("tiny/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def _bomb(path: Path, mb: int = 40) -> Path:
    """A few dozen KB that expand to `mb` MB of zeros (the probe's was 306 KB -> 308 MB)."""
    return _beir_zip(path, {"tiny/zeros.bin": b"\0" * (mb * 1024 * 1024)})


def _temp_entries() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("ranklens-zip-")}


def test_a_zip_bomb_is_refused_before_it_is_written(home, tmp_path):
    bomb = _bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 200_000
    before = _temp_entries()
    with pytest.raises(InputError, match=r"expands [\d,]+ times .*zip bomb; nothing was extracted"):
        ingest.ingest(bomb, "bomb", ["bm25"], home)
    scratch = home.scratch_dir
    assert not scratch.exists() or not any(scratch.iterdir())  # nothing left behind
    assert _temp_entries() == before  # and nothing in the system temp folder


def test_member_count_and_total_size_limits(home, tmp_path, monkeypatch):
    many = _beir_zip(tmp_path / "many.zip", {f"tiny/x{i}.txt": b"x" for i in range(20)})
    monkeypatch.setenv("RANKLENS_ZIP_MAX_MEMBERS", "10")
    with pytest.raises(InputError, match="holds 23 members, more than the 10 allowed"):
        ingest.ingest(many, "many", ["bm25"], get_settings())
    monkeypatch.delenv("RANKLENS_ZIP_MAX_MEMBERS")
    big = _beir_zip(tmp_path / "big.zip", {"tiny/noise.bin": os.urandom(2 * 1024 * 1024)})
    monkeypatch.setenv("RANKLENS_ZIP_MAX_MB", "1")
    with pytest.raises(InputError, match=r"expands to 2\.0 MB, more than the 1\.0 MB allowed"):
        ingest.ingest(big, "big", ["bm25"], get_settings())


def test_a_good_zip_is_extracted_under_the_home(home, tmp_path, monkeypatch):
    seen: list[Path] = []
    real = archives.extract

    def spy(path, dest, limits):
        seen.append(Path(dest))
        return real(path, dest, limits)

    monkeypatch.setattr(archives, "extract", spy)
    corpus = ingest.ingest(_beir_zip(tmp_path / "ok.zip"), "ok", ["bm25"], home)
    assert corpus.documents == 1
    assert seen and home.home in seen[0].parents  # under RANKLENS_HOME/tmp
    assert not seen[0].exists()  # and removed once read


def test_a_member_that_holds_more_than_its_header_says_is_stopped(tmp_path):
    path = _beir_zip(tmp_path / "liar.zip", {"tiny/big.txt": b"y" * 3_000_000})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("tiny/big.txt")
    # rewrite the declared sizes of that member (local header and central directory) to 10
    data = bytearray(path.read_bytes())
    size = info.file_size.to_bytes(4, "little")
    data = bytearray(bytes(data).replace(size, (10).to_bytes(4, "little")))
    path.write_bytes(bytes(data))
    dest = tmp_path / "out"
    limits = ZipLimits(100 * 1024 * 1024, 100, 1e9)
    with pytest.raises(InputError):  # "holds more than its header says" or a bad CRC
        archives.extract(path, dest, limits)
    assert not dest.exists()


def test_the_cli_has_the_same_limits(tmp_path):
    bomb = _bomb(tmp_path / "bomb.zip", mb=20)
    env = {**os.environ, "RANKLENS_HOME": str(tmp_path / "clihome"), "RANKLENS_DEMO": "0"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ranklens",
            "ingest",
            str(bomb),
            "--corpus",
            "b",
            "--models",
            "bm25",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "zip bomb; nothing was extracted" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_unsafe_member_paths_are_still_refused(home, tmp_path):
    bad = _beir_zip(tmp_path / "bad.zip", {"../escape.txt": b"x"})
    with pytest.raises(InputError, match="unsafe member path"):
        ingest.ingest(bad, "bad", ["bm25"], home)
    assert not (home.scratch_dir.parent / "escape.txt").exists()
