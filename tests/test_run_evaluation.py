"""Run files scored without a corpus equal pytrec_eval (trec_eval) on generated runs with ties,
missing queries, unjudged documents and graded labels, with -c, -M and -l; and the CLI prints them.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import pytrec_eval

from ranklens.cli import main
from ranklens.errors import RankLensError
from ranklens.evaluation import run_evaluation as re_
from ranklens.types import Qrel

# our name -> pytrec_eval's key, for trec_eval's usual summary
TREC_KEYS = {
    "NumRet": "num_ret",
    "NumRel": "num_rel",
    "NumRelRet": "num_rel_ret",
    "MAP": "map",
    "Rprec": "Rprec",
    "Bpref": "bpref",
    "RR": "recip_rank",
    **{f"IPrec@{r / 10:.1f}": f"iprec_at_recall_{r / 10:.2f}" for r in range(11)},
    **{f"P@{k}": f"P_{k}" for k in (5, 10, 15, 20, 30, 100, 200, 500, 1000)},
    "nDCG": "ndcg",
}
PTE_MEASURES = {"num_ret", "num_rel", "num_rel_ret", "map", "Rprec", "bpref", "recip_rank",
                "iprec_at_recall", "P", "ndcg"}  # fmt: skip


def generated(seed: int):
    """qrels (grades 0-3, some queries all 0) and two runs: tied scores, queries the qrels lack,
    qrels queries the runs lack, unjudged documents, 1-40 documents per query."""
    rng = random.Random(seed)
    docs = [f"d{i:03d}" for i in range(60)]
    qrels: dict[str, dict[str, int]] = {}
    for q in range(14):
        judged = rng.sample(docs, rng.randint(1, 15))
        qrels[f"q{q}"] = {d: rng.choice([0, 0, 1, 1, 2, 3]) for d in judged}
    qrels["q_zero"] = {d: 0 for d in rng.sample(docs, 4)}  # judged, nothing relevant
    runs = {}
    for name in ("A", "B"):
        run: dict[str, dict[str, float]] = {}
        for q in [*qrels, "q_unlabelled1", "q_unlabelled2"]:
            if rng.random() < 0.2:
                continue  # a query this run does not answer
            n = rng.randint(1, 40)
            # few distinct scores: many ties, broken by document id (descending) in trec_eval
            run[q] = {d: float(rng.choice([0.5, 1.0, 1.5, 2.0, 2.5])) for d in rng.sample(docs, n)}
        runs[name] = run
    return qrels, runs


def to_qrels(qd: dict[str, dict[str, int]]) -> list[Qrel]:
    return [Qrel(q, d, g) for q, docs in qd.items() for d, g in docs.items()]


def oracle(qrels, run, level=1):
    """pytrec_eval per query (queries in run and qrels), with its own summary aggregation."""
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, PTE_MEASURES, relevance_level=level)
    return evaluator.evaluate(run)


def ours(qrels, runs, options):
    result = re_.evaluate_run_files(runs, to_qrels(qrels), list(re_.TREC_SUMMARY), options)
    table = result.per_query
    per_q = {
        (r, q, m): v
        for r, q, m, v in table[["ranker", "query_id", "measure", "value"]].itertuples(index=False)
    }
    return result, per_q


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_summary_and_per_query_equal_pytrec_eval(seed, level):
    qrels, runs = generated(seed)
    result, per_q = ours(qrels, runs, re_.TrecOptions(relevance_level=level))
    for name, run in runs.items():
        expected = oracle(qrels, run, level)
        evaluated = set(run) & set(qrels)
        assert set(expected) == evaluated
        assert {q for (r, q, _m) in per_q if r == name} == evaluated  # no -c: the intersection
        for ours_name, key in TREC_KEYS.items():
            for q in evaluated:
                assert per_q[(name, q, ours_name)] == pytest.approx(expected[q][key], abs=1e-12), (
                    ours_name,
                    q,
                )
            summary = pytrec_eval.compute_aggregated_measure(
                key, [expected[q][key] for q in expected]
            )
            assert result.summary[name][ours_name] == pytest.approx(summary, abs=1e-12), ours_name


@pytest.mark.parametrize("seed", [0, 3])
def test_complete_averages_over_every_qrels_query(seed):
    qrels, runs = generated(seed)
    result, per_q = ours(qrels, runs, re_.TrecOptions(complete=True))
    for name, run in runs.items():
        expected = oracle(qrels, run)
        missing = set(qrels) - set(run)
        assert missing, "the generator leaves some labelled queries unanswered"
        for ours_name, key in TREC_KEYS.items():
            values = [expected[q][key] for q in expected]
            if key.startswith("num_"):  # trec_eval -c does not evaluate missing queries: sums stay
                want = float(np.sum(values))
            else:  # trec_eval -c: the sum over evaluated queries / the number of qrels queries
                want = float(np.sum(values)) / len(qrels)
            assert result.summary[name][ours_name] == pytest.approx(want, abs=1e-12), ours_name
            for q in missing:
                assert per_q[(name, q, ours_name)] == 0.0


@pytest.mark.parametrize("max_docs", [1, 3, 7])
def test_max_docs_keeps_trec_evals_first_n(max_docs):
    qrels, runs = generated(4)
    result, per_q = ours(qrels, runs, re_.TrecOptions(max_docs=max_docs))
    for name, run in runs.items():
        full = oracle(qrels, run)
        # the oracle's truncation: trec_eval's order written independently (two stable sorts)
        cut = {}
        for q, docs in run.items():
            by_id = sorted(docs.items(), key=lambda kv: kv[0], reverse=True)
            ordered = sorted(by_id, key=lambda kv: kv[1], reverse=True)
            cut[q] = dict(ordered[:max_docs])
        expected = oracle(qrels, cut)
        for q in expected:
            # pytrec_eval's own ranking of the whole run agrees at the cutoff
            assert per_q[(name, q, "P@5")] * 5 == pytest.approx(
                full[q]["P_5"] * 5 if max_docs >= 5 else expected[q]["P_5"] * 5
            )
            assert per_q[(name, q, "NumRet")] == min(max_docs, len(run[q]))
            for ours_name, key in TREC_KEYS.items():
                assert per_q[(name, q, ours_name)] == pytest.approx(expected[q][key], abs=1e-12)


def test_ties_follow_document_id_descending():
    qrels = {"q": {"a": 1, "b": 0}}
    run = {"q": {"a": 1.0, "b": 1.0, "c": 0.5}}
    result, per_q = ours(qrels, {"r": run}, re_.TrecOptions(max_docs=1))
    assert per_q[("r", "q", "NumRelRet")] == 0  # b (the larger id) is first and kept, not a
    assert per_q[("r", "q", "P@5")] == 0.0
    full = oracle(qrels, run)["q"]
    assert full["recip_rank"] == 0.5  # pytrec_eval ranks b above a too
    _, per_full = ours(qrels, {"r": run}, re_.TrecOptions())
    assert per_full[("r", "q", "RR")] == 0.5


def test_relevance_level_leaves_ndcg_and_explicit_rel_alone():
    specs = re_.trec_measures(["nDCG@10", "P(rel=1)@5", "P@5", "NumRet", "NumRelRet"], 2)
    got = {s.name: s.measure for s in specs}
    assert str(got["nDCG@10"]) == "nDCG@10"
    assert str(got["P(rel=1)@5"]) == "P@5"  # typed rel=1 stays 1
    assert str(got["P@5"]) == "P(rel=2)@5"
    assert str(got["NumRet"]) == "NumRet"  # num_ret counts every document
    assert str(got["NumRelRet"]) == "NumRet(rel=2)"


def test_errors_are_clear():
    qrels, runs = generated(0)
    with pytest.raises(RankLensError, match="no query that the qrels label"):
        re_.evaluate_run_files({"x": {"nope": {"d": 1.0}}}, to_qrels(qrels))
    with pytest.raises(RankLensError, match="max-docs"):
        re_.TrecOptions(max_docs=0).check()
    with pytest.raises(RankLensError, match="relevance-level"):
        re_.TrecOptions(relevance_level=0).check()
    with pytest.raises(RankLensError, match="two runs are named"):
        re_.run_names(["a/run.txt", "b/run.txt"])
    assert re_.run_names(["a/run.txt", "b/run.txt"], ["x"]) == ["x", "run.txt"]


def write_files(tmp_path, qrels, runs):
    qpath = tmp_path / "qrels.txt"
    qpath.write_text(
        "".join(f"{q} 0 {d} {g}\n" for q, docs in qrels.items() for d, g in docs.items())
    )
    paths = {}
    for name, run in runs.items():
        p = tmp_path / f"{name}.run"
        lines = []
        for q, docs in run.items():
            for i, (d, s) in enumerate(docs.items(), 1):  # the rank column is ignored
                lines.append(f"{q} Q0 {d} {i} {s} {name}\n")
        p.write_text("".join(lines))
        paths[name] = p
    return qpath, paths


def test_cli_json_equals_pytrec_eval_with_every_option(tmp_path, home, capsys):
    qrels, runs = generated(5)
    qpath, paths = write_files(tmp_path, qrels, runs)
    argv = ["evaluate", "--qrels", str(qpath), "--json", "-c", "-M", "9", "-l", "2"]
    for p in paths.values():
        argv += ["--run", str(p)]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["A.run", "B.run"]
    for name in runs:
        with open(paths[name]) as fh:
            parsed = pytrec_eval.parse_run(fh)
        cut = {q: dict(sorted(sorted(d.items(), reverse=True), key=lambda kv: -kv[1])[:9])
               for q, d in parsed.items()}  # fmt: skip
        expected = oracle(qrels, cut, 2)
        for ours_name, key in TREC_KEYS.items():
            values = [expected[q][key] for q in expected]
            want = float(np.sum(values)) / (1 if key.startswith("num_") else len(qrels))
            assert data[f"{name}.run"][ours_name] == pytest.approx(want, abs=1e-12), ours_name


def test_cli_text_report_and_errors(tmp_path, home, capsys):
    qrels, runs = generated(6)
    qpath, paths = write_files(tmp_path, qrels, runs)
    report = tmp_path / "report.html"
    argv = ["evaluate", "--qrels", str(qpath), "--report", str(report), "--measures", "MAP",
            "nDCG@10", "NumRet", "--name", "prod", "--name", "new"]  # fmt: skip
    for p in paths.values():
        argv += ["--run", str(p)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "prod" in out and "new" in out and "significance on MAP" in out and "Borda" in out
    assert "warning: prod: only" in captured.err and "top-10 results are judged" in captured.err
    html = report.read_text()
    assert "Significance" in html and "Borda" in html and "prod" in html
    # errors: one line, exit 2
    bad = tmp_path / "bad.run"
    bad.write_text("q1 Q0 d1 1 x tag\n")
    assert main(["evaluate", "--run", str(bad), "--qrels", str(qpath)]) == 2
    err = capsys.readouterr().err
    assert "bad.run, line 1" in err and "score must be a number" in err
    assert main(["evaluate", "--run", str(paths["A"])]) == 2
    assert "needs --qrels" in capsys.readouterr().err
    assert main(["evaluate", "--run", str(paths["A"]), "--qrels", str(qpath), "--corpus", "x"]) == 2
    assert "without a corpus" in capsys.readouterr().err
    assert main(["evaluate", "--qrels", str(qpath)]) == 2
    assert "--run FILE" in capsys.readouterr().err
    assert main(["evaluate", "--corpus", "x", "--qrels", str(qpath), "-l", "2", "-c"]) == 2
    assert "--complete, --relevance-level apply to --run files" in capsys.readouterr().err


def test_json_and_csv_runs_give_the_trec_runs_numbers(tmp_path, home, capsys):
    qrels, runs = generated(8)
    qpath, paths = write_files(tmp_path, qrels, runs)
    (tmp_path / "A.json").write_text(json.dumps(runs["A"]))
    csv_lines = ["query_id,doc_id,score"] + [
        f"{q},{d},{s}" for q, docs in runs["A"].items() for d, s in docs.items()
    ]
    (tmp_path / "A.csv").write_text("\n".join(csv_lines) + "\n")
    outputs = []
    for name in ("A.run", "A.json", "A.csv"):
        argv = ["evaluate", "--run", str(tmp_path / name), "--name", "A", "--qrels", str(qpath)]
        assert main([*argv, "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]
