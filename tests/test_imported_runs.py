"""Imported run files (ranklens.ranking.imported_runs, run:NAME in ranklens.ranking.run_ranker): the `runs` CLI,
all-or-nothing imports, ranking at both levels, fusion, pools and evaluation against ir_measures.
"""

from __future__ import annotations

import json

import ir_measures
import pytest

from ranklens import models
from ranklens.cli import main
from ranklens.corpus import external_docs
from ranklens.corpus.ingest import ingest
from ranklens.errors import InputError, RankLensError
from ranklens.evaluation.measures import evaluate_runs
from ranklens.judging import JudgmentStore, pooling
from ranklens.ranking import composites, imported_runs, rankers
from ranklens.ranking.recipes import available_rankers, make_rankers
from ranklens.ranking.runfiles import read_run_scores
from ranklens.types import Doc, Qrel, Query

from .conftest import TWO_PASSAGE_DOCS, FakeEncoder, docs_jsonl, module_home

FAKE = "fake-runs-enc"
DOCS = TWO_PASSAGE_DOCS
QUERIES = [Query("1", "sourdough bread"), Query("2", "tea temperature"), Query("3", "moon")]
# document ids; "ghost" and "faraway" are not in the corpus; tea and moon tie on 2.0 for query 1
RUN = """1 Q0 moon 1 2.0 prod
1 Q0 tea 2 2.0 prod
1 Q0 bread 3 3.5 prod
1 Q0 ghost 4 1.0 prod
1 Q0 faraway 5 0.5 prod
2 Q0 tea 1 9 prod
2 Q0 rust 2 1 prod
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    with module_home(root) as settings:
        models.register_encoder(FakeEncoder(FAKE))
        c = ingest(docs_jsonl(root / "docs.jsonl", DOCS), "tiny", ["bm25", FAKE], settings)
        c.add_query_set("test", QUERIES)
        c.add_query_set("other", [Query("9", "rust memory")])
        (root / "prod.trec").write_text(RUN)
        imported_runs.import_run(c, root / "prod.trec", "prod", query_set="test")
        yield c


def cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _state(c) -> list[str]:
    return sorted(p.name for p in imported_runs.runs_dir(c).iterdir() if p.suffix != ".lock")


def refused_import(corpus, capsys, path) -> str:
    """`runs import PATH` as "bad": exit code 2 and nothing stored (no run, no staging folder
    left behind); returns the error printed."""
    before = _state(corpus)
    argv = ["runs", "import", str(path), "--corpus", "tiny", "--name", "bad", "--queries", "test"]
    code, _, err = cli(capsys, *argv)
    assert code == 2, err
    assert _state(corpus) == before
    return err


# ---------------------------------------------------------------- import, list, show, delete


def test_import_says_level_and_missing_ids(corpus):
    info = imported_runs.show_run(corpus, "prod")
    assert info["level"] == "doc" and info["format"] == "trec" and info["query_set"] == "test"
    assert (info["lines"], info["queries"], info["ids"], info["missing"]) == (7, 2, 6, 2)
    assert info["missing_sample"] == ["faraway", "ghost"] and info["max_depth"] == 5
    assert info["version"] == 1 and info["imported_at"].endswith("Z")


def test_cli_import_list_show_replace_delete(corpus, tmp_path, capsys):
    path = tmp_path / "p.tsv"
    path.write_text("qid\tdocno\tscore\n3\tmoon#0\t1.5\n3\tnowhere#0\t1\n1\tbread#1\t2\n")
    code, out, err = cli(capsys, "runs", "import", str(path), "--corpus", "tiny", "--name", "pas")
    assert code == 0, err
    assert "passage ids" in out and "1 of its 3 ids are not in the corpus" in out
    code, out, _ = cli(capsys, "runs", "list", "--corpus", "tiny")
    assert "run:pas" in out and "run:prod" in out and "passage ids" in out
    code, out, _ = cli(capsys, "runs", "show", "pas", "--corpus", "tiny")
    shown = json.loads(out)
    assert (shown["level"], shown["format"], shown["missing"], shown["version"]) == (
        "passage",
        "csv",
        1,
        1,
    )
    # the same name again needs --replace; with it, version 2 replaces version 1
    code, _, err = cli(capsys, "runs", "import", str(path), "--corpus", "tiny", "--name", "pas")
    assert code == 2 and "--replace" in err
    path.write_text("qid,doc_id,score\n3,moon#0,1\n")
    code, out, err = cli(
        capsys, "runs", "import", str(path), "--corpus", "tiny", "--name", "pas", "--replace"
    )
    assert code == 0, err
    shown = imported_runs.show_run(corpus, "pas")
    assert (shown["version"], shown["lines"], shown["missing"]) == (2, 1, 0)
    assert sorted(
        p.name for p in (imported_runs.runs_dir(corpus) / "pas" / "versions").iterdir()
    ) == ["2"]
    code, out, _ = cli(capsys, "runs", "delete", "pas", "--corpus", "tiny")
    assert code == 0 and "deleted run:pas" in out
    assert "pas" not in imported_runs.run_names(corpus)
    code, _, err = cli(capsys, "runs", "delete", "pas", "--corpus", "tiny")
    assert code == 2 and "no imported run 'pas'" in err and "prod" in err


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        ("1 Q0 tea 1 2.0 x\n1 Q0 moon 2 1.0\n", "expected 6 columns", 2),
        ("1 Q0 tea 1 2.0 x\n1 Q0 moon 2 high x\n", "the score must be a number", 2),
        (
            "1 Q0 tea 1 2.0 x\n2 Q0 moon 1 1 x\n1 Q0 tea 3 1.0 x\n",
            "appears twice (first at line 1)",
            3,
        ),
        ("1 Q0 tea 1 2.0 x\n77 Q0 moon 1 1 x\n", "query id '77' is not in the query set", 2),
    ],
)
def test_bad_run_files_store_nothing(corpus, tmp_path, capsys, text, words, line):
    before = _state(corpus)
    path = tmp_path / "bad.trec"
    path.write_text(text)
    err = refused_import(corpus, capsys, path)
    assert words in err and f"{path}, line {line}:" in err, err
    # a failed --replace keeps the version in use
    code, _, err = cli(
        capsys, "runs", "import", str(path), "--corpus", "tiny", "--name", "prod", "--replace"
    )
    assert code == 2
    assert imported_runs.show_run(corpus, "prod")["version"] == 1 and _state(corpus) == before


def test_query_set_is_found_or_named(corpus, tmp_path):
    path = tmp_path / "r.trec"
    path.write_text("9 Q0 rust 1 1 x\n")
    info = imported_runs.import_run(corpus, path, "auto")
    assert info["query_set"] == "other"
    imported_runs.delete_run(corpus, "auto")
    path.write_text("9 Q0 rust 1 1 x\n1 Q0 tea 1 1 x\n")
    with pytest.raises(InputError, match="no query set of corpus 'tiny' holds every query id"):
        imported_runs.import_run(corpus, path, "mixed")
    with pytest.raises(RankLensError, match="no query set 'nope'"):
        imported_runs.import_run(corpus, path, "mixed", query_set="nope")
    with pytest.raises(RankLensError, match="run name"):
        imported_runs.import_run(corpus, path, "../x", query_set="test")
    # a queries file: checked against, then added as the set named after the file
    topics = tmp_path / "topics.tsv"
    topics.write_text("9\trust memory\n1\tsourdough bread\n")
    info = imported_runs.import_run(corpus, path, "mixed", query_set=str(topics))
    assert info["query_set"] == "topics" and [
        q.query_id for q in corpus.query_sets()["topics"]
    ] == [
        "9",
        "1",
    ]
    imported_runs.delete_run(corpus, "mixed")


# ---------------------------------------------------------------- run:NAME as a ranker


def test_run_ranks_in_trec_eval_order_at_both_levels(corpus):
    (r,) = make_rankers(["run:prod"], corpus)
    assert r.name == "run:prod"
    for level in ("passage", "doc"):
        got = rankers.rank_all([r], QUERIES, 10, level=level, passages_per_doc=1.2).runs[r.name]
        # score desc, then doc id desc (tea > moon on the 2.0 tie); the rank column is ignored
        assert [h.doc_id for h in got["1"]] == ["bread", "tea", "moon", "ghost", "faraway"]
        assert [h.rank for h in got["1"]] == [1, 2, 3, 4, 5]
        assert got["1"][0].passage_id == "bread#0" and got["1"][3].passage_id == "ghost"
        assert [h.doc_id for h in got["2"]] == ["tea", "rust"] and got["3"] == []
    # never deeper than the file
    top = rankers.rank_all([r], QUERIES, 2, level="doc").runs[r.name]
    assert [h.doc_id for h in top["1"]] == ["bread", "tea"]


def test_typed_query_text_finds_the_set_query(corpus):
    (r,) = make_rankers(["run:prod"], corpus)
    got = r.rank([Query("q", "  tea   temperature "), Query("x", "something else")], 5)
    assert [h.doc_id for h in got["q"]] == ["tea", "rust"] and got["x"] == []
    note = imported_runs.empty_note(corpus, "run:prod")
    assert "run:prod has no results for this query" in note and "'test'" in note
    assert imported_runs.empty_note(corpus, "bm25") is None


def test_passage_level_run_maps_documents(corpus, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"1": {"bread#1": 3, "bread#0": 2, "html#0": 1, "lost#0": 0.5}}))
    imported_runs.import_run(corpus, path, "pjson", query_set="test")
    (r,) = make_rankers(["run:pjson"], corpus)
    by_passage = rankers.rank_all([r], QUERIES[:1], 10).runs[r.name]["1"]
    assert [(h.passage_id, h.doc_id) for h in by_passage] == [
        ("bread#1", "bread"),
        ("bread#0", "bread"),
        ("html#0", "html"),
        ("lost#0", "lost#0"),
    ]
    by_doc = rankers.rank_all([r], QUERIES[:1], 10, level="doc").runs[r.name]["1"]
    assert [(h.passage_id, h.doc_id) for h in by_doc] == [
        ("bread#1", "bread"),
        ("html#0", "html"),
        ("lost#0", "lost#0"),
    ]
    imported_runs.delete_run(corpus, "pjson")


def test_unknown_run_is_a_recipe_error(corpus):
    with pytest.raises(rankers.RankerSpecError, match="no imported run 'nope'; imported: prod"):
        make_rankers(["run:nope"], corpus)
    assert "run:prod" in available_rankers(corpus)


def test_run_in_fusion(corpus):
    specs = [
        "run:prod",
        "bm25",
        "rrf(run:prod,bm25)",
        "wsum(run:prod:0.5,bm25:0.5)",
        "wsum(run:prod,bm25)",
    ]
    made = make_rankers(specs, corpus)
    assert [r.name for r in made][2:] == [
        "rrf(run:prod,bm25)",
        "wsum(run:prod:0.5,bm25:0.5)",
        "wsum(run:prod,bm25)",
    ]
    assert made[2].rankers[0] is made[0]  # one shared leaf
    got = rankers.rank_all(made, QUERIES, 5, level="doc").runs
    run_docs = [h.doc_id for h in got["run:prod"]["1"]]
    bm25_docs = [h.doc_id for h in got["bm25"]["1"]]
    expected = composites.rrf_scores([run_docs, bm25_docs])
    fused = got["rrf(run:prod,bm25)"]["1"]
    assert {h.doc_id: round(h.score, 9) for h in fused} == {
        d: round(s, 9) for d, s in sorted(expected.items(), key=lambda x: -x[1])[:5]
    }
    assert fused[0].doc_id == "bread"
    with pytest.raises(rankers.RankerSpecError, match="weight must be a number"):
        make_rankers(["wsum(run:prod:x,bm25:1)"], corpus)


def test_evaluation_equals_ir_measures_on_the_raw_file(corpus):
    qrels = [
        Qrel("1", "tea", 2),
        Qrel("1", "moon", 1),
        Qrel("1", "ghostly", 1),
        Qrel("2", "rust", 1),
    ]
    qrels += [Qrel("1", "bread", 0)]
    (r,) = make_rankers(["run:prod"], corpus)
    runs = rankers.rank_all([r], QUERIES, 100, level="doc").runs
    measures = ["nDCG@10", "P@2", "AP", "RR", "Judged@5", "R@3"]
    ours = evaluate_runs(runs, qrels, measures, level="doc")
    scores = read_run_scores(_raw_path(corpus))
    parsed = [ir_measures.parse_measure(m) for m in measures]
    for m, p in zip(measures, parsed, strict=True):
        want = {x.query_id: x.value for x in ir_measures.iter_calc([p], qrels, scores)}
        got = ours[ours.measure == m].set_index("query_id")["value"].to_dict()
        assert got == pytest.approx(want), m
    # ghost and faraway (not in the corpus) count as unjudged, as trec_eval counts them
    judged = ours[(ours.measure == "Judged@5") & (ours.query_id == "1")]["value"].item()
    assert judged == pytest.approx(3 / 5)


def _raw_path(corpus):
    return corpus.settings.home.parent / "prod.trec"


# ---------------------------------------------------------------- pools and shown passages


def test_pool_leaves_out_ids_without_text(corpus, tmp_path):
    external_docs.put(corpus.dir, "run:prod", [Doc("faraway", "A far away text.", "Far")])
    shown = external_docs.passages_for(corpus, ["faraway", "ghost", "tea#0"])
    assert set(shown) == {"faraway", "tea#0"}
    assert external_docs.is_external(shown["faraway"]) and shown["faraway"].source == "run:prod"
    assert not external_docs.is_external(shown["tea#0"])
    with JudgmentStore(f"sqlite:///{tmp_path / 'j.db'}") as store:
        made = make_rankers(["run:prod", "bm25"], corpus)
        pool = pooling.make_pool(store, corpus, "test", made, 10)
        pooled = {(it.query_id, it.passage_id) for it in pool.items}
        assert ("1", "faraway") in pooled and ("1", "ghost") not in pooled
        assert pool.left_out == 1
    external_docs.delete_source(corpus.dir, "run:prod")


def test_cli_search_by_query_id_shows_missing_docs(corpus, capsys):
    code, out, err = cli(
        capsys,
        *("search", "--corpus", "tiny", "--queries", "test", "--query-id", "1", "--json"),
        *("--rankers", "run:prod", "bm25", "--level", "doc"),
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["query"] == "sourdough bread" and data["query_id"] == "1"
    hits = data["rankers"]["run:prod"]["hits"]
    assert [h["doc_id"] for h in hits] == ["bread", "tea", "moon", "ghost", "faraway"]
    assert hits[3]["from"] == "missing" and hits[3]["text"] == "" and hits[0]["from"] == "corpus"
    code, out, _ = cli(
        capsys, "search", "--corpus", "tiny", "--query", "moon", "--rankers", "run:prod", "bm25"
    )
    assert code == 0 and "run:prod has no results for this query" in out
    code, out, _ = cli(
        capsys, "search", "--corpus", "tiny", "--query", "sourdough bread", "--rankers", "run:prod"
    )
    assert "ghost  (not in the corpus)" in out
    code, _, err = cli(capsys, "search", "--corpus", "tiny", "--queries", "test", "--query-id", "7")
    assert code == 2 and "no query id '7'" in err


def test_tune_fuses_the_run_with_bm25_on_held_out_queries(corpus):
    from ranklens.evaluation.tune import tune

    qrels = [Qrel("1", "bread", 2), Qrel("1", "tea", 1), Qrel("2", "tea", 1), Qrel("2", "rust", 1)]
    result = tune(corpus, ["run:prod", "bm25"], QUERIES, qrels, "nDCG@10", folds=2)
    assert result.n_queries == 2 and "run:prod" in set(result.comparisons["baseline"])
    assert any(r.startswith("wsum(run:prod:") for r in result.grid["recipe"])
    (again,) = make_rankers([result.chosen], corpus)  # the chosen recipe parses back
    assert again.name == result.chosen


def test_cli_evaluate_and_snapshot_with_the_run(corpus, tmp_path, capsys):
    qrels = tmp_path / "q.trec"
    qrels.write_text("1 0 tea 2\n1 0 moon 1\n1 0 ghost 1\n2 0 rust 1\n")
    argv = ("evaluate", "--corpus", "tiny", "--queries", "test", "--qrels", str(qrels))
    code, out, err = cli(
        capsys,
        *argv,
        *("--rankers", "run:prod", "bm25", "--measures", "nDCG@10", "AP", "--k", "1000"),
        *("--json", "--snapshot", "nightly"),
    )
    assert code == 0, err
    means = json.loads(out)
    labels = [("1", "tea", 2), ("1", "moon", 1), ("1", "ghost", 1), ("2", "rust", 1)]
    want = ir_measures.calc_aggregate(
        [ir_measures.nDCG @ 10, ir_measures.AP],
        [ir_measures.Qrel(q, d, g) for q, d, g in labels],
        read_run_scores(_raw_path(corpus)),
    )
    assert means["run:prod"]["nDCG@10"] == pytest.approx(want[ir_measures.nDCG @ 10])
    assert means["run:prod"]["AP"] == pytest.approx(want[ir_measures.AP])
    code, out, err = cli(capsys, "snapshots", "show", "nightly", "--corpus", "tiny")
    assert code == 0 and "run:prod" in out, err


def test_run_out_writes_the_run_back_in_trec_eval_order(corpus, tmp_path, capsys):
    from ranklens.corpus.trec_files import run_file_name

    out_dir = tmp_path / "out"
    code, _, err = cli(
        capsys,
        *("run", "--corpus", "tiny", "--queries", "test", "--rankers", "run:prod"),
        *("--k", "1000", "--out", str(out_dir)),
    )
    assert code == 0, err
    lines = (out_dir / run_file_name("run:prod")).read_text().splitlines()
    assert [line.split()[2] for line in lines if line.startswith("1 ")] == [
        "bread",
        "tea",
        "moon",
        "ghost",
        "faraway",
    ]
    written = read_run_scores(out_dir / run_file_name("run:prod"))
    raw = read_run_scores(_raw_path(corpus))
    assert {q: set(d) for q, d in written.items()} == {q: set(d) for q, d in raw.items()}


def test_a_ranker_made_before_a_replace_ranks_the_new_version(corpus, tmp_path):
    path = tmp_path / "v.trec"
    path.write_text("2 Q0 tea 1 1 x\n")
    imported_runs.import_run(corpus, path, "swap", query_set="test")
    (r,) = make_rankers(["run:swap"], corpus)
    assert [(h.passage_id, h.doc_id) for h in r.rank([QUERIES[1]], 10)["2"]] == [("tea#0", "tea")]
    path.write_text("2 Q0 rust#0 1 1 x\n2 Q0 moon#0 2 0.5 x\n")  # now passage ids
    imported_runs.import_run(corpus, path, "swap", query_set="test", replace=True)
    got = r.rank([QUERIES[1]], 10)["2"]
    assert [(h.passage_id, h.doc_id) for h in got] == [("rust#0", "rust"), ("moon#0", "moon")]
    imported_runs.delete_run(corpus, "swap")


class _WordScorer:
    """A stand-in cross-encoder: how often the query's words occur in the passage."""

    def score(self, query, passages):
        words = query.lower().split()
        return [float(sum(p.lower().count(w) for w in words)) for p in passages]


