"""The regression gate: a planted regression exits 1, an unchanged or better ranker exits 0, and
`--fail-on significant` lets a small non-significant drop pass; for run files and corpus rankers.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ranklens.cli import main
from ranklens.corpus import ingest
from ranklens.errors import RankLensError
from ranklens.evaluation import regression_gate as rg
from ranklens.evaluation import run_evaluation as re_
from ranklens.evaluation import snapshots_store
from ranklens.judging import JudgmentStore
from ranklens.types import Hit

from .conftest import write_jsonl

N_QUERIES = 30


def long(values: dict[str, list[float]], measure: str = "nDCG@10") -> pd.DataFrame:
    rows = [(r, f"q{i}", measure, v) for r, vs in values.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows, columns=["ranker", "query_id", "measure", "value"])


def test_gate_verdicts():
    base = [0.5 + 0.01 * i for i in range(N_QUERIES)]
    then = long({"prod": base, "dense": base})
    same = rg.gate(then, long({"prod": base, "dense": base}), "nDCG@10", "s")
    assert not same.failed and [c.same for c in same.changes] == [N_QUERIES, N_QUERIES]
    better = rg.gate(then, long({"prod": [v + 0.1 for v in base]}), "nDCG@10", "s")
    assert not better.failed and better.only_then == ["dense"]
    small = [*base[:-1], base[-1] - 0.2]  # one query of 30 drops
    worse = rg.gate(then, long({"prod": small, "dense": base}), "nDCG@10", "s")
    assert worse.failed and [c.failed for c in worse.changes] == [True, False]
    assert worse.changes[0].worse == 1 and worse.changes[0].table.iloc[0]["query_id"] == "q29"
    significant = rg.gate(then, long({"prod": small}), "nDCG@10", "s", "significant")
    assert not significant.failed and significant.changes[0].p_holm > 0.05
    broad = [v - 0.1 for v in base]  # every query drops
    assert rg.gate(then, long({"prod": broad}), "nDCG@10", "s", "significant").failed
    lines = rg.report_lines(worse)
    assert lines[-1].startswith("FAILED: prod") and any("q29" in line for line in lines)
    with pytest.raises(RankLensError, match="no ranker is in both"):
        rg.gate(then, long({"other": base}), "nDCG@10", "s")


def test_gate_holm_corrects_across_rankers():
    base = [0.5] * 12
    drop = [0.5] * 6 + [0.4] * 6  # 6 of 12 drop: p = 2/2^6 = 0.03125 alone
    then = long({"a": base, "b": base})
    one = rg.gate(long({"a": base}), long({"a": drop}), "nDCG@10", "s", "significant")
    assert one.changes[0].p == pytest.approx(1 / 32) and one.failed
    two = rg.gate(then, long({"a": drop, "b": drop}), "nDCG@10", "s", "significant")
    assert [c.p_holm for c in two.changes] == [pytest.approx(1 / 16)] * 2 and not two.failed


def write_run(path, docs_by_query):
    lines = [
        f"{q} Q0 {d} {i} {s} tag\n"
        for q, docs in docs_by_query.items()
        for i, (d, s) in enumerate(docs.items(), 1)
    ]
    path.write_text("".join(lines))
    return path


@pytest.fixture
def files(tmp_path, home):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("".join(f"q{i} 0 rel{i} 1\nq{i} 0 non{i} 0\n" for i in range(N_QUERIES)))

    def run(name: str, wrong: set[int] = frozenset(), missing: set[int] = frozenset()):
        docs = {}
        for i in range(N_QUERIES):
            if i in missing:
                continue
            first, second = ("non", "rel") if i in wrong else ("rel", "non")
            docs[f"q{i}"] = {f"{first}{i}": 2.0, f"{second}{i}": 1.0}
        return write_run(tmp_path / name, docs)

    return qrels, run


def gate_cli(qrels, run, *extra):
    return main(["evaluate", "--run", str(run), "--name", "prod", "--qrels", str(qrels), *extra])


def test_run_files_gate_exit_codes(files, capsys):
    qrels, run = files
    base = run("base.run", wrong={0, 1})
    assert gate_cli(qrels, base, "--save-snapshot", "nightly") == 0
    assert "saved snapshot 'nightly' of run files" in capsys.readouterr().err
    # the same run, and a better one, pass
    assert gate_cli(qrels, run("same.run", wrong={0, 1}), "--against", "nightly") == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "0 worse" in out
    assert gate_cli(qrels, run("better.run"), "--against", "nightly") == 0
    # a planted regression fails, naming the queries that got worse
    assert gate_cli(qrels, run("worse.run", wrong={0, 1, 7}), "--against", "nightly") == 1
    out = capsys.readouterr().out
    assert "FAIL prod" in out and "worse  q7: 1.0000 -> 0.6309" in out and "FAILED: prod" in out
    # a query the run stopped answering counts as 0 (the gate counts every labelled query)
    assert gate_cli(qrels, run("gone.run", wrong={0, 1}, missing={5}), "--against", "nightly") == 1
    # a small drop is not significant: --fail-on significant passes it, --fail-on worse does not
    small = run("small.run", wrong={0, 1, 9})
    assert gate_cli(qrels, small, "--against", "nightly", "--fail-on", "significant") == 0
    assert "PASSED" in capsys.readouterr().out
    broad = run("broad.run", wrong=set(range(20)))
    assert gate_cli(qrels, broad, "--against", "nightly", "--fail-on", "significant") == 1
    capsys.readouterr()
    # JSON: the verdict and every changed query
    assert gate_cli(qrels, small, "--against", "nightly", "--json", "--measure", "RR") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["gate"]["failed"] and data["gate"]["measure"] == "RR"
    assert [c["query_id"] for c in data["gate"]["rankers"][0]["changed"]] == ["q9"]
    # a name the snapshot lacks cannot pass silently
    assert (
        main(["evaluate", "--run", str(small), "--qrels", str(qrels), "--against", "nightly"]) == 2
    )
    assert "no ranker is in both" in capsys.readouterr().err
    assert gate_cli(qrels, small, "--against", "nope") == 2
    assert "no snapshot named 'nope'" in capsys.readouterr().err


def test_run_files_snapshot_keeps_runs_and_refuses_a_taken_name(files, capsys):
    qrels, run = files
    base = run("base.run", wrong={3})
    assert gate_cli(qrels, base, "--save-snapshot", "s1", "-M", "1") == 0
    with JudgmentStore.from_settings() as store:
        snap = snapshots_store.load(store, re_.RUN_FILES, "s1")
    assert snap.rankers == ["prod"] and snap.manifest["settings"]["max_docs"] == 1
    assert len(snap.runs["prod"]["q3"]) == 2  # kept whole, before -M
    assert snap.manifest["means"]["prod"]["NumRet"] == N_QUERIES  # trec_eval's sums
    assert gate_cli(qrels, base, "--save-snapshot", "s1") == 2
    assert "already named 's1'" in capsys.readouterr().err
    assert gate_cli(qrels, base, "--save-snapshot", "s1", "--replace-snapshot", "-M", "1") == 0
    # the gate says when today's options differ from the snapshot's
    assert gate_cli(qrels, base, "--against", "s1", "-M", "2") == 0
    assert "max_docs=1, now 2" in capsys.readouterr().out


@pytest.fixture
def tiny(home, small_jsonl, tmp_path):
    corpus = ingest.ingest(small_jsonl, "tiny", ["bm25"], home)
    queries = write_jsonl(
        tmp_path / "queries.jsonl",
        [
            {"_id": "q1", "text": "python list append"},
            {"_id": "q2", "text": "memory safety ownership"},
            {"_id": "q3", "text": "green tea temperature"},
        ],
    )
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 py 1\nq2 0 rust 1\nq3 0 tea 1\nq3 0 moon 3\n")
    return corpus, queries, qrels


def test_corpus_rankers_gate(tiny, capsys):
    corpus, queries, qrels = tiny
    common = ["evaluate", "--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels),
              "--rankers", "bm25"]  # fmt: skip
    assert main([*common, "--snapshot", "before"]) == 0
    capsys.readouterr()
    assert main([*common, "--against", "before"]) == 0
    assert "PASSED" in capsys.readouterr().out
    # plant a regression: the snapshot's bm25 had ranked q3's best answer (moon, grade 3) first;
    # today's bm25 ranks tea (which shares the query's words) above it
    with JudgmentStore.from_settings(corpus.settings) as store:
        snap = snapshots_store.load(store, "tiny", "before")
        perfect = [Hit("q3", "moon", "moon", 2.0, 1), Hit("q3", "tea", "tea", 1.0, 2)]
        snap.runs["bm25"] = {**snap.runs["bm25"], "q3": perfect}
        snapshots_store.save(store, snap, replace=True)
    assert main([*common, "--against", "before"]) == 1
    out = capsys.readouterr().out
    assert "FAIL bm25" in out and "worse  q3: 1.0000 -> " in out and "FAILED: bm25" in out
    assert main([*common, "--against", "before", "--level", "passage"]) == 2
    assert "--level doc" in capsys.readouterr().err


def test_snapshots_of_run_files_show_and_warn_when_the_qrels_change(files, capsys):
    qrels, run = files
    assert gate_cli(qrels, run("base.run"), "--save-snapshot", "kept") == 0
    capsys.readouterr()
    assert main(["snapshots", "show", "kept", "--corpus", re_.RUN_FILES]) == 0
    captured = capsys.readouterr()
    assert "snapshot kept of corpus (run files)" in captured.out and not captured.err
    qrels.write_text(qrels.read_text() + "q0 0 extra 1\n")
    assert main(["snapshots", "show", "kept", "--corpus", re_.RUN_FILES]) == 0
    assert "changed since snapshot 'kept'" in capsys.readouterr().err
    # the gate scores both sides with today's labels, and says the labels differ
    assert gate_cli(qrels, run("base.run"), "--against", "kept") == 0
    assert "the labels differ from the snapshot's" in capsys.readouterr().out
