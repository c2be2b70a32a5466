"""Tests of `python -m ranklens judgments import/export/agreement/scale` (ranklens/cli/judgments.py)
through the real entry point, with a fake corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ranklens.cli import main as cli_main
from ranklens.cli import options as cli_options
from ranklens.config import get_settings
from ranklens.errors import NotFoundError
from ranklens.judging import (
    JudgmentStore,
)
from ranklens.types import Passage, Query

from .judging_data import DOCS, PASSAGES, write

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


class FakeCorpus:
    name = "demo"

    def doc_ids(self) -> set[str]:
        return set(DOCS)

    def passage_ids(self) -> list[str]:
        return sorted(PASSAGES)

    def get_passages(self, ids):
        return {i: Passage(i, PASSAGES[i], "") for i in ids if i in PASSAGES}

    def query_sets(self) -> dict[str, list[Query]]:
        return {"dev": [Query("q1", "one"), Query("q2", "two")]}


def _fake_open(name, settings):
    if name != "demo":
        raise NotFoundError(f"no corpus named {name!r}")
    return FakeCorpus()


def _cli(argv: list[str]) -> int:
    return cli_main(argv)  # the real entry point: errors are printed once, by main()


@pytest.fixture
def cli_env(tmp_path, monkeypatch, store_url):  # SQLite and PostgreSQL (tests/conftest.py)
    monkeypatch.setenv("RANKLENS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RANKLENS_DB_URL", store_url)
    monkeypatch.setattr(cli_options, "open_corpus", _fake_open)
    return tmp_path


def test_cli_import_export_agreement(cli_env, capsys):
    a = write(cli_env / "a.trec", "q1 0 d1 2\nq1 0 d2 0\nq7 0 d3 1\n")
    b = write(cli_env / "b.trec", "q1 0 d1 3\nq1 0 d2 0\nq7 0 d3 1\n")
    assert _cli(["judgments", "import", str(a), "--corpus", "demo", "--annotator", "ann"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 labels" in out and "q7" in out
    assert _cli(["judgments", "import", str(b), "--format", "trec", "--corpus", "demo",
                 "--annotator", "ben", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["unknown_queries"] == ["q7"]

    assert _cli(["judgments", "agreement", "--corpus", "demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["annotators"] == ["ann", "ben"] and data["units"] == 3
    assert data["pairs"][0]["n"] == 3 and data["disagreements"] == 1
    assert _cli(["judgments", "agreement", "--corpus", "demo"]) == 0
    assert "ann / ben" in capsys.readouterr().out

    out_file = cli_env / "final.trec"
    argv = ["judgments", "export", str(out_file), "--corpus", "demo", "--rule", "max"]
    assert _cli(argv) == 0
    assert out_file.read_text() == "q1 0 d1 3\nq1 0 d2 0\nq7 0 d3 1\n"
    argv += ["--query-set", "dev", "--format", "beir", "--level", "passage"]
    assert _cli(argv) == 0
    assert out_file.read_text() == "query-id\tcorpus-id\tscore\nq1\td1\t3\nq1\td2\t0\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["import", "{bad}", "--corpus", "demo"], "line 2"),
        (["import", "{bad}", "--corpus", "nosuch"], "no corpus named 'nosuch'"),
        (["import", "{missing}", "--corpus", "demo", "--format", "trec"], "no such file"),
        (["export", "{out}", "--corpus", "nosuch"], "no corpus named"),
        (["export", "{out}", "--corpus", "demo", "--rule", "median"], "unknown rule"),
        (["export", "{nodir}", "--corpus", "demo"], "does not exist"),
        (["agreement", "--corpus", "nosuch"], "no corpus named"),
        (["scale", "--corpus", "demo", "--grades", "11"], "2 to 10 grades"),
    ],
)
def test_cli_errors_are_one_line_on_stderr(cli_env, capsys, argv, expected):
    bad = write(cli_env / "bad.trec", "q1 0 d1 1\nq1 0 d2 x\n")
    paths = {
        "{bad}": str(bad),
        "{missing}": str(cli_env / "missing.trec"),
        "{out}": str(cli_env / "o.trec"),
        "{nodir}": str(cli_env / "no" / "such" / "dir" / "o.trec"),
    }
    argv = ["judgments"] + [paths.get(a, a) for a in argv]
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    with JudgmentStore(get_settings().db_url) as store:
        assert store.count_events() == 0


def test_cli_scale(cli_env, capsys):
    assert _cli(["judgments", "scale", "--corpus", "demo", "--grades", "5", "--json"]) == 0
    assert [g["value"] for g in json.loads(capsys.readouterr().out)] == [0, 1, 2, 3, 4]
    assert _cli(["judgments", "scale", "--corpus", "demo"]) == 0
    assert "Highly relevant" in capsys.readouterr().out
    assert _cli(["judgments"]) == 2
