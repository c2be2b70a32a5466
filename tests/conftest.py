"""Shared fixtures: a temporary RANKLENS_HOME, small corpora, a fast fake encoder.

Tests never touch the real home; models that are slow to load are loaded once per session.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from ranklens import models
from ranklens.config import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
# the real dense model that loads fastest here (int8 ONNX, no torch: ~0.4 s in a fresh process,
# against ~8 s for all-MiniLM-L6-v2): for tests that need a real model but not a given one
FAST_MODEL = "bge-small-en-v1.5"
SHARED = ROOT.parent / "shared" / "datasets"

TOPICS = [
    ("py", "Python lists are mutable sequences. You can append items and sort them in place."),
    ("rust", "Rust guarantees memory safety through ownership and borrowing rules."),
    ("tea", "Green tea is brewed at a lower temperature than black tea to avoid bitterness."),
    ("moon", "The Moon orbits the Earth roughly every 27 days and causes the tides."),
    ("bread", "Sourdough bread rises with wild yeast and lactic acid bacteria."),
]

# (id, title, text): five documents, one of two passages, one whose title and text hold markup
TWO_PASSAGE_DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast. " * 40),  # two passages
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
    ("rust", "Rust", "Rust guarantees memory safety through ownership."),
    ("html", "<i>Markup</i>", "<script>alert(1)</script> bread & butter"),
]

# (id, title, text): eleven short documents in pairs of near topics, one holding markup, one whose
# id holds a hash (the rankers' and the ANN tests' corpus)
SEARCH_DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and lactic acid bacteria."),
    ("rye", "Rye bread", "Rye bread is dense; bakers add sourdough starter for flavour."),
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("oolong", "Oolong", "Oolong tea sits between green and black tea in oxidation."),
    ("rust", "Rust", "Rust guarantees memory safety through ownership and borrowing."),
    ("py", "Python lists", "Python lists are mutable sequences; append items and sort them."),
    ("moon", "The Moon", "The Moon orbits the Earth roughly every 27 days and causes tides."),
    ("tides", "Tides", "Ocean tides rise and fall twice a day because of the Moon's gravity."),
    ("html", "Markup", "<b>bold</b> & <script>alert('x')</script> tags in a passage."),
    ("mars", "Mars", "Mars is the fourth planet; its two moons are Phobos and Deimos."),
    ("report#2", "Report", "The quarterly report, whose document id holds a hash."),
]


class FakeEncoder:
    """A deterministic bag-of-words hashing encoder: fast, and similar texts score higher."""

    def __init__(self, name: str = "fake-encoder", dim: int = 64) -> None:
        self.name, self.dim = name, dim
        self.documents_encoded = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in text.lower().split():
            v[hash(w.strip(".,?!")) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v + (1.0 / np.sqrt(self.dim))

    def encode_queries(self, texts):
        return np.stack([self._vec(t) for t in texts]).astype(np.float32)

    def encode_documents(self, texts):
        self.documents_encoded += len(texts)
        return np.stack([self._vec(t) for t in texts]).astype(np.float32)


@pytest.fixture(autouse=True)
def _restore_main_module():
    """AppTest runs a script as __main__ and leaves it in sys.modules; a process spawned later
    would then re-run that script (app.py: indexing the demo) before its own work. Put it back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh RANKLENS_HOME; returns its Settings."""
    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    for var in LOCAL_STORES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RANKLENS_BATCH_SIZE", "8")
    return get_settings()


@pytest.fixture
def fake_encoder():
    enc = FakeEncoder()
    models.register_encoder(enc)
    return enc


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def assert_input_error(read, path: Path, text: str, line: int, words: str) -> None:
    """Write text to path and read it: the reader raises the project's InputError naming the
    file, the line and what was expected (words)."""
    from ranklens.errors import InputError

    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read(path)
    assert err.value.line == line, err.value
    assert str(path) in str(err.value) and words in str(err.value), err.value


def docs_jsonl(path: Path, docs: list[tuple[str, str, str]]) -> Path:
    """(id, title, text) triples written as a JSONL corpus."""
    return write_jsonl(path, [{"_id": i, "title": t, "text": x} for i, t, x in docs])


def index_docs(
    root: Path, docs: list[tuple[str, str, str]], name: str, model_names, encoders=(), **settings
):
    """(id, title, text) triples indexed as corpus `name` under root/home (batches of 8, or what
    `settings` says), `encoders` registered first; for module-scoped corpora that need no
    RANKLENS_HOME."""
    from ranklens.corpus.ingest import ingest

    for encoder in encoders:
        models.register_encoder(encoder)
    config = Settings(**{"home": root / "home", "batch_size": 8, **settings})
    return ingest(docs_jsonl(root / "docs.jsonl", docs), name, list(model_names), config)


def write_topics(
    folder: Path, queries: list[tuple[str, str]], qrels: list[tuple[str, str, int]]
) -> tuple[Path, Path]:
    """(query id, text) pairs as queries.jsonl and (query id, doc id, grade) as a TREC qrels.txt
    in folder; returns both paths."""
    queries_path = write_jsonl(
        folder / "queries.jsonl", [{"_id": q, "text": t} for q, t in queries]
    )
    qrels_path = folder / "qrels.txt"
    qrels_path.write_text("".join(f"{q} 0 {d} {g}\n" for q, d, g in qrels))
    return queries_path, qrels_path


def write_beir(
    folder: Path,
    docs: list[tuple[str, str, str]],
    queries: list[tuple[str, str]],
    qrels: list[tuple[str, str, int]],
) -> Path:
    """A BEIR folder: corpus.jsonl of (id, title, text) triples, queries.jsonl of (id, text) pairs
    and qrels/test.tsv of (query id, doc id, grade); returns the folder."""
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    docs_jsonl(folder / "corpus.jsonl", docs)
    write_jsonl(folder / "queries.jsonl", [{"_id": q, "text": t} for q, t in queries])
    rows = "".join(f"{q}\t{d}\t{g}\n" for q, d, g in qrels)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
    return folder


LOCAL_STORES = ("RANKLENS_CHROMA_HOST", "RANKLENS_CHROMA_PORT", "RANKLENS_DB_URL")


@contextmanager
def module_home(root: Path) -> Iterator[Settings]:
    """RANKLENS_HOME at root/home with local Chroma and SQLite, for a module-scoped fixture (which
    cannot use the function-scoped `home`); yields its Settings."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RANKLENS_HOME", str(root / "home"))
        for var in LOCAL_STORES:
            mp.delenv(var, raising=False)
        yield get_settings()


