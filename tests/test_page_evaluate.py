"""The Evaluate page in Streamlit's AppTest: messages without labels, numbers equal to the core's,
Judged@10 warnings, condensed lists, significance marks, and an update after a new label.
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ranklens.corpus import index, ingest
from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import qrels_sources as labels
from ranklens.evaluation import report, stats
from ranklens.judging import JudgmentStore
from ranklens.ranking.recipes import make_ranker
from ranklens.types import Qrel, Query

from .conftest import ROOT

PAGE = str(ROOT / "pages" / "evaluate" / "page.py")
QUERIES = [
    Query("q1", "python list append sort"),
    Query("q2", "memory safety ownership borrowing"),
    Query("q3", "green tea temperature bitterness"),
    Query("q4", "moon orbit tides earth"),
    Query("q5", "sourdough bread yeast"),
    Query("q6", "green tea black tea moon"),
]
LABELS = [  # (query, doc, grade): documents labelled as a whole
    ("q1", "py", 2),
    ("q1", "rust", 0),
    ("q2", "rust", 3),
    ("q2", "py", 1),
    ("q3", "tea", 2),
    ("q4", "moon", 3),
    ("q4", "tea", 0),
    ("q5", "bread", 2),
    ("q6", "moon", 1),
]
MEASURES = ["nDCG@10", "RR"]


@pytest.fixture
def corpus(home, small_jsonl, fake_encoder):
    c = ingest.ingest(small_jsonl, "tiny", ["bm25", fake_encoder.name], home)
    c.add_query_set("topics", QUERIES)
    return c


def add_labels(home, labels=LABELS, annotator="imported"):
    with JudgmentStore(home.db_url) as store:
        for q, d, g in labels:
            store.add_label("tiny", annotator, q, "", g, doc_id=d, source="import")


def run_page(**session) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[state.EVAL_MEASURES] = MEASURES
    # the two leaves (the page's default adds their fusion, tested in test_bootstrap.py)
    at.session_state[state.EVAL_RANKERS] = ["bm25", "fake-encoder"]
    for k, v in session.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def expected_means(corpus, labels, condensed=False) -> dict:
    """The core's numbers for the same rankers, queries and labels (what the page must show)."""
    runs = {r: make_ranker(r, corpus).rank(QUERIES, 100) for r in ("bm25", "fake-encoder")}
    qrels = [Qrel(q, d, g) for q, d, g in labels]
    return ev.mean_scores(ev.evaluate_runs(runs, qrels, MEASURES, "doc", condensed))


def summary_cells(at: AppTest) -> dict:
    table = at.dataframe[0].value
    return {(r["ranker"], m): r[m] for _, r in table.iterrows() for m in MEASURES}


def test_no_query_set_and_no_labels_say_what_to_do(home, small_jsonl):
    ingest.ingest(small_jsonl, "bare", ["bm25"], home)
    at = run_page()
    assert any("has no query set" in i.value for i in at.info)
    index.open_corpus("bare", home).add_query_set("topics", QUERIES)
    at = run_page()
    message = " ".join(i.value for i in at.info)
    assert "No labels yet" in message
    assert "Judge" in message and "judgments import" in message and "Upload" in message


def test_dashboard_shows_the_cores_numbers(corpus, home):
    add_labels(home)
    at = run_page()
    assert at.session_state[state.EVAL_RANKERS] == ["bm25", "fake-encoder"]
    expected = expected_means(corpus, LABELS)
    cells = summary_cells(at)
    for (r, m), cell in cells.items():
        assert cell.startswith(f"{expected[r][m]:.3f} ["), (r, m, cell)
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Judged@10 · bm25", "Judged@10 · fake-encoder"}
    assert any("trec_eval" in c.value and "gain" in c.value for c in at.caption)  # gain stated
    assert [c.key for c in at.get("plotly_chart")] == ["rl_eval_summary_fig"]
    assert [t.label for t in at.tabs][:3] == ["Per query", "Difference", "Metric@k"]
    # the per-query table (the open tab): a row per labelled query, a column per ranker
    per_query = next(d.value for d in at.dataframe if "query" in d.value.columns)
    assert list(per_query["query_id"]) == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert {"bm25", "fake-encoder"} <= set(per_query.columns)


def test_a_new_label_shows_at_the_next_run(corpus, home):
    """A label saved elsewhere (another session, the CLI) moves the numbers at the page's next
    run: no cache keeps the old qrels. (How fast: bench/evaluate.py, not a timed test.)"""
    add_labels(home)
    at = run_page()
    before = summary_cells(at)[("bm25", "nDCG@10")]
    changed = [*LABELS, ("q3", "bread", 3)]  # a better document than the one BM25 found
    add_labels(home, [("q3", "bread", 3)], annotator="alice")
    at.run()
    assert not at.exception, at.exception
    after = summary_cells(at)[("bm25", "nDCG@10")]
    assert after != before
    assert after.startswith(f"{expected_means(corpus, changed)['bm25']['nDCG@10']:.3f} [")


