"""The Evaluate page's "Run files" mode in AppTest: uploaded runs and qrels, no corpus; the numbers
equal the CLI's (`evaluate --run`), with -c, -M and -l; significance, Borda and the report appear.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from pages.evaluate import run_files as rf
from ranklens.cli import main

from .conftest import ROOT
from .test_run_evaluation import generated, write_files

PAGE = str(ROOT / "pages" / "evaluate" / "page.py")


def page(**session) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for k, v in session.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def uploads(tmp_path, home):
    qrels, runs = generated(7)
    qpath, paths = write_files(tmp_path, qrels, runs)
    return qpath, paths


def upload(at: AppTest, qpath, paths) -> AppTest:
    at.file_uploader(key=rf.RUNS).set_value(
        [(p.name, p.read_bytes(), "text/plain") for p in paths.values()]
    )
    at.file_uploader(key=rf.QRELS).set_value((qpath.name, qpath.read_bytes(), "text/plain"))
    at.run()
    assert not at.exception, at.exception
    return at


def cli_means(qpath, paths, capsys, *extra) -> dict:
    argv = ["evaluate", "--qrels", str(qpath), "--json", *extra]
    for p in paths.values():
        argv += ["--run", str(p)]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def trec_cells(at: AppTest) -> dict:
    table = next(d.value for d in at.dataframe if "measure" in d.value.columns)
    return {(r, row["measure"]): row[r] for _, row in table.iterrows() for r in ("A.run", "B.run")}


def test_no_corpus_needed_and_numbers_equal_the_cli(uploads, capsys):
    qpath, paths = uploads
    at = page(**{rf.MODE: rf.MODES[1]})
    assert any("Upload one or more run files" in i.value for i in at.info)
    at = upload(at, qpath, paths)
    cells = trec_cells(at)
    expected = cli_means(qpath, paths, capsys)
    for run, by_m in expected.items():
        for m, v in by_m.items():
            assert cells[(run, m)] == pytest.approx(v, abs=1e-12), (run, m)
    # the summary with intervals and significance marks, then the tabs
    summary = next(d.value for d in at.dataframe if "key" in d.value.columns)
    assert list(summary["ranker"]) == ["A.run", "B.run"]
    assert "NumRet" not in summary.columns and "MAP" in summary.columns
    assert [t.label for t in at.tabs] == ["Per query", "Significance", "Ranking", "Export"]
    assert [c.key for c in at.get("plotly_chart")] == ["rl_eval_rf_p_fig"]
    assert any("Borda" in m.value for m in at.markdown)
    # trec_eval's options: the same numbers as the CLI's -c -M -l
    at.toggle(key=rf.COMPLETE).set_value(True)
    at.number_input(key=rf.MAX_DOCS).set_value(5)
    at.number_input(key=rf.LEVEL).set_value(2)
    at.run()
    assert not at.exception, at.exception
    cells = trec_cells(at)
    expected = cli_means(qpath, paths, capsys, "-c", "-M", "5", "-l", "2")
    for run, by_m in expected.items():
        for m, v in by_m.items():
            assert cells[(run, m)] == pytest.approx(v, abs=1e-12), (run, m)


def test_bad_run_file_is_one_clear_error(uploads, tmp_path):
    qpath, _ = uploads
    bad = tmp_path / "bad.run"
    bad.write_text("q1 Q0 d1 1 0.5 tag\nq1 Q0 d1 2 0.4 tag\n")
    at = upload(page(**{rf.MODE: rf.MODES[1]}), qpath, {"bad": bad})
    message = " ".join(e.value for e in at.error)
    assert "bad.run" in message and "line 2" in message and "appears twice" in message


def test_the_corpus_mode_is_the_default(home):
    at = page()
    assert at.radio(key=rf.MODE).value == rf.MODES[0]
    assert not at.file_uploader  # no corpus yet: the corpus picker's message, no uploads


def test_hostile_run_names_stay_text(uploads, tmp_path):
    qpath, paths = uploads
    hostile = tmp_path / "x.run"
    hostile.write_bytes(paths["A"].read_bytes())
    at = page(**{rf.MODE: rf.MODES[1]})
    name = "![a](javascript:x)<img src=x onerror=alert(1)>.run"
    at.file_uploader(key=rf.RUNS).set_value(
        [(name, hostile.read_bytes(), "text/plain"), ("B.run", paths["B"].read_bytes(), "x")]
    )
    at.file_uploader(key=rf.QRELS).set_value((qpath.name, qpath.read_bytes(), "text/plain"))
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert "javascript" in " ".join(c.value for c in at.caption)  # the name is shown, escaped
    assert not re.search(r"(?<!\\)<img|(?<!\\)\]\(", shown)  # no tag, no link: all escaped
    table = next(d.value for d in at.dataframe if "measure" in d.value.columns)
    assert name in table.columns  # the name itself, as plain text in a table
