"""Tests of ranklens/judging/pooling.py and the CLI commands on it (`judgments pool`, `judgments
suggest`), headless, on a real small corpus: the CLI builds the pool the page's core call builds,
query sets have one owner (the corpus), and ids holding '#' are looked up, never taken apart.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sqlalchemy as sa

from ranklens import models
from ranklens.cli import main as cli_main
from ranklens.corpus import ingest
from ranklens.corpus.chunking import index_text
from ranklens.errors import InputError, NotFoundError
from ranklens.judging import JudgmentStore, Scale, grades_from_scores, pooling
from ranklens.ranking import compare, rankers, recipes
from ranklens.ranking.recipes import make_rankers
from ranklens.types import Qrel, Query

from .conftest import ROOT, write_jsonl

QUERIES = [Query("q1", "sort a python list"), Query("q2", "green tea temperature")]


class FakeScorer:
    """A cross-encoder stand-in: 4 points per query word in the passage, minus 3."""

    name = "fake-ce"

    def score(self, query: str, passages):
        words = set(query.lower().split())
        return np.array([4.0 * len(words & set(p.lower().split())) - 3 for p in passages])


@pytest.fixture
def corpus(home, fake_encoder, small_jsonl):
    c = ingest.ingest(small_jsonl, "j", ["bm25", "fake-encoder"], home)
    c.add_query_set("dev", QUERIES)
    return c


def _json(capsys, argv: list[str]) -> dict:
    assert cli_main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_cli_pool_is_the_pool_the_page_core_call_builds(corpus, store, capsys):
    argv = ["judgments", "pool", "--corpus", "j", "--queries", "dev", "--depth", "3"]
    argv += ["--rankers", "bm25", "fake-encoder", "--annotators-per-passage", "2", "--json"]
    out = _json(capsys, argv)
    cli_pool = store.pool(out["pool"])
    assert (out["rankers"], out["depth"], out["annotators_per_passage"]) == (
        ["bm25", "fake-encoder"],
        3,
        2,
    )
    assert out["passages"] == len(cli_pool.items) and out["queries"] == 2
    # the Judge page calls pooling.make_pool with its rankers: the same pool, item for item
    page_like = pooling.make_pool(
        store, corpus, "dev", make_rankers(["bm25", "fake-encoder"], corpus), 3
    )
    assert page_like.items == cli_pool.items and page_like.id != cli_pool.id
    # the union of each ranker's top 3 (rank_all, the one ranking), deduplicated, per query
    runs = rankers.rank_all(make_rankers(["bm25", "fake-encoder"], corpus), QUERIES, 3)
    for q in QUERIES:
        want = {h.passage_id for run in runs.runs.values() for h in run[q.query_id][:3]}
        got = [it.passage_id for it in cli_pool.items if it.query_id == q.query_id]
        assert set(got) == want and len(got) == len(want)
    assert store.judging_settings("j", "dev").annotators_per_passage == 2


def test_cli_pool_defaults_to_the_pages_rankers_and_depth(corpus, store, capsys):
    out = _json(capsys, ["judgments", "pool", "--corpus", "j", "--queries", "dev", "--json"])
    assert out["rankers"] == recipes.default_rankers(corpus) and out["depth"] == 10
    assert cli_main(["judgments", "pool", "--corpus", "j", "--queries", "dev"]) == 0
    assert capsys.readouterr().out.startswith(f"pool {out['pool'] + 1}: ")


def test_cli_pool_refuses_an_unknown_set_and_a_bad_depth(corpus, store, capsys):
    argv = ["judgments", "pool", "--corpus", "j", "--rankers", "bm25"]
    assert cli_main(argv + ["--queries", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "no query set 'nosuch'" in err and "it has: dev" in err
    assert cli_main(argv + ["--queries", "dev", "--depth", "0"]) == 2
    assert "pool depth must be from 1 to 100" in capsys.readouterr().err
    assert store.pools("j") == []


def test_pool_of_a_subset_chosen_or_most_different(corpus, store, capsys):
    two = recipes.make_rankers(["bm25", "fake-encoder"], corpus)
    chosen = pooling.make_pool(store, corpus, "dev", two, 3, query_ids=["q2"])
    assert {it.query_id for it in chosen.items} == {"q2"}
    with pytest.raises(InputError, match="has no query 'q9'"):
        pooling.make_pool(store, corpus, "dev", two, 3, query_ids=["q2", "q9"])
    # the first N by the Search page's order: least alike first (RBO, then tau-AP)
    runs = rankers.rank_all(two, QUERIES, 3).runs
    first = compare.most_different(runs["bm25"], runs["fake-encoder"], 3)["query_id"][0]
    top = pooling.make_pool(store, corpus, "dev", two, 3, most_different=1)
    assert {it.query_id for it in top.items} == {first}
    with pytest.raises(InputError, match="two rankers"):
        pooling.make_pool(store, corpus, "dev", two[:1], 3, most_different=1)
    argv = ["judgments", "pool", "--corpus", "j", "--queries", "dev", "--depth", "3"]
    out = _json(
        capsys, [*argv, "--rankers", "bm25", "fake-encoder", "--most-different", "1", "--json"]
    )
    assert out["queries"] == 1 and store.pool(out["pool"]).items == top.items
    out = _json(capsys, [*argv, "--rankers", "bm25", "--query-ids", "q1", "--json"])
    assert {it.query_id for it in store.pool(out["pool"]).items} == {"q1"}


def test_cli_pool_runs_headless_in_its_own_process(corpus, home):
    argv = ["judgments", "pool", "--corpus", "j", "--queries", "dev", "--rankers", "bm25"]
    argv += ["--depth", "2", "--json"]
    code = (
        "import sys; from ranklens.cli import main; rc = main(sys.argv[1:]); "
        "assert 'streamlit' not in sys.modules, 'the CLI imported streamlit'; sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    with JudgmentStore(home.db_url) as store:
        assert len(store.pool(out["pool"]).items) == out["passages"] > 0


def test_cli_suggest_stores_what_the_core_computes(corpus, store, capsys, monkeypatch):
    monkeypatch.setattr(models, "load_reranker", lambda name: FakeScorer())
    argv = ["judgments", "pool", "--corpus", "j", "--queries", "dev", "--rankers", "bm25"]
    pool_id = _json(capsys, argv + ["--depth", "3", "--json"])["pool"]
    argv = ["judgments", "suggest", "--corpus", "j", "--queries", "dev", "--model", "fake-ce"]
    out = _json(capsys, argv + ["--thresholds", "0, 4, 8", "--json"])
    assert (out["pool"], out["thresholds"]) == (pool_id, [0.0, 4.0, 8.0])
    pool = store.pool(pool_id)
    texts = {q.query_id: q.text for q in QUERIES}
    passages = corpus.get_passages([it.passage_id for it in pool.items])
    scores = [
        FakeScorer().score(texts[it.query_id], [index_text(passages[it.passage_id])])[0]
        for it in pool.items
    ]
    want = grades_from_scores(scores, [0, 4, 8])
    got = {s.unit: s.grade for s in store.suggestions("j", model="fake-ce")}
    assert [got[it.unit] for it in pool.items] == want
    assert out["suggestions"] == len(want) and sum(out["grades"].values()) == len(want)
    assert store.current_labels("j") == []  # suggestions never count as labels
    # defaults: the page's thresholds for the scale, the newest pool
    assert pooling.default_thresholds(Scale.default()) == [-3.0, 1.0, 5.0]
    assert cli_main(argv) == 0
    assert f"for pool {pool_id} (thresholds -3, 1, 5;" in capsys.readouterr().out
    assert cli_main(argv[:6] + ["--queries", "dev", "--thresholds", "1, x"]) == 2
    assert "expected numbers" in capsys.readouterr().err


def test_suggest_without_a_pool_says_how_to_build_one(corpus, store, capsys):
    assert cli_main(["judgments", "suggest", "--corpus", "j", "--queries", "dev"]) == 2
    assert "judgments pool --corpus j --queries dev" in capsys.readouterr().err


# ---------------------------------------------------------------- query sets: one owner


def test_a_set_replaced_on_the_corpus_reaches_a_judging_session(corpus, store):
    pool = pooling.make_pool(store, corpus, "dev", make_rankers(["bm25"], corpus), 2)
    store.set_judging_settings("j", "dev", guidelines="Answers only.")
    first = pooling.open_session(store, corpus, pool.id, "alice")
    assert first.queries == {"q1": "sort a python list", "q2": "green tea temperature"}
    # what the Search page does when a set is uploaded again under the same name
    corpus.add_query_set(
        "dev", [Query("q1", "order a list in Python"), Query("q2", "brew tea")], replace=True
    )
    again = pooling.open_session(store, corpus, pool.id, "alice")
    assert again.queries == {"q1": "order a list in Python", "q2": "brew tea"}
    assert again.guidelines == "Answers only." and again.seed == first.seed
    # the store keeps no copy of the queries
    with store.read() as conn:
        assert "queries" not in sa.inspect(conn).get_table_names()


def test_a_database_with_the_old_queries_table_still_opens(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    with JudgmentStore(url) as store:
        store.set_judging_settings("c", "dev", guidelines="old rules", annotators_per_passage=3)
    raw = sa.create_engine(url)
    with raw.begin() as conn:  # the table an earlier RankLens kept its copy of the queries in
        conn.exec_driver_sql(
            "CREATE TABLE queries (corpus VARCHAR(200), query_set VARCHAR(200), "
            "query_id VARCHAR(500), text TEXT NOT NULL, position INTEGER NOT NULL, "
            "PRIMARY KEY (corpus, query_set, query_id))"
        )
        conn.exec_driver_sql("INSERT INTO queries VALUES ('c', 'dev', 'q1', 'old text', 0)")
    raw.dispose()
    with JudgmentStore(url) as store:
        settings = store.judging_settings("c", "dev")
        assert (settings.guidelines, settings.annotators_per_passage) == ("old rules", 3)
        assert store.integrity_check() == "ok"


# ---------------------------------------------------------------- ids holding '#'


def test_document_ids_holding_hash_are_looked_up_never_taken_apart(home, tmp_path, capsys):
    docs = [
        {"_id": "report#2", "title": "Report two", "text": "Green tea is brewed cooler."},
        {"_id": "report", "title": "Report", "text": "Python lists sort in place."},
    ]
    c = ingest.ingest(write_jsonl(tmp_path / "hash.jsonl", docs), "h", ["bm25"], home)
    c.add_query_set("dev", [Query("q1", "green tea")])
    pids = {p.passage_id: p.doc_id for p in c.iter_passages()}
    assert pids == {"report#2#0": "report#2", "report#0": "report"}
    with JudgmentStore(home.db_url) as store:
        pool = pooling.make_pool(store, c, "dev", make_rankers(["bm25"], c), 2)
        assert [(it.passage_id, it.doc_id) for it in pool.items] == [("report#2#0", "report#2")]
        session = pooling.open_session(store, c, pool.id, "alice")
        item = next(it for it in session.items if it.passage_id == "report#2#0")
        session.label(item, 3)
        assert store.label_of("h", "alice", "q1", "report#2#0").doc_id == "report#2"
        assert store.final_qrels("h") == [Qrel("q1", "report#2", 3)]
        # a qrels file naming the document, and another naming its passage
        qrels = tmp_path / "h.trec"
        qrels.write_text("q1 0 report#2 1\nq2 0 report#2#0 2\nq2 0 report 0\n")
        report = pooling.import_labels(store, c, qrels, "trec", annotator="bob")
        assert (report.document_level, report.passage_level) == (2, 1)
        bob = {(lab.query_id, lab.passage_id): lab.doc_id for lab in store.current_labels("h")}
        assert bob[("q1", "")] == "report#2" and bob[("q2", "report#2#0")] == "report#2"
        assert bob[("q2", "")] == "report"
        assert report.unknown_queries == ["q2"]
        with pytest.raises(InputError, match="line 1: document id 'report#9'"):
            qrels.write_text("q1 0 report#9 1\n")
            pooling.import_labels(store, c, qrels, "trec")
        with pytest.raises(InputError, match="has no doc_id"):
            store.add_label("h", "alice", "q1", "report#2#0", 1)


def test_open_session_refuses_a_pool_of_another_corpus(corpus, store, home, small_jsonl):
    pool = pooling.make_pool(store, corpus, "dev", make_rankers(["bm25"], corpus), 1)
    other = ingest.ingest(small_jsonl, "k", ["bm25"], home)
    with pytest.raises(InputError, match="belongs to corpus 'j'"):
        pooling.open_session(store, other, pool.id, "alice")
    with pytest.raises(NotFoundError):
        pooling.latest_pool(store, "k", "dev")