def test_condensed_lists_and_judged_warning(corpus, home):
    add_labels(home)
    at = run_page()
    warnings = " ".join(w.value for w in at.warning)
    judged = {m.label: m.value for m in at.metric}
    # 9 labels over 6 queries: the dense ranker returns all 5 documents, so < 80% is judged
    assert judged["Judged@10 · fake-encoder"] != "100%"
    assert "Judged@10 is below 80%" in warnings and "fake\\-encoder 30%" in warnings
    assert len(at.warning) == 1 and not at.info  # said once, not once per ranker
    assert any("Condensed lists move the means" in c.value for c in at.caption)
    at.toggle(key=state.EVAL_CONDENSED).set_value(True).run()
    expected = expected_means(corpus, LABELS, condensed=True)
    for (r, m), cell in summary_cells(at).items():
        assert cell.startswith(f"{expected[r][m]:.3f} ["), (r, m, cell)
    # q6 ("green tea black tea moon"): BM25 puts the unjudged tea document above moon
    assert expected["bm25"]["RR"] > expected_means(corpus, LABELS)["bm25"]["RR"]


def test_significance_marks_and_rankings(corpus, home):
    add_labels(home)
    at = run_page(**{state.EVAL_TEST: "t"})
    cells = summary_cells(at)
    runs = {r: make_ranker(r, corpus).rank(QUERIES, 100) for r in ("bm25", "fake-encoder")}
    pq = ev.evaluate_runs(runs, [Qrel(*x) for x in LABELS], MEASURES)
    for m in MEASURES:
        pair = stats.pairwise_significance(pq, m, "t").iloc[0]
        marked = [r for r in ("bm25", "fake-encoder") if "▲" in cells[(r, m)]]
        if pair["significant"]:
            assert marked == ["bm25" if pair["diff"] > 0 else "fake-encoder"]
        else:
            assert marked == []
    at.session_state[state.EVAL_TAB] = "Ranking"
    at.run()
    frames = [d.value for d in at.dataframe]
    borda = next(f for f in frames if "points" in f.columns)
    assert borda["points"].sum() == pytest.approx(len(MEASURES) * 6)  # 1 point per (q, m)
    assert any("rank" in f.columns and "mean" in f.columns for f in frames)


@pytest.mark.parametrize(
    "tab, what",
    [
        ("Difference", "rl_eval_diff_fig"),
        ("Metric@k", "rl_eval_curve_fig"),
        ("Significance", "rl_eval_p_fig"),
        ("Discriminative power", "Significant differences that survive"),
        ("Export", "download_button"),
    ],
)
def test_each_tab_draws_only_when_open(corpus, home, tab, what):
    add_labels(home)
    at = run_page(**{state.EVAL_TAB: tab})
    charts = [c.key for c in at.get("plotly_chart")]
    if what.startswith("rl_eval_"):
        assert charts == ["rl_eval_summary_fig", what]
    elif what == "download_button":
        assert len(at.get("download_button")) == 3
        assert charts == ["rl_eval_summary_fig"]
    else:
        survived = [m for m in at.metric if m.label == what]
        nothing = [i for i in at.info if "No pair of rankers differs significantly" in i.value]
        assert len(survived) + len(nothing) == 1
        pairs = next(d.value for d in at.dataframe if "survival_rate" in d.value.columns)
        assert list(pairs[["ranker_a", "ranker_b"]].iloc[0]) == ["bm25", "fake-encoder"]


def test_bad_measure_and_explanations(corpus, home):
    add_labels(home)
    at = run_page(**{state.EVAL_MEASURES: ["nDCG@10", "nope@3"]})
    assert any("Unknown measure 'nope@3'" in e.value for e in at.error)
    at = run_page()
    text = " ".join(m.value for m in at.markdown)
    assert "log2(i + 1)" in text  # explain_measure for nDCG, in the popover
    assert "bootstrap interval (BCa" in text
    assert "**nDCG@10** of **bm25** for query **q1**" in text
    assert "· ir_measures: **" in text and "(agree)" in text  # the worked-out steps agree


def test_uploaded_qrels_errors_name_the_file_and_line(home):
    good = labels.qrels_from_upload("mine.txt", b"q1 0 py 2\nq2 0 rust 1\n", home)
    assert good == [Qrel("q1", "py", 2), Qrel("q2", "rust", 1)]
    with pytest.raises(RankLensError) as err:
        labels.qrels_from_upload("mine.txt", b"q1 0 py 2\nq2 0 rust\n", home)
    assert "mine.txt, line 2" in str(err.value) and "expected 4" in str(err.value)
    assert not any((home.home / "uploads").iterdir())  # the temporary upload is gone


def test_passage_level_warns_that_document_labels_match_nothing(corpus, home):
    add_labels(home)  # every label is on a whole document
    at = run_page(**{state.EVAL_LEVEL: "passage"})
    assert any("9 of 9 labels name whole documents" in w.value for w in at.warning)
    cells = summary_cells(at)
    assert cells[("bm25", "nDCG@10")].startswith("0.000 [")


def test_significance_names_each_p_value_and_shows_no_negative_zero(corpus, home):
    add_labels(home)
    at = run_page(**{state.EVAL_TAB: "Significance"})
    table = next(d.value for d in at.dataframe if "diff_low" in d.value.columns)
    assert {report.P_RAW, report.P_HOLM} <= set(table.columns) and "p" not in table.columns
    shown = report.without_negative_zero(pd.DataFrame({"d": [-1e-9, -0.2, 0.0]}))
    assert [f"{v:.4f}" for v in shown["d"]] == ["0.0000", "-0.2000", "0.0000"]
