"""The Judge page pooling an imported run (run:NAME), in Streamlit's AppTest: ids the corpus lacks
with no text are left out (the count is said), one with the system's own text is pooled and
judged from that text, without naming the system (judging stays blind)."""

from __future__ import annotations

from ranklens.corpus import external_docs, ingest
from ranklens.judging import JudgmentStore
from ranklens.ranking import imported_runs
from ranklens.types import Doc

from .judge_pages import QUERIES, build_pool, check, open_page, shown, texts

RUN = "q1 Q0 py 1 3 prod\nq1 Q0 ghost 2 2 prod\nq1 Q0 outside 3 1 prod\n"


def test_pool_of_a_run_leaves_out_ids_without_text(home, small_jsonl):
    c = ingest.ingest(small_jsonl, "j", ["bm25"], home)
    c.add_query_set("dev", QUERIES)
    path = home.home.parent / "prod.trec"
    path.write_text(RUN)
    imported_runs.import_run(c, path, "prod", query_set="dev")
    external_docs.put(c.dir, "run:prod", [Doc("outside", "Lists sort in place, elsewhere.", "Far")])
    at = build_pool(open_page(), ["run:prod"], depth=10)
    assert "Left out: 1 ids the corpus lacks, with no text to judge." in texts(at)
    pool = JudgmentStore(home.db_url).pools("j", "dev")[-1]
    assert sorted(it.passage_id for it in pool.items) == ["outside", "py#0"]
    seen = {}
    for _ in range(2):
        pid, _, _ = shown(at)
        seen[pid] = texts(at)
        at = check(next(b for b in at.button if b.label.startswith("Next")).click().run())
    assert set(seen) == {"outside", "py#0"}
    assert "in place, elsewhere." in seen["outside"]  # judged from the system's own text
    assert "not in the corpus: the text a search system returned" in seen["outside"]
    assert "run:prod" not in seen["outside"] and "prod" not in seen["py#0"]