@pytest.fixture
def small_jsonl(tmp_path) -> Path:
    """Five short documents on different topics, one of them long enough for two passages."""
    records = [{"_id": i, "title": i.title(), "text": t} for i, t in TOPICS]
    records[0]["text"] = " ".join([TOPICS[0][1]] * 14)  # ~200 words: two passages
    return write_jsonl(tmp_path / "small.jsonl", records)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_proxy(monkeypatch) -> None:
    """No proxy variables: requests to the tests' servers on 127.0.0.1 go straight there."""
    from .local_http import clear_proxies

    clear_proxies(monkeypatch)


# ---------------------------------------------------------------- judgment stores: SQLite, PostgreSQL


@contextmanager
def own_pg_cluster():
    """A throwaway PostgreSQL cluster (tests/pg.py), stopped (pg_ctl -m immediate) and removed on
    the way out; skips the test, saying why, when PostgreSQL cannot start here."""
    from .pg import PgCluster, PgUnavailable

    try:
        cluster = PgCluster().start()
    except PgUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster per test session (tests that stop theirs start their own
    with own_pg_cluster)."""
    with own_pg_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A judgment-store URL for an empty store: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'judgments.sqlite3'}"
    return request.getfixturevalue("pg_cluster").create_database()


@pytest.fixture
def store(home, monkeypatch, store_url):
    """An empty judgment store on SQLite and on PostgreSQL, with RANKLENS_HOME (the `home` fixture)
    and RANKLENS_DB_URL pointing at it (so code that opens the store from settings, the CLI
    included, finds the same one)."""
    from ranklens.judging import JudgmentStore

    monkeypatch.setenv("RANKLENS_DB_URL", store_url)
    s = JudgmentStore(get_settings().db_url)
    yield s
    s.close()


def spawn_python(script: str, *args: str):
    """`python -c script args...` in the repository root (the project importable), with stdout
    and stderr piped as text."""
    import os
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when_counted(script: str, at_least: int) -> int:
    """Run `python -c script` (which prints a running count, one per line) and SIGKILL it once the
    count reaches at_least; returns the last count it printed."""
    import os
    import signal
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, env={**os.environ}, text=True
    )
    done = 0
    for line in proc.stdout:
        done = int(line)
        if done >= at_least:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return done


SLOW_INGEST = """
import sys, time
sys.path.insert(0, {root!r})
from tests.conftest import FakeEncoder
from ranklens.config import get_settings
from ranklens.corpus import ingest
from ranklens import models

class Slow(FakeEncoder):
    def encode_documents(self, texts):
        time.sleep(0.05)
        return super().encode_documents(texts)

models.register_encoder(Slow({model!r}))
def report(p):
    if p.stage == {model!r}:
        print(p.done, flush=True)
{call}
"""


def kill_ingest_when_counted(call: str, at_least: int, model: str = "fake-killed") -> int:
    """Run `call` (Python: an ingest call that may use `ingest`, `get_settings()` and `report`
    as its progress) in a child process whose encoder `model` is a slow FakeEncoder; SIGKILL it
    once `model` has embedded at_least passages; returns how many it had reported."""
    script = SLOW_INGEST.format(root=str(ROOT), model=model, call=call)
    return kill_when_counted(script, at_least)


# ---------------------------------------------------------------- team mode in AppTest


class CookieJar:
    """The browser's cookie for AppTest (which has no browser): what the page gives is sent back
    on the next run, as a browser does after the reload. Real browsers: tests/browser."""

    def __init__(self) -> None:
        self.value: str | None = None

    def give(self, token: str) -> None:
        self.value = token

    def take_back(self) -> None:
        self.value = None

    def read(self) -> str | None:
        return self.value


@pytest.fixture
def jar(monkeypatch) -> CookieJar:
    from components import sign_in_cookie

    jar = CookieJar()
    for name in ("give", "take_back", "read"):
        monkeypatch.setattr(sign_in_cookie, name, getattr(jar, name))
    return jar
