"""CLI `search` and `run`: JSON per ranker, TREC run files, one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ranklens import models
from ranklens.cli import main
from ranklens.corpus.ingest import ingest
from ranklens.corpus.trec_files import read_run, run_file_name, write_queries
from ranklens.ranking import recipes
from ranklens.types import Query

from .conftest import ROOT, TWO_PASSAGE_DOCS, FakeEncoder, docs_jsonl, module_home

FAKE = "fake-cli-enc"
DOCS = [
    *TWO_PASSAGE_DOCS,
    ("report#2", "Report", "The quarterly report, its id holding a hash."),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    with module_home(root) as settings:
        models.register_encoder(FakeEncoder(FAKE))
        c = ingest(docs_jsonl(root / "docs.jsonl", DOCS), "tiny", ["bm25", FAKE], settings)
        c.add_query_set("test", [Query("1", "sourdough bread"), Query("2", "tea temperature")])
        yield root


def cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_search_json_per_ranker(home, capsys):
    code, out, err = cli(
        capsys,
        *("search", "--corpus", "tiny", "--query", "bread", "--k", "3", "--json"),
        *("--rankers", "bm25", FAKE, f"rrf(bm25, {FAKE})"),
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["corpus"], data["query"], data["k"]) == ("tiny", "bread", 3)
    assert list(data["rankers"]) == ["bm25", FAKE, f"rrf(bm25,{FAKE})"]
    bm25 = data["rankers"]["bm25"]
    assert bm25["latency_ms"] > 0
    hits = bm25["hits"]
    assert set(hits[0]) == {"rank", "doc_id", "passage_id", "score", "title", "text", "from"}
    assert hits[0]["from"] == "corpus"  # else "missing", or the outside system it came from
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1)) and len(hits) <= 3
    assert hits[0]["doc_id"] == "bread" and hits[0]["passage_id"].startswith("bread#")
    assert {h["doc_id"] for h in hits} == {"bread", "html"}
    html = next(h for h in hits if h["doc_id"] == "html")
    assert html["title"] == "<i>Markup</i>" and html["text"].startswith("<script>")
    assert all(len(r["hits"]) == 3 for n, r in data["rankers"].items() if n != "bm25")


def test_search_text_output(home, capsys):
    code, out, _ = cli(capsys, "search", "--corpus", "tiny", "--query", "moon", "--rankers", "bm25")
    assert code == 0
    assert out.startswith("== bm25") and "moon#0" in out and "The Moon" in out


def test_run_writes_trec_files(home, tmp_path, capsys):
    queries = tmp_path / "q.jsonl"
    write_queries([Query("a", "bread"), Query("b", "memory safety")], queries)
    out_dir = tmp_path / "runs"
    code, out, err = cli(
        capsys,
        *("run", "--corpus", "tiny", "--queries", str(queries), "--k", "10"),
        *("--rankers", "bm25", f"rrf(bm25,{FAKE})", "--out", str(out_dir)),
    )
    assert code == 0, err
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == sorted([run_file_name("bm25"), run_file_name(f"rrf(bm25,{FAKE})")])
    assert run_file_name("bm25") == "bm25.run"
    run = read_run(out_dir / "bm25.run")
    # document level: one line per document, the bread document's two passages are one
    assert [h.doc_id for h in run["a"]][:1] == ["bread"]
    assert len({h.doc_id for h in run["a"]}) == len(run["a"])
    assert run["b"][0].doc_id == "rust"
    lines = (out_dir / run_file_name(f"rrf(bm25,{FAKE})")).read_text().splitlines()
    assert lines[0].split()[1] == "Q0" and lines[0].split()[5] == f"rrf(bm25,{FAKE})"
    scores = [float(line.split()[4]) for line in lines if line.startswith("a ")]
    assert scores == sorted(scores, reverse=True)
    assert str(out_dir / "bm25.run") in out


def test_run_passage_level_and_query_set_name(home, tmp_path, capsys):
    out_dir = tmp_path / "p"
    code, _, err = cli(
        capsys,
        *("run", "--corpus", "tiny", "--queries", "test", "--rankers", "bm25"),
        *("--out", str(out_dir), "--level", "passage"),
    )
    assert code == 0, err
    run = read_run(out_dir / "bm25.run")
    assert {h.doc_id for h in run["1"][:2]} == {"bread#0", "bread#1"}
    assert set(run) == {"1", "2"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "--corpus", "tiny", "--query", "   "], "query is empty"),
        (["search", "--corpus", "tiny", "--query", "x", "--rankers", "nope"], "unknown ranker"),
        (
            ["search", "--corpus", "tiny", "--query", "x", "--rankers", "multilingual-e5-small"],
            "not indexed for corpus 'tiny'",
        ),
        (["search", "--corpus", "tiny", "--query", "x", "--k", "0"], "k must be"),
        (["search", "--corpus", "tiny", "--query", "x", "--k", "5000"], "k must be"),
        (["search", "--corpus", "nope", "--query", "x"], "no corpus named 'nope'"),
        (["search", "--corpus", "tiny", "--query", "x", "--rankers", "rrf(bm25"], "expected"),
        (["run", "--corpus", "tiny", "--queries", "missing.tsv", "--out", "o"], "missing.tsv"),
        (["run", "--corpus", "tiny", "--queries", "test", "--out", "o", "--k", "0"], "k must"),
    ],
)
def test_errors_are_one_line_exit_2(home, capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_queries_file_names_file_and_line(home, tmp_path, capsys):
    bad = tmp_path / "q.tsv"
    bad.write_text("1\tgood query\n2 no tab here\n")
    code, _, err = cli(
        capsys, "run", "--corpus", "tiny", "--queries", str(bad), "--out", str(tmp_path / "o")
    )
    assert code == 2 and "q.tsv, line 2" in err and not (tmp_path / "o").exists()


def test_module_entry_point_has_no_traceback(home):
    env = {**os.environ, "RANKLENS_HOME": str(home / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "ranklens", "search", "--corpus", "tiny", "--query", "bread"]
        + ["--rankers", "bm25", "unknown-model"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip().splitlines() == [proc.stderr.strip()]
        and "unknown ranker 'unknown-model'" in proc.stderr
    )


def test_document_level_run_files_hold_k_documents(home, capsys, tmp_path):
    """bread has two passages: ranking 3 passages would leave 2 documents; we write 3."""
    out_dir = tmp_path / "docruns"
    code, _, err = cli(
        capsys,
        *("run", "--corpus", "tiny", "--queries", "test", "--rankers", FAKE),
        *("--k", "3", "--out", str(out_dir), "--level", "doc"),
    )
    assert code == 0, err
    run = read_run(out_dir / run_file_name(FAKE))
    for hits in run.values():
        docs = [h.doc_id for h in hits]
        assert len(docs) == 3 and len(set(docs)) == 3


def test_search_at_doc_level_gives_k_documents(home, capsys):
    """bread has two passages: by document, both count once, and k documents are shown."""
    argv = ("search", "--corpus", "tiny", "--query", "sourdough bread", "--k", "2", "--json")
    code, out, err = cli(capsys, *argv, "--rankers", FAKE)
    assert code == 0, err
    passages = json.loads(out)
    assert passages["level"] == "passage"
    assert [h["doc_id"] for h in passages["rankers"][FAKE]["hits"]] == ["bread", "bread"]
    code, out, err = cli(capsys, *argv, "--rankers", FAKE, "--level", "doc")
    assert code == 0, err
    docs = json.loads(out)["rankers"][FAKE]["hits"]
    assert len(docs) == 2 and docs[0]["doc_id"] == "bread" and docs[1]["doc_id"] != "bread"
    assert [h["rank"] for h in docs] == [1, 2]


def test_a_document_id_with_a_hash_survives_search_and_run(home, capsys, tmp_path):
    for level in ("passage", "doc"):
        code, out, err = cli(
            capsys,
            *("search", "--corpus", "tiny", "--query", "quarterly report", "--k", "1"),
            *("--json", "--level", level, "--rankers", "bm25", FAKE, f"rrf(bm25,{FAKE})"),
        )
        assert code == 0, err
        for block in json.loads(out)["rankers"].values():
            top = block["hits"][0]
            assert (top["doc_id"], top["passage_id"]) == ("report#2", "report#2#0")
    queries = tmp_path / "q.tsv"
    queries.write_text("r\tquarterly report\n", encoding="utf-8")
    for level, expected in (("doc", "report#2"), ("passage", "report#2#0")):
        out_dir = tmp_path / level
        code, _, err = cli(
            capsys,
            *("run", "--corpus", "tiny", "--queries", str(queries), "--k", "1", "--out"),
            *(str(out_dir), "--level", level, "--rankers", "bm25"),
        )
        assert code == 0, err
        line = (out_dir / "bm25.run").read_text().split()
        assert line[:3] == ["r", "Q0", expected]


def test_search_without_rankers_uses_the_default_rankers_of_the_pages(home, capsys):
    from ranklens.config import get_settings
    from ranklens.corpus import index

    code, out, err = cli(capsys, "search", "--corpus", "tiny", "--query", "bread", "--json")
    assert code == 0, err
    default = recipes.default_rankers(index.open_corpus("tiny", get_settings()))
    assert default == ["bm25", FAKE, f"rrf(bm25,{FAKE})"]  # two indexes and their fusion
    assert list(json.loads(out)["rankers"]) == default
