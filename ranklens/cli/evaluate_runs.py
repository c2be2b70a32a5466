"""`evaluate --run FILE ... --qrels QRELS`: run files scored without a corpus (trec_eval's numbers),
and the regression gate `--against SNAPSHOT` for both run files and a corpus's rankers.

The rules live in ranklens.evaluation.run_evaluation and ranklens.evaluation.regression_gate; this module reads the
options, prints, and returns the exit code (1 when the gate fails).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import regression_gate as rg
from ranklens.evaluation import run_evaluation as re_
from ranklens.evaluation import snapshots, snapshots_store
from ranklens.files import write_atomic
from ranklens.judging import JudgmentStore
from ranklens.ranking.runfiles import RUN_FORMATS
from ranklens.types import Run

CORPUS_ONLY = ("rankers", "queries", "runs_dir", "condensed")


def _options(args: argparse.Namespace) -> re_.TrecOptions:
    return re_.TrecOptions(
        complete=bool(args.complete),
        max_docs=args.max_docs,
        relevance_level=int(args.relevance_level),
    ).check()


def _check_args(args: argparse.Namespace) -> None:
    if args.corpus:
        raise RankLensError(
            "--run scores run files without a corpus; to put a run beside a corpus's rankers, "
            "import it (runs import FILE --corpus C --name NAME) and name it run:NAME in --rankers"
        )
    for name in CORPUS_ONLY:
        if getattr(args, name, None):
            flag = "--" + name.replace("_", "-")
            raise RankLensError(f"{flag} needs --corpus; it does not apply to --run files")
    if not args.qrels:
        raise RankLensError("evaluating run files needs --qrels FILE")


def check_corpus_args(args: argparse.Namespace) -> None:
    """Refuse the run-file options with --corpus, rather than ignore them."""
    given = [
        flag
        for flag, value in (
            ("--name", args.name),
            ("--format", args.format),
            ("--complete", args.complete),
            ("--max-docs", args.max_docs),
            ("--relevance-level", args.relevance_level != 1),
        )
        if value
    ]
    if given:
        raise RankLensError(
            f"{', '.join(given)} apply to --run files; with --corpus, every labelled query counts "
            "(a missing one as 0), --k sets the depth, and rel=N in a measure's name sets the "
            "relevance level (P(rel=2)@10)"
        )


def _fmt(measure: str, value: float, counting: bool) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.0f}" if counting else f"{value:.4f}"


def _print_table(result: re_.RunFilesEvaluation) -> None:
    """trec_eval's summary, a row per measure and a column per run."""
    names = list(result.summary)
    quality = set(re_.quality_measures(result.measures))
    mw = max([len(m) for m in result.measures] + [7])
    cw = max([len(n) for n in names] + [10])
    print(f"{'measure':<{mw}}  " + "  ".join(f"{n:>{cw}}" for n in names))
    for m in result.measures:
        cells = [_fmt(m, result.summary[n].get(m, math.nan), m not in quality) for n in names]
        print(f"{m:<{mw}}  " + "  ".join(f"{c:>{cw}}" for c in cells))
    o = result.options
    n_q = {
        n: result.per_query.loc[result.per_query["ranker"] == n, "query_id"].nunique()
        for n in names
    }
    counted = ", ".join(f"{n} {k}" for n, k in n_q.items())
    print(
        f"(queries evaluated: {counted}; "
        + (
            "every qrels query, missing ones as 0 (-c)"
            if o.complete
            else "queries in both the run and the qrels"
        )
        + f"; -M {o.max_docs or 'none'}; -l {o.relevance_level}; num_* are sums, the rest means)"
    )


def _print_significance(result: re_.RunFilesEvaluation, sig: dict, test: str) -> None:
    import pandas as pd

    from ranklens.evaluation import stats

    quality = re_.quality_measures(result.measures)
    if not sig or not quality:
        return
    first = quality[0]
    pairs = sig[first]
    print()
    print(f"significance on {first} ({test} test, Holm-corrected across all pairs):")
    with pd.option_context("display.width", 200):
        print(
            pairs[["ranker_a", "ranker_b", "n", "diff", "p", "p_holm", "significant"]].to_string(
                index=False, float_format=lambda v: f"{v:.4f}"
            )
        )
    borda = stats.borda(re_.quality_table(result))
    print()
    print("Borda count over every query and averaged measure:")
    print(borda.to_string(index=False, float_format=lambda v: f"{v:.1f}"))


def _write_report(path: Path, result, sig, args) -> None:
    text = re_.html_report(result, sig, args.test, qrels_name=str(args.qrels))
    write_atomic(path, text)


def _check_free(name: str, replace: bool) -> None:
    with JudgmentStore.from_settings() as store:
        snapshots_store.check_free(
            store, re_.RUN_FILES, name, replace, how="add --replace-snapshot"
        )


