"""The Corpus page's "Import runs" tab in Streamlit's AppTest: import from a path, the table with
level and missing ids, a refused file that stores nothing, replace, delete; admin-only in team mode."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from pages.corpus import runs_tab
from ranklens.corpus import ingest
from ranklens.ranking import imported_runs
from ranklens.types import Query

from .conftest import ROOT

PAGE = str(ROOT / "pages" / "corpus" / "page.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _submit(at: AppTest, path, name: str, replace: bool = False) -> AppTest:
    at.text_input(key=runs_tab.PATH_KEY).set_value(str(path))
    at.text_input(key=runs_tab.NAME_KEY).set_value(name)
    box = next(c for c in at.checkbox if c.label.startswith("Replace the run"))
    box.set_value(replace)
    next(b for b in at.button if b.label == "Import run").click()
    at.run()
    assert not at.exception, at.exception
    return at


def _runs_table(at: AppTest):
    return next(d.value for d in at.dataframe if "ranker" in d.value.columns)


def test_import_replace_delete_from_the_tab(home, small_jsonl, tmp_path):
    c = ingest.ingest(small_jsonl, "runtab", ["bm25"], home)
    c.add_query_set("s", [Query("1", "tea"), Query("2", "moon")])
    good = tmp_path / "prod.trec"
    good.write_text("1 Q0 tea 1 3 x\n1 Q0 ghost 2 2 x\n2 Q0 moon 1 1 x\n")
    at = _page()
    assert any("no imported run yet" in i.value for i in at.info)
    _submit(at, good, "prod")
    assert any("as run:prod (version 1)" in s.value.replace("\\", "") for s in at.success)
    row = _runs_table(at).iloc[0]
    assert (row["ranker"], row["level"], row["not in the corpus"], row["ids"]) == (
        "run:prod",
        "documents",
        1,
        3,
    )
    bad = tmp_path / "bad.trec"
    bad.write_text("1 Q0 tea 1 3 x\n1 Q0 tea 2 2 x\n")
    _submit(at, bad, "prod", replace=True)
    assert any("appears twice" in e.value and "line 2" in e.value for e in at.error)
    assert imported_runs.show_run(c, "prod")["version"] == 1
    _submit(at, good, "prod", replace=True)
    assert _runs_table(at).iloc[0]["version"] == 2
    at.selectbox(key="rl_runs_delete").set_value("prod")
    at.button(key="rl_runs_delete_button").click()
    at.run()
    assert imported_runs.run_names(c) == []


def test_team_mode_lists_but_only_admins_import(home, small_jsonl, monkeypatch):
    monkeypatch.setenv("RANKLENS_TEAM", "1")
    ingest.ingest(small_jsonl, "teamruns", ["bm25"], home)
    at = _page()
    assert any(
        "Only an admin can import, replace or delete run files" in c.value for c in at.caption
    )
    assert not [b for b in at.button if b.label == "Import run"]
