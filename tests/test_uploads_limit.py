"""Uploads: a size limit with a clear message (RANKLENS_MAX_UPLOAD_MB, for every page's upload),
and no uploaded file name escapes its folder under RANKLENS_HOME (hypothesis over names)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ranklens.config import get_settings
from ranklens.corpus.uploads import save_uploads, temporary_upload, uploads_dir
from ranklens.errors import RankLensError

MIB = 1024 * 1024


def test_the_default_limit_comes_from_the_settings(home, monkeypatch):
    monkeypatch.setenv("RANKLENS_MAX_UPLOAD_MB", "1")
    s = get_settings()
    assert s.max_upload_mb == 1
    assert save_uploads([("ok.jsonl", b"x" * MIB)], s).stat().st_size == MIB  # at the limit
    with pytest.raises(RankLensError) as info:
        save_uploads([("small.txt", b"a"), ("big.jsonl", b"x" * (MIB + 1))], s)
    message = str(info.value)
    assert message.startswith("big.jsonl: 1.0 MB is over the upload limit of 1.0 MB")
    assert "RANKLENS_MAX_UPLOAD_MB" in message and "nothing was saved" in message
    assert len(list(uploads_dir(s).iterdir())) == 1  # only the first, accepted upload
    with (
        pytest.raises(RankLensError, match="over the upload limit"),
        temporary_upload("q.tsv", b"x" * (MIB + 1), s),
    ):
        pass
    with pytest.raises(RankLensError, match="over the upload limit of 10 bytes"):
        save_uploads([("a.txt", b"x" * 11)], s, max_bytes=10)  # an explicit limit wins


def test_default_limit_and_bad_values(monkeypatch):
    monkeypatch.delenv("RANKLENS_MAX_UPLOAD_MB", raising=False)
    assert get_settings().max_upload_mb == 1024  # as .streamlit/config.toml
    monkeypatch.setenv("RANKLENS_MAX_UPLOAD_MB", "lots")
    with pytest.raises(RankLensError, match="RANKLENS_MAX_UPLOAD_MB"):
        get_settings()


NAMES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(
    max_examples=int(os.environ.get("RANKLENS_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(names=st.lists(NAMES, min_size=1, max_size=3))
@example(names=["../../etc/passwd", "..\\..\\x.txt", "/abs/path.jsonl", "C:\\w\\x.csv"])
@example(names=["..", ".", "", "\x00", "a/../../b", "~/x"])
def test_no_uploaded_name_escapes_its_folder(home, names):
    root = uploads_dir(home).resolve()
    try:
        saved = save_uploads([(n, b"data") for n in names], home)
    except OSError:  # a name this file system cannot hold (too long in bytes)
        return
    files = [saved] if saved.is_file() else list(saved.iterdir())
    assert len(files) == len(names)
    for f in files:
        assert f.resolve().parent.parent == root  # home/uploads/<fresh folder>/<name>
        assert f.read_bytes() == b"data"