def cmd_evaluate_runs(args: argparse.Namespace) -> int:
    """Score run files against a qrels file; print (or --json) trec_eval's summary values."""
    _check_args(args)
    options = _options(args)
    measures = list(args.measures or re_.TREC_SUMMARY)
    re_.trec_measures(measures, options.relevance_level)  # bad names fail before any reading
    gate_measure = None
    if args.against:
        rg.check_fail_on(args.fail_on)
        gate_measure = ev.parse_measures([args.measure])[0].name
    if args.snapshot:
        _check_free(args.snapshot, args.replace_snapshot)
    qrels = re_.check_qrels_file(args.qrels)
    runs = re_.read_runs(args.run, args.name, args.format)
    names = list(runs)
    files = {n: str(p) for n, p in zip(names, args.run, strict=True)}
    result = re_.evaluate_run_files(runs, qrels, measures, options, files)
    sig = re_.significance(result, args.test, args.seed) if (args.report or not args.json) else {}
    for warning in ev.judged_warnings(re_.judged(result)):
        print(f"warning: {warning}", file=sys.stderr)
    if args.snapshot:
        snap = re_.make_snapshot(
            args.snapshot, result, str(Path(args.qrels).expanduser().resolve())
        )
        with JudgmentStore.from_settings() as store:
            snapshots_store.save(store, snap, replace=bool(args.replace_snapshot))
        print(f"saved snapshot {snap.name!r} of run files", file=sys.stderr)
    if args.report:
        target = Path(args.report).expanduser()
        try:
            _write_report(target, result, sig, args)
        except OSError as exc:
            raise RankLensError(f"cannot write: {exc}") from None
        print(f"wrote {target}", file=sys.stderr)
    gate = None
    if args.against:
        with JudgmentStore.from_settings() as store:
            snap = snapshots_store.load(store, re_.RUN_FILES, args.against)
        then, now, notes = re_.gate_tables(result, snap, gate_measure)
        gate = rg.gate(
            then, now, gate_measure, snap.name, args.fail_on, args.test, args.alpha, args.seed
        )
        gate.notes.extend(notes)
    if args.json:
        data: dict = {"mean": result.summary}
        if args.per_query:
            data["per_query"] = ev.nested_per_query(result.per_query)
        if gate is not None:
            data["gate"] = gate.as_dict()
        print(
            json.dumps(
                data if (args.per_query or gate) else result.summary, indent=2, ensure_ascii=False
            )
        )
    else:
        _print_table(result)
        _print_significance(result, sig, args.test)
        if args.per_query:
            print()
            print(result.per_query.to_string(index=False))
        if gate is not None:
            print()
            print("\n".join(rg.report_lines(gate, args.show)))
    return 1 if gate is not None and gate.failed else 0


def corpus_gate(
    args: argparse.Namespace,
    corpus,
    query_set: str,
    runs: dict[str, Run],
    qrels: list,
    level: str,
) -> rg.GateResult:
    """`evaluate --corpus C ... --against SNAPSHOT`: today's runs against the snapshot's, both
    scored on --measure with today's labels (ranklens.evaluation.measures: every labelled query counts)."""
    rg.check_fail_on(args.fail_on)
    measure = ev.parse_measures([args.measure])[0].name
    with JudgmentStore.from_settings(corpus.settings) as store:
        snap = snapshots_store.load(store, corpus.name, args.against)
    if snap.query_set != query_set:
        raise RankLensError(
            f"snapshot {snap.name!r} evaluated query set {snap.query_set!r}, not {query_set!r}: "
            "give --queries " + snap.query_set
        )
    if snap.level != level:
        raise RankLensError(
            f"snapshot {snap.name!r} was evaluated at level {snap.level}, now {level}: "
            f"give --level {snap.level}"
        )
    now = ev.evaluate_runs(runs, qrels, [measure], level, bool(args.condensed))
    then = ev.evaluate_runs(snap.runs, qrels, [measure], level, bool(args.condensed))
    result = rg.gate(then, now, measure, snap.name, args.fail_on, args.test, args.alpha, args.seed)
    if snapshots.labels_hash(qrels) != snap.labels_hash:
        result.notes.append(
            "the labels differ from the snapshot's: both sides are scored with today's labels"
        )
    saved = snap.manifest.get("settings", {})
    if "k" in saved and saved["k"] != args.k:
        result.notes.append(f"the snapshot ranked to k={saved['k']}, now k={args.k}")
    return result


def add_options(p: argparse.ArgumentParser) -> None:
    """`evaluate`'s options for run files (trec_eval's -c, -M, -l) and for the gate."""
    g = p.add_argument_group("run files, without a corpus (trec_eval's numbers)")
    g.add_argument(
        "--run",
        action="append",
        metavar="FILE",
        help="a run file (TREC six columns, ranx JSON or CSV); repeat for several runs",
    )
    g.add_argument(
        "--name",
        action="append",
        metavar="NAME",
        help="a run's name, in the order of --run (default: the file's name)",
    )
    g.add_argument(
        "--format", choices=RUN_FORMATS, help="the runs' format (default: from each file)"
    )
    g.add_argument(
        "--complete",
        "-c",
        action="store_true",
        help="average over every query of the qrels, missing ones as 0 (trec_eval -c)",
    )
    g.add_argument(
        "--max-docs",
        "-M",
        type=int,
        metavar="N",
        help="at most N documents per query, in trec_eval's order (trec_eval -M)",
    )
    g.add_argument(
        "--relevance-level",
        "-l",
        type=int,
        default=1,
        metavar="L",
        help="the lowest grade that counts as relevant for binary measures (-l)",
    )
    r = p.add_argument_group("regression gate")
    r.add_argument(
        "--against",
        metavar="SNAPSHOT",
        help="compare each ranker with the one of the same name in this snapshot; "
        "exit 1 when it got worse",
    )
    r.add_argument("--measure", default="nDCG@10", help="the gate's measure (default nDCG@10)")
    r.add_argument(
        "--fail-on",
        choices=rg.FAIL_ON,
        default="worse",
        help="worse: any drop of the mean fails; significant: only a drop with a "
        "Holm-corrected p below --alpha",
    )
    r.add_argument("--alpha", type=float, default=0.05, help="the gate's significance level")
    r.add_argument(
        "--show",
        type=int,
        default=10,
        help="changed queries listed per ranker and direction (default 10)",
    )