def test_rerank_of_a_run_rescores_what_has_text(corpus):
    external_docs.put(corpus.dir, "run:prod", [Doc("faraway", "sourdough sourdough bread", "")])
    (rr,) = make_rankers(
        [f"rerank(run:prod,{models.DEFAULT_RERANKER},10)"],
        corpus,
        load_reranker=lambda name: _WordScorer(),
    )
    got = rankers.rank_all([rr], QUERIES[:1], 10, level="doc").runs[rr.name]["1"]
    # ghost (no text anywhere) cannot be rescored: left out; faraway is scored from its text
    assert [h.doc_id for h in got][:2] == ["bread", "faraway"] and "ghost" not in [
        h.doc_id for h in got
    ]
    external_docs.delete_source(corpus.dir, "run:prod")


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("r.csv", "qid,docno\n1,tea\n", "the header has no score column"),
        ("r.csv", "qid,docno,score\n1,tea,2\n1,moon\n", "line 3: expected 3 columns"),
        (
            "r.json",
            '{"1": {"tea": "high"}}',
            "query '1', document 'tea': the score must be a number",
        ),
        ("r.json", '{"1": {"tea": 1}, "77": {"moon": 2}}', "query id '77' is not in the query set"),
        ("r.json", '{"1": [1, 2]', "is not valid JSON"),
    ],
)
def test_bad_csv_and_json_store_nothing(corpus, tmp_path, capsys, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    err = refused_import(corpus, capsys, path)
    assert words in err and str(path) in err, err
