"""Property-based tests (hypothesis) of every reader and writer in ranklens/corpus/formats.py
and trec_files.py.

Hostile input: any bytes give records or the project's own error (RankLensError), never another
exception. Round trips: what a writer writes, its reader gives back. RANKLENS_HYPOTHESIS_EXAMPLES
sets the examples per test (default 150); `pytest --hypothesis-show-statistics` counts them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ranklens.corpus.formats import (
    TEXT_SUFFIXES,
    Fields,
    open_source,
    read_delimited,
    read_jsonl,
    read_text_folder,
    unique_docs,
)
from ranklens.corpus.trec_files import (
    read_qrels,
    read_queries,
    read_run,
    run_file_name,
    run_file_text,
    write_qrels,
    write_queries,
    write_run_files,
)
from ranklens.errors import RankLensError
from ranklens.ranking.runfiles import read_run_scores, scores_to_run
from ranklens.types import Doc, Hit, Qrel, Query, doc_level

EXAMPLES = int(os.environ.get("RANKLENS_HYPOTHESIS_EXAMPLES", "150"))
PROPS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # nothing written into the repository
)

# ---------------------------------------------------------------- strategies

# Pieces that reach the readers' deeper paths more often than uniform bytes do.
TOKENS = st.sampled_from(
    [
        "q1", "0", "d1", "d1#0", "1", "-3", "2.5", "1e9", "NaN", "Q0", "run", "query-id",
        "corpus-id", "score", "_id", "id", "text", "title", "query_id", "doc_id", "relevance",
        '"', "'", "{", "}", "[", "]", ":", ",", "\t", " ", "\r", "\ufeff", "null", "true",
        '{"_id": "a", "text": "b"}', '{"query_id": "q", "doc_id": "d", "relevance": 1}',
        '{"_id": 1' + "1" * 5000 + "}", "<script>alert(1)</script>", "![x](http://x.test/a.png)",
        "\u2028", "\x85", "\x1c", "\\u0000", "\\ud800", "é", "𝔘",
    ]
)  # fmt: skip
LINE = st.lists(st.one_of(TOKENS, st.text(max_size=12)), max_size=12).map("".join)
STRUCTURED = st.lists(LINE, min_size=1, max_size=12).map(
    lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")
)
HOSTILE = st.one_of(
    st.binary(max_size=600),
    STRUCTURED,
    st.tuples(STRUCTURED, st.binary(max_size=8), STRUCTURED).map(lambda t: b"".join(t)),
)
# ids as TREC columns can hold them: no white space, not empty
ID = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=20
).filter(lambda s: not any(c.isspace() for c in s) and s != "\ufeff" * len(s))
FREE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


def _file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def ours_or_records(read: Callable[[], object]) -> object:
    """Run a reader to the end: records, or None for the project's own error. Any other
    exception escapes and fails the test."""
    try:
        result = read()
        return list(result) if not isinstance(result, list | dict) else result
    except RankLensError:
        return None


# ---------------------------------------------------------------- any bytes -> records or ours


@PROPS
@given(data=HOSTILE)
@example(data=b'{"_id": 1' + b"1" * 5000 + b', "text": "x"}\n')  # an int past Python's limit
@example(data=b'{"_id": "a", "text": "\\ud800"}\n')
def test_jsonl_corpus_any_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = _file(Path(tmp), "c.jsonl", data)
        ours_or_records(lambda: read_jsonl(path))
        ours_or_records(lambda: read_jsonl(path, Fields(id="text", title="_id", text="title")))


@PROPS
@given(data=HOSTILE, delimiter=st.sampled_from([",", "\t"]))
@example(data=b'id,text\n"a,"b\n', delimiter=",")
@example(data=b'id,text\na,"' + b"x" * 200_000 + b'"\n', delimiter=",")  # past csv's field limit
def test_csv_tsv_corpus_any_bytes(data, delimiter):
    with tempfile.TemporaryDirectory() as tmp:
        path = _file(Path(tmp), "c.csv", data)
        ours_or_records(lambda: read_delimited(path, delimiter))


FILE_NAME = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1,
    max_size=20,
).filter(lambda s: s not in (".", ".."))  # fmt: skip


@PROPS
@given(
    files=st.lists(
        st.tuples(FILE_NAME, st.sampled_from(TEXT_SUFFIXES + (".pdf", ".bin")), HOSTILE),
        max_size=4,
    )
)
@example(files=[("a", ".pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF")])
def test_text_folder_any_files(files):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for name, suffix, data in files:
            try:
                (folder / f"{name}{suffix}").write_bytes(data)
            except OSError:  # a name this file system refuses (too long in bytes)
                pass
        ours_or_records(lambda: read_text_folder(folder))
        ours_or_records(lambda: open_source(folder).docs())


@PROPS
@given(data=HOSTILE, fmt=st.sampled_from([None, "trec", "beir", "csv", "jsonl"]))
@example(data=b"q1 0 d1 99999999999999999999999999999\n", fmt="trec")
@example(data=b'{"query_id": "q", "doc_id": "d", "relevance": 1e400}\n', fmt="jsonl")
def test_qrels_any_bytes(data, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("q.txt", "q.csv", "q.jsonl", "q.tsv"):
            path = _file(Path(tmp), name, data)
            ours_or_records(lambda: read_qrels(path, fmt))  # noqa: B023 - called at once


@PROPS
@given(data=HOSTILE)
@example(data=b"q1 Q0 d1 1 1e999 tag\n")
@example(data=b"q1 Q0 d1 99999999999999999999999 nan tag\n")
def test_run_any_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = _file(Path(tmp), "r.run", data)
        ours_or_records(lambda: read_run(path))


@PROPS
@given(data=HOSTILE, suffix=st.sampled_from([".jsonl", ".json", ".tsv", ".txt"]))
def test_query_file_any_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = _file(Path(tmp), f"queries{suffix}", data)
        ours_or_records(lambda: read_queries(path))


@PROPS
@given(corpus=HOSTILE, queries=HOSTILE, qrels=HOSTILE, as_zip=st.booleans())
def test_beir_folder_or_zip_any_bytes(corpus, queries, qrels, as_zip):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "set"
        (root / "qrels").mkdir(parents=True)
        _file(root, "corpus.jsonl", corpus)
        _file(root, "queries.jsonl", queries)
        _file(root / "qrels", "test.tsv", qrels)
        target = root
        if as_zip:
            target = Path(tmp) / "set.zip"
            with zipfile.ZipFile(target, "w") as zf:
                for p in root.rglob("*"):
                    if p.is_file():
                        zf.write(p, f"set/{p.relative_to(root)}")

        def read():
            src = open_source(target)
            try:
                return list(unique_docs(src.docs(), target))
            finally:
                src.cleanup()

        ours_or_records(read)


@PROPS
@given(data=st.binary(max_size=400), members=st.lists(FILE_NAME, max_size=3, unique=True))
@example(data=b"PK\x03\x04" + b"\x00" * 40, members=[])
@example(data=b"", members=["../../escape.jsonl", "/abs.jsonl"])
def test_zip_any_bytes_and_member_names(data, members):
    """Extracted in a scratch folder of its own (never the shared system temp folder, which
    other processes write to): once cleaned up, nothing is left there and nothing escaped."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.zip"
        if members:
            with zipfile.ZipFile(path, "w") as zf:
                for m in members:
                    zf.writestr(m, data)
        else:
            path.write_bytes(data)
        scratch = Path(tmp) / "a" / "b" / "scratch"
        src = ours_or_records(lambda: [open_source(path, scratch=scratch)])
        if src:
            src[0].cleanup()
        left = {p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*")}
        assert left <= {"x.zip", "a", "a/b", "a/b/scratch"}, left  # nothing left, nothing escaped


# ---------------------------------------------------------------- write, then read


DOCS = st.lists(
    st.builds(Doc, doc_id=ID, text=FREE_TEXT, title=FREE_TEXT), max_size=8, unique_by=lambda d: d.doc_id
).filter(lambda docs: docs)  # fmt: skip


@PROPS
@given(docs=DOCS)
def test_jsonl_corpus_round_trip(docs):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.jsonl"
        lines = [json.dumps({"_id": d.doc_id, "title": d.title, "text": d.text}) for d in docs]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        back = list(unique_docs(read_jsonl(path), path))
    assert [(d.doc_id, d.title, d.text) for d in back] == [
        (d.doc_id, d.title, d.text) for d in docs
    ]


@PROPS
@given(docs=DOCS, delimiter=st.sampled_from([",", "\t"]))
def test_csv_tsv_corpus_round_trip(docs, delimiter):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.csv"
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter)  # rows end in \r\n, as csv writes them
        writer.writerow(["_id", "title", "text"])
        for d in docs:
            writer.writerow([d.doc_id, d.title, d.text])
        path.write_text(buf.getvalue(), encoding="utf-8")
        back = list(unique_docs(read_delimited(path, delimiter), path))
    assert [(d.doc_id, d.title, d.text) for d in back] == [
        (d.doc_id, d.title, d.text) for d in docs
    ]


