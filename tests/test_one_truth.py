"""One recipe, one corpus, one truth: the same top 10 documents and the same nDCG@10 through
every path (rankers.rank_all, CLI search / run / evaluate, the Search and Evaluate pages).

The corpus is built so that a shallow document ranking goes wrong: one long document fills the
top ~44 passages of a BM25 ranking, and the short documents that answer the query come after.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens import models
from ranklens.cli import main
from ranklens.corpus.ingest import ingest
from ranklens.corpus.trec_files import read_run, run_file_name
from ranklens.evaluation import measures as ev
from ranklens.ranking import rankers
from ranklens.ranking.recipes import make_ranker, make_rankers
from ranklens.types import Qrel, Query, doc_level

from .conftest import ROOT, FakeEncoder, module_home, write_jsonl

FAKE = "fake-truth-enc"
CORPUS = "longdoc"
RECIPES = ["bm25", f"rrf(bm25,{FAKE})"]
QUERIES = [Query("q1", "moon tide"), Query("q2", "sourdough bread starter")]
LONG = "manual"
SENTENCE = "The tide table says when the moon pulls the tide and when the tide turns again."
# short documents that answer q1 (one id holds '#': it must survive every path), with grades.
# They tie under BM25 (ties go by corpus position), so report#2 comes first to make the top 10.
TIDE_DOCS = {"report#2": 2, "almanac": 2} | {f"note{i}": 1 for i in range(10)}
BREAD_DOCS = {f"loaf{i}": 1 for i in range(4)} | {"starter": 2}
FILLER = 150


def long_document_corpus(root: Path, settings) -> object:
    """A BEIR folder (corpus, queries, qrels/test.tsv) ingested as CORPUS with bm25 and FAKE."""
    folder = root / "longdoc-beir"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    docs = [{"_id": LONG, "title": "Tide manual", "text": " ".join([SENTENCE] * 360)}]
    docs += [
        {"_id": d, "title": f"Note {d}", "text": f"At harbour {d} the moon raises one tide a day."}
        for d in TIDE_DOCS
    ]
    docs += [
        {"_id": d, "title": f"Bread {d}", "text": f"A sourdough bread {d} from a rye starter."}
        for d in BREAD_DOCS
    ]
    docs += [
        {"_id": f"filler{i}", "text": f"Filler page {i} about gardens, roses and tulips."}
        for i in range(FILLER)
    ]
    write_jsonl(folder / "corpus.jsonl", docs)
    write_jsonl(folder / "queries.jsonl", [{"_id": q.query_id, "text": q.text} for q in QUERIES])
    rows = [("q1", LONG, 1)] + [("q1", d, g) for d, g in TIDE_DOCS.items()]
    rows += [("q2", d, g) for d, g in BREAD_DOCS.items()]
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in rows),
        encoding="utf-8",
    )
    models.register_encoder(FakeEncoder(FAKE))
    return ingest(folder, CORPUS, ["bm25", FAKE], settings)


QRELS = (
    [Qrel("q1", LONG, 1)]
    + [Qrel("q1", d, g) for d, g in TIDE_DOCS.items()]
    + [Qrel("q2", d, g) for d, g in BREAD_DOCS.items()]
)


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    """The corpus, and what rankers.rank_all says: top-10 documents and nDCG@10 per recipe."""
    root = tmp_path_factory.mktemp("truth")
    with module_home(root) as settings:
        corpus = long_document_corpus(root, settings)
        chosen = make_rankers(RECIPES, corpus)
        ranked = rankers.rank_all(
            chosen, QUERIES, 10, level="doc", passages_per_doc=rankers.passages_per_doc(corpus)
        )
        top = {
            n: {q: [h.doc_id for h in hits] for q, hits in run.items()}
            for n, run in ranked.runs.items()
        }
        means = ev.mean_scores(ev.evaluate_runs(ranked.runs, QRELS, ["nDCG@10"], "doc"))
        yield {"corpus": corpus, "root": root, "top": top, "ndcg": means, "runs": ranked.runs}


def cli(capsys, *argv) -> str:
    code = main(list(argv))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_the_fixture_is_the_hard_case(truth):
    """BM25's top 40 passages for q1 are all the long document's: one shallow pass (as deep as
    rank_all's first round) holds one document; rank_all still finds 10, report#2 among them."""
    corpus = truth["corpus"]
    assert corpus.passages - corpus.documents >= 40
    bm25 = make_ranker("bm25", corpus)
    assert {h.doc_id for h in bm25.rank(QUERIES[:1], 40)["q1"]} == {LONG}
    first_round = math.ceil(10 * rankers.passages_per_doc(corpus) * 1.5)
    assert len(doc_level(bm25.rank(QUERIES[:1], first_round))["q1"]) == 1
    for recipe in RECIPES:
        top = truth["top"][recipe]["q1"]
        assert len(top) == 10 and len(set(top)) == 10, recipe
    assert set(truth["top"]["bm25"]["q2"]) == set(BREAD_DOCS)  # all five that match
    assert truth["top"]["bm25"]["q1"][0] == LONG
    assert set(truth["top"]["bm25"]["q1"][1:]) <= set(TIDE_DOCS)
    assert "report#2" in truth["top"]["bm25"]["q1"]


def test_cli_search_at_doc_level(truth, capsys):
    for q in QUERIES:
        out = cli(
            capsys,
            *("search", "--corpus", CORPUS, "--query", q.text, "--k", "10", "--level", "doc"),
            *("--json", "--rankers", *RECIPES),
        )
        data = json.loads(out)
        assert data["level"] == "doc"
        for recipe in RECIPES:
            got = [h["doc_id"] for h in data["rankers"][recipe]["hits"]]
            assert got == truth["top"][recipe][q.query_id], (recipe, q)


def test_cli_run_at_doc_level(truth, capsys, tmp_path):
    queries = tmp_path / "queries.tsv"
    queries.write_text("".join(f"{q.query_id}\t{q.text}\n" for q in QUERIES), encoding="utf-8")
    out_dir = tmp_path / "runs"
    cli(
        capsys,
        *("run", "--corpus", CORPUS, "--queries", str(queries), "--k", "10"),
        *("--level", "doc", "--out", str(out_dir), "--rankers", *RECIPES),
    )
    runs = {}
    for recipe in RECIPES:
        run = read_run(out_dir / run_file_name(recipe))
        runs[recipe] = run
        got = {q: [h.doc_id for h in hits] for q, hits in run.items()}
        assert got == truth["top"][recipe], recipe
    means = ev.mean_scores(ev.evaluate_runs(runs, QRELS, ["nDCG@10"], "doc"))
    for recipe in RECIPES:
        assert means[recipe]["nDCG@10"] == pytest.approx(truth["ndcg"][recipe]["nDCG@10"])


@pytest.mark.parametrize("k", [10, 100])
def test_cli_evaluate_at_doc_level(truth, capsys, k):
    out = cli(
        capsys,
        *("evaluate", "--corpus", CORPUS, "--queries", "test", "--measures", "nDCG@10"),
        *("--level", "doc", "--k", str(k), "--json", "--rankers", *RECIPES),
    )
    means = json.loads(out)
    for recipe in RECIPES:
        assert means[recipe]["nDCG@10"] == pytest.approx(truth["ndcg"][recipe]["nDCG@10"])


def test_notebook_calls_at_doc_level(truth):
    """ranklens.rank / ranklens.evaluate (the notebook's calls) give what rank_all gives."""
    import ranklens

    corpus = ranklens.open_corpus(CORPUS)
    ranked = ranklens.rank(corpus, RECIPES, query_set="test", k=10, level="doc")
    for recipe in RECIPES:
        got = {q: [h.doc_id for h in hits] for q, hits in ranked.runs[recipe].items()}
        assert got == truth["top"][recipe], recipe
    means = ranklens.evaluate(corpus, RECIPES, measures=["nDCG@10"], k=10, level="doc")
    assert list(means.index) == RECIPES
    for recipe in RECIPES:
        assert means.loc[recipe, "nDCG@10"] == pytest.approx(truth["ndcg"][recipe]["nDCG@10"])
    long = ranklens.evaluate(corpus, RECIPES[:1], measures=["nDCG@10"], k=10, per_query=True)
    assert set(long.columns) >= {"ranker", "query_id", "measure", "value"}
    assert len(long) == len(QUERIES)
    pooled = ranklens.pool(corpus, rankers=["bm25"], depth=3)
    assert pooled.query_set == "test" and pooled.rankers == ["bm25"] and pooled.depth == 3
    top3 = ranklens.rank(corpus, ["bm25"], query_set="test", k=3).runs["bm25"]
    assert {(i.query_id, i.passage_id) for i in pooled.items} == {
        (q, h.passage_id) for q, hits in top3.items() for h in hits
    }


def _page(path: str, **session) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / path), default_timeout=60)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_search_page_at_doc_level(truth):
    corpus = truth["corpus"]
    at = _page(
        "search/page.py",
        **{state.CORPUS: CORPUS, state.SEARCH_RANKERS: RECIPES, state.SEARCH_DOC_LEVEL: True},
    )
    for q in QUERIES:
        at.text_input(key=state.SEARCH_QUERY).set_value(q.text).run()
        assert not at.exception, at.exception
        columns = []
        for col in at.columns:
            found = [m.value for m in col.markdown if 'class="rl-card"' in m.value]
            if found:
                columns.append(found)
        assert len(columns) == len(RECIPES)
        for recipe, html in zip(RECIPES, columns, strict=True):
            pids = [re.search(r'rl-meta">score [-\d.]+ · (\S+) ', h).group(1) for h in html]
            docs = corpus.get_passages(pids)
            assert [docs[p].doc_id for p in pids] == truth["top"][recipe][q.query_id], recipe


def test_evaluate_page_at_doc_level(truth):
    at = _page(
        "evaluate/page.py",
        **{
            state.CORPUS: CORPUS,
            state.EVAL_RANKERS: RECIPES,
            state.EVAL_MEASURES: ["nDCG@10"],
            state.EVAL_K: 10,
            state.EVAL_LEVEL: "doc",
        },
    )
    table = at.dataframe[0].value
    cells = {r["ranker"]: r["nDCG@10"] for _, r in table.iterrows()}
    for recipe in RECIPES:
        assert cells[recipe].startswith(f"{truth['ndcg'][recipe]['nDCG@10']:.3f} ["), recipe
