"""The Search page with an imported run (run:NAME) beside bm25, in Streamlit's AppTest: the set's
query typed shows the run's hits, ids the corpus lacks are "not in the corpus" cards (with the
system's own text, escaped, when it gave some), and a query the run lacks gets a one-line note."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from components import state
from ranklens.corpus import external_docs
from ranklens.corpus.ingest import ingest
from ranklens.ranking import imported_runs
from ranklens.types import Doc, Query

from .conftest import ROOT, write_jsonl

PAGE = str(ROOT / "pages" / "search" / "page.py")
DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and bacteria."),
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
]


def _corpus(home):
    path = write_jsonl(
        home.home.parent / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    c = ingest(path, "runpage", ["bm25"], home)
    c.add_query_set("set1", [Query("q1", "sourdough bread"), Query("q2", "green tea")])
    run = home.home.parent / "prod.trec"
    run.write_text("q1 Q0 ghost 1 9 prod\nq1 Q0 bread 2 5 prod\nq1 Q0 outside 3 4 prod\n")
    imported_runs.import_run(c, run, "prod", query_set="set1")
    external_docs.put(
        c.dir, "run:prod", [Doc("outside", "<script>alert(1)</script> sourdough", "<b>Far</b>")]
    )
    return c


def _columns(at: AppTest) -> list[str]:
    out = []
    for col in at.columns:
        found = [m.value for m in col.markdown if 'class="rl-card"' in m.value]
        if found or any("run:prod" in m.value for m in col.markdown):
            out.append("".join(found))
    return out


def test_run_beside_bm25_with_not_in_corpus_cards(home):
    _corpus(home)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert "run:prod" in at.multiselect(key=state.SEARCH_RANKERS).options
    at.multiselect(key=state.SEARCH_RANKERS).set_value(["bm25", "run:prod"])
    at.text_input(key=state.SEARCH_QUERY).set_value("sourdough bread").run()
    assert not at.exception, at.exception
    bm25, run = _columns(at)
    assert "bread#0" in bm25 and "not in the corpus" not in bm25
    # the run's order (score desc), its missing id as an id-only card, the other with its text
    assert run.index("ghost") < run.index("bread#0") < run.index("outside")
    ghost = run[run.index("#1 ·") : run.index("#2 ·")]
    assert "not in the corpus</span>" in ghost and "text from" not in ghost
    outside = run[run.index("#3 ·") :]
    assert "not in the corpus · text from run:prod" in outside
    assert "&lt;script&gt;" in outside and "<script>" not in outside and "<b>Far" not in outside
    # a typed query the run has no results for: one line in its column, no error
    at.text_input(key=state.SEARCH_QUERY).set_value("moon tides").run()
    assert not at.exception, at.exception
    notes = [i.value.replace("\\", "") for i in at.info]
    assert any("run:prod has no results for this query" in n for n in notes), notes
    assert not at.error
