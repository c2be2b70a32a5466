"""The bundled demo (data/demo): a deterministic build, honest FAQ labels, readers that agree.

The rebuild tests need Debian's python3.11-doc (the FAQ pages) and skip cleanly without it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ranklens.config import DEMO_DIR
from ranklens.corpus.formats import open_source, read_jsonl
from ranklens.corpus.trec_files import read_qrels, read_queries
from ranklens.scale import Scale

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "data" / "build_demo.py"
OUTPUTS = ("corpus.jsonl", "queries.jsonl", "qrels/faq.tsv")


def _load_script():
    spec = importlib.util.spec_from_file_location("build_demo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


build_demo = _load_script()
needs_faq = pytest.mark.skipif(
    not all((build_demo.FAQ_DIR / f"{p}.html").is_file() for p in build_demo.FAQ_PAGES),
    reason="python3.11-doc (the Python FAQ pages) is not installed",
)


def _docs() -> dict:
    return {d.doc_id: d for d in read_jsonl(DEMO_DIR / "corpus.jsonl")}


def _faq_queries() -> dict:
    return {q.query_id: q for q in read_queries(DEMO_DIR / "queries.jsonl")}


def _qrels() -> list:
    return [q for _, q in read_qrels(DEMO_DIR / "qrels" / "faq.tsv", "beir")]


def _build(out: Path, cwd: Path) -> dict[str, bytes]:
    out.mkdir()
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        check=True,
        capture_output=True,
        env={"PYTHONHASHSEED": "random", "PATH": "/usr/bin:/bin"},
        cwd=cwd,
    )
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@needs_faq
def test_build_twice_gives_the_same_bytes(tmp_path):
    first = _build(tmp_path / "a", tmp_path)  # other working folders, other hash seeds
    second = _build(tmp_path / "b", ROOT)
    assert first == second
    same_inputs = sys.version_info[:3] == build_demo.BUILT_WITH and (
        build_demo.faq_release(build_demo.FAQ_DIR) == build_demo.FAQ_BUILT_WITH
    )
    if same_inputs:  # the committed files are exactly what the script writes
        assert first == {name: (DEMO_DIR / name).read_bytes() for name in OUTPUTS}


def test_no_faq_question_inside_its_answer_document():
    docs, queries = _docs(), _faq_queries()
    qrels = _qrels()
    assert len(qrels) >= 150
    for q in qrels:
        doc = docs[q.doc_id]
        question = build_demo.normal(queries[q.query_id].text)
        assert question not in build_demo.normal(doc.title), q.doc_id
        assert question not in build_demo.normal(doc.text), q.doc_id


def test_every_qrel_names_an_existing_document_with_the_top_grade():
    docs, qrels = _docs(), _qrels()
    with open(DEMO_DIR / "corpus.jsonl", encoding="utf-8") as fh:
        origin = {r["_id"]: r["source"] for r in map(json.loads, fh)}
    top = max(g.value for g in Scale.default().grades)
    assert build_demo.FAQ_GRADE == top
    for q in qrels:
        assert q.doc_id in docs
        assert q.doc_id.startswith("faq.") and q.relevance == top
        page = q.doc_id.split(".")[1]
        assert page in build_demo.FAQ_PAGES
        assert origin[q.doc_id] == f"python-faq:{page}"
    # one judged answer per question, every answer judged once (known-item labels)
    assert len({q.query_id for q in qrels}) == len(qrels) == len({q.doc_id for q in qrels})
    assert {d for d in docs if d.startswith("faq.")} == {q.doc_id for q in qrels}


def test_the_query_ids_match():
    queries, qrels = _faq_queries(), _qrels()
    assert set(queries) == {q.query_id for q in qrels}
    practice = read_queries(DEMO_DIR / "demo-queries.jsonl")
    assert len(practice) == 44
    assert not {q.query_id for q in practice} & set(queries)


def test_titles_name_the_faq_and_its_section():
    docs = _docs()
    titles = {docs[q.doc_id].title for q in _qrels()}
    assert "Programming FAQ · Performance" in titles
    assert all(t.split(" · ")[0].endswith("FAQ") for t in titles)


def test_the_beir_reader_brings_the_faq_set_and_its_labels():
    source = open_source(DEMO_DIR)
    try:
        assert source.format == "beir"
        assert list(source.query_sets) == ["faq"] and list(source.qrels) == ["faq"]
        assert len(source.query_sets["faq"]) == len(source.qrels["faq"]) == len(_qrels())
    finally:
        source.cleanup()


def test_the_parser_keeps_answers_apart_from_questions():
    html = """<html><head><title>X FAQ &#8212; Python 3.11.2 documentation</title></head><body>
    <div class="sphinxsidebar"><h3>Navigation</h3><p>not content</p></div>
    <div class="body" role="main"><section id="x-faq"><h1>X FAQ<a class="headerlink" href="#">¶</a></h1>
    <nav><p>Contents</p></nav>
    <section id="cat"><h2>Speed</h2>
      <section id="why-slow"><h3>Why is it slow?<a class="headerlink" href="#why-slow">¶</a></h3>
        <p>Because   it
        is &amp; was <code>interpreted</code>, you see.</p>
        <div class="highlight"><pre>for i in x:
    pass</pre></div>
        <ul><li><p>first item here</p></li><li>second</li></ul>
      </section>
      <section id="tiny"><h3>Tiny?</h3><p>See the next question.</p></section>
    </section>
    <section id="top"><h2>Is this a top-level question?</h2><p>Yes it is, and its answer has eight words.</p></section>
    </section></div><div><h3>after main</h3><p>footer</p></div></body></html>"""
    title, items = build_demo.faq_questions(html, "x")
    assert title == "X FAQ"
    assert [(a, s, q) for a, s, q, _ in items] == [
        ("why-slow", "Speed", "Why is it slow?"),
        ("top", "", "Is this a top-level question?"),
    ]
    assert items[0][3] == (
        "Because it is & was interpreted, you see.\n\nfor i in x:\n    pass\n\n"
        "- first item here\n\n- second"
    )
    assert "¶" not in items[0][3] and "footer" not in items[1][3]
