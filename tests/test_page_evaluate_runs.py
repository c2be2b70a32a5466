"""The Evaluate page with an imported run (run:NAME) beside bm25, in Streamlit's AppTest: the
summary equals ir_measures on the raw run file (ids the corpus lacks unjudged), and the per-query,
metric@k and significance tabs draw it like any ranker."""

from __future__ import annotations

import ir_measures
from streamlit.testing.v1 import AppTest

from components import state
from ranklens.corpus import ingest
from ranklens.judging import JudgmentStore
from ranklens.ranking import imported_runs
from ranklens.ranking.runfiles import read_run_scores

from .conftest import ROOT
from .test_page_evaluate import LABELS, MEASURES, QUERIES, summary_cells

PAGE = str(ROOT / "pages" / "evaluate" / "page.py")
RUN = "".join(
    f"{q.query_id} Q0 {d} {r} {s} prod\n"
    for q in QUERIES
    for r, (d, s) in enumerate([("tea", 3), ("ghost", 2.5), ("moon", 2), ("py", 2), ("rust", 1)], 1)
)


def test_run_on_the_evaluate_page_equals_ir_measures(home, small_jsonl, fake_encoder):
    c = ingest.ingest(small_jsonl, "tiny", ["bm25", fake_encoder.name], home)
    c.add_query_set("topics", QUERIES)
    path = home.home.parent / "prod.trec"
    path.write_text(RUN)
    imported_runs.import_run(c, path, "prod", query_set="topics")
    with JudgmentStore(home.db_url) as store:
        for q, d, g in LABELS:
            store.add_label("tiny", "imported", q, "", g, doc_id=d, source="import")
    qrels = [ir_measures.Qrel(q, d, g) for q, d, g in LABELS]
    want = ir_measures.calc_aggregate(
        [ir_measures.parse_measure(m) for m in MEASURES], qrels, read_run_scores(path)
    )
    for tab, drawn in (
        ("Per query", None),
        ("Metric@k", "rl_eval_curve_fig"),
        ("Significance", "rl_eval_p_fig"),
    ):
        at = AppTest.from_file(PAGE, default_timeout=60)
        at.session_state[state.EVAL_MEASURES] = MEASURES
        at.session_state[state.EVAL_RANKERS] = ["run:prod", "bm25"]
        at.session_state[state.EVAL_TAB] = tab
        at.run()
        assert not at.exception, at.exception
        cells = summary_cells(at)
        for m in MEASURES:
            assert cells[("run:prod", m)].startswith(f"{want[ir_measures.parse_measure(m)]:.3f} [")
        charts = [c.key for c in at.get("plotly_chart")]
        if drawn:
            assert charts == ["rl_eval_summary_fig", drawn]
        else:
            table = next(d.value for d in at.dataframe if "query" in d.value.columns)
            assert {"run:prod", "bm25"} <= set(table.columns)