@PROPS
@given(
    queries=st.lists(
        st.builds(Query, query_id=ID, text=FREE_TEXT), min_size=1, max_size=8,
        unique_by=lambda q: q.query_id,
    )
)  # fmt: skip
def test_queries_round_trip(queries):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queries.jsonl"
        write_queries(queries, path)
        assert read_queries(path) == queries


QRELS = st.lists(
    st.builds(Qrel, query_id=ID, doc_id=ID, relevance=st.integers(-5, 10**6), iteration=st.just("0")),
    min_size=1, max_size=10,
)  # fmt: skip


@PROPS
@given(qrels=QRELS, fmt=st.sampled_from(["trec", "beir"]))
def test_qrels_round_trip(qrels, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"q.{'tsv' if fmt == 'beir' else 'txt'}"
        write_qrels(qrels, path, fmt)
        assert [q for _, q in read_qrels(path, fmt)] == qrels
        assert [q for _, q in read_qrels(path)] == qrels  # the format is recognised too


RUN = st.dictionaries(
    ID,
    st.lists(st.tuples(ID, st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=6,
             unique_by=lambda t: t[0]),
    min_size=1, max_size=4,
)  # fmt: skip


def as_run(raw: dict[str, list[tuple[str, float]]]) -> dict[str, list[Hit]]:
    """A Run from {qid: [(passage id, score), ...]} in rank order; passage "p" of document "p#"."""
    return {
        qid: [Hit(qid, pid, f"{pid}#", score, r) for r, (pid, score) in enumerate(hits, 1)]
        for qid, hits in raw.items()
    }


@PROPS
@given(raw=RUN, tags=st.lists(st.text(max_size=30), min_size=1, max_size=3, unique=True))
def test_run_files_round_trip_keeps_ids_and_order(raw, tags):
    """write_run_files, one file per ranker at both levels; read_run gives back each ranker's
    passage ids in rank order, or its documents in doc_level's order, with strictly falling
    scores."""
    run = as_run(raw)
    with tempfile.TemporaryDirectory() as tmp:
        for level in ("passage", "doc"):
            paths = write_run_files(dict.fromkeys(tags, run), Path(tmp) / level, level=level)
            assert [p.name for p in paths] == [run_file_name(t) for t in tags]
            for path in paths:
                back = read_run(path)
                assert list(back) == list(run)
                ranked = run if level == "passage" else doc_level(run)  # best passage first
                for qid, hits in ranked.items():
                    want = [h.passage_id if level == "passage" else h.doc_id for h in hits]
                    assert [h.doc_id for h in back[qid]] == want
                    scores = [h.score for h in back[qid]]
                    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(
                        scores
                    )


@PROPS
@given(names=st.lists(st.text(max_size=200), min_size=2, max_size=5, unique=True))
def test_run_file_names_are_safe_and_distinct(names):
    files = [run_file_name(n) for n in names]
    assert len(set(files)) == len(files)
    for f in files:
        assert f.endswith(".run") and "/" not in f and "\\" not in f and not f.startswith(".")
        assert len(f.encode()) < 255


@PROPS
@given(raw=RUN, tag=st.text(max_size=30))
def test_written_run_reads_back_in_trec_evals_order(raw, tag):
    """A run file RankLens writes, read by the run-file reader (trec_eval's order: score, then
    document id, both descending), gives back every hit in its rank order."""
    run = as_run(raw)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / run_file_name(tag or "r")
        path.write_text(run_file_text(run, tag, level="passage"), encoding="utf-8")
        back = scores_to_run(read_run_scores(path, "trec"))
    assert {q: [h.doc_id for h in hits] for q, hits in back.items()} == {
        q: [h.passage_id for h in hits] for q, hits in run.items()
    }
