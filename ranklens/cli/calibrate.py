"""`python -m ranklens judgments calibrate` (an LLM judge calibrated on the team's labels, measured
on held-out queries), `judgments ensemble` (judges combined, against people) and `judgments
review` (suggestions to review, accepted in bulk with their provenance).

Thin: every rule is in ranklens.judges.calibration / ensembles / review; ranklens.cli.judgments
adds these commands to its group.
"""

from __future__ import annotations

import argparse

from ranklens.cli import options
from ranklens.cli.common import pairs_progress, print_json
from ranklens.errors import RankLensError


def _prompts(store, corpus: str, chosen: list[str] | None):
    """(name, Prompt) for each --prompt (a version number like 2 or v2, a hash, or 'umbrela')."""
    from ranklens.judges import judges
    from ranklens.judges.calibration import default_prompt
    from ranklens.llm.prompt import Prompt

    if not chosen:
        return [default_prompt(store, corpus)]
    versions = judges.prompt_versions(store, corpus)
    out = []
    for c in chosen:
        if c.lower() in ("umbrela", "umbrela's"):
            out.append(("UMBRELA's", Prompt()))
            continue
        found = [v for v in versions if c.lstrip("v") == str(v.version) or c == v.prompt_hash]
        if not found:
            listed = ", ".join(f"v{v.version} ({v.prompt_hash})" for v in versions) or "none"
            raise RankLensError(
                f"corpus {corpus!r} has no prompt version {c!r}; it has: {listed} (or 'umbrela')"
            )
        out.append((f"v{found[0].version}", found[0].prompt))
    return out


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibrate the LLM judge on the query set's labelled queries; report on held-out ones."""
    from ranklens.judges.calibration import calibrate, use_calibration
    from ranklens.judging import JudgmentStore
    from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache

    settings = options.settings_of(args)
    corpus = options.open_corpus(args.corpus, settings)
    config = LLMConfig.from_settings(settings)
    cache = ReplyCache.from_settings(settings)
    with JudgmentStore(settings.db_url) as store:
        scale = store.scale(corpus.name)
        prompts = _prompts(store, corpus.name, args.prompt)  # a wrong version fails first
        runs = options.versus_people_runs(store, args, settings, corpus, default_rankers=True)
        bar, update = pairs_progress()
        try:
            report = calibrate(
                store,
                corpus,
                args.queries,
                lambda prompt: LLMJudge(config, scale, prompt, cache=cache),
                prompts=prompts,
                examples=args.examples,
                seed=args.seed,
                fraction=args.fraction,
                token_budget=args.token_budget,
                runs=runs,
                rule=args.rule,
                weights=options.weights_of(args),
                level=args.level,
                author=args.author,
                resamples=args.resamples,
                progress=update,
            )
        finally:
            bar.close()
        used = (
            [use_calibration(store, corpus.name, i, args.author) for i in report.calibration_ids]
            if args.use
            else []
        )
    if args.json:
        data = report.to_dict()
        data["used_prompt_versions"] = [v.version for v in used]
        print_json(data)
    else:
        print(report.summary())
        for ex in report.examples:
            reason = f" ({ex.reason})" if ex.reason else ""
            print(f"  example: {ex.query_id} {ex.passage_id or ex.doc_id} grade {ex.grade}{reason}")
        print(f"recorded as calibration {', '.join(map(str, report.calibration_ids))}")
        for v in used:
            print(f"the calibrated prompt is now prompt v{v.version} ({v.prompt_hash})")
    return 0 if all(a.gave_up is None for a in report.arms) else 2


def cmd_ensemble(args: argparse.Namespace) -> int:
    """Two or more judges combined by majority or mean, each and the ensemble against people."""
    from ranklens.judges import judges
    from ranklens.judges.ensembles import ensemble_vs_people
    from ranklens.judging import JudgmentStore

    settings = options.settings_of(args)
    with JudgmentStore(settings.db_url) as store:
        query_ids = options.query_ids(args.corpus, args.queries, settings)
        if not args.judges:
            names = list(judges.judge_labels(store, args.corpus, query_ids=query_ids))
            print("\n".join(names) if names else f"corpus {args.corpus!r} has no judge yet")
            return 0
        versus = options.versus_people(store, args, settings, query_ids)
        reports = ensemble_vs_people(
            store, args.corpus, args.judges, args.how, quorum=args.quorum, **versus
        )
    if args.json:
        print_json([r.to_dict() for r in reports])
    else:
        for r in reports:
            print(r.summary())
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Suggestions to review (filtered, sorted); --accept makes the shown ones your labels."""
    from ranklens.judges import review
    from ranklens.judging import JudgmentStore

    settings = options.settings_of(args)
    with JudgmentStore(settings.db_url) as store:
        query_ids = options.query_ids(args.corpus, args.queries, settings)
        rows = review.review_rows(store, args.corpus, annotator=args.annotator, query_ids=query_ids)
        rows = review.filter_rows(
            rows,
            judges=args.judge or None,
            grades=args.grade or None,
            min_disagreement=args.min_disagreement,
            unlabelled_only=args.unlabelled,
        )
        rows = review.sort_rows(rows, args.sort, descending=not args.ascending)[: args.limit]
        result = None
        if args.accept:
            result = review.accept_rows(
                store, args.corpus, args.annotator, rows, query_set=args.queries
            )
    if args.json:
        print_json(
            {
                "rows": [{k: v for k, v in r._asdict().items() if k != "suggestion"} for r in rows],
                "accepted": None if result is None else len(result.accepted),
                "skipped": None if result is None else result.skipped,
            }
        )
        return 0
    for r in rows:
        ce = "-" if r.cross_encoder is None else f"{r.cross_encoder:.3g}"
        mine = "-" if r.mine is None else str(r.mine)
        print(
            f"{r.query_id}\t{r.passage_id or r.doc_id}\t{r.judge}\tgrade {r.grade}\t"
            f"disagreement {r.disagreement}\tcross-encoder {ce}\tyours {mine}"
        )
    if result is not None:
        print(
            f"accepted {len(result.accepted)} suggestions as {args.annotator}'s labels; "
            f"{result.skipped} pairs you had labelled were kept"
        )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`judgments calibrate`, `judgments ensemble` and `judgments review`."""
    from ranklens.judges.calibration import (
        BOOTSTRAP_RESAMPLES,
        DEFAULT_EXAMPLES,
        DEFAULT_FRACTION,
        DEFAULT_TOKEN_BUDGET,
    )
    from ranklens.judges.ensembles import HOW
    from ranklens.judges.review import SORTS

    p = sub.add_parser(
        "calibrate",
        help="calibrate an LLM judge on the team's labels and measure it on held-out queries",
        description="Split the query set's labelled queries (seeded, by query) into calibration "
        "and held-out queries, take few-shot examples (stratified by grade, with the people's "
        "reasons) from the calibration queries, and judge the held-out pairs without and with "
        "them: weighted kappa with a bootstrap 95%% interval, confusion, Kendall's tau of the "
        "rankers by nDCG@10, unparseable replies, tokens. The calibration is recorded.",
    )
    p.add_argument("--judge", choices=("llm",), required=True, help="only an LLM judge (for now)")
    options.add_corpus_options(p, set_required=True)
    p.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, metavar="N")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument(
        "--fraction",
        type=float,
        default=DEFAULT_FRACTION,
        help=f"share of the labelled queries that calibrate (default {DEFAULT_FRACTION})",
    )
    p.add_argument(
        "--token-budget",
        type=int,
        default=DEFAULT_TOKEN_BUDGET,
        help=f"estimated tokens the examples may take (default {DEFAULT_TOKEN_BUDGET})",
    )
    p.add_argument(
        "--prompt",
        nargs="+",
        default=None,
        metavar="VERSION",
        help="prompt versions to calibrate (2, v2, a hash, or umbrela; default: the latest)",
    )
    p.add_argument(
        "--resamples",
        type=int,
        default=BOOTSTRAP_RESAMPLES,
        help=f"bootstrap resamples for kappa's interval (default {BOOTSTRAP_RESAMPLES})",
    )
    options.add_versus_people_options(p, no_rankers="skip Kendall's tau of rankers")
    p.add_argument(
        "--use",
        action="store_true",
        help="save the calibrated prompt as the corpus's newest prompt version",
    )
    p.add_argument("--author", default="cli", help="who the calibration is recorded by")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser(
        "ensemble",
        help="combine two or more judges by majority or mean; each and the ensemble vs people",
        description="Without --judges: list the corpus's judges (names to pass).",
    )
    options.add_corpus_options(p)
    p.add_argument("--judges", nargs="+", default=None, metavar="JUDGE")
    p.add_argument("--how", choices=HOW, default="majority")
    p.add_argument(
        "--quorum", type=int, default=None, help="judges a pair needs (default: all of them)"
    )
    options.add_versus_people_options(p)
    options.add_without_accepted_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ensemble)

    p = sub.add_parser(
        "review",
        help="suggestions to review, filtered and sorted; --accept makes them your labels",
        description="One row per (pair, judge) with the judges' disagreement, the "
        "cross-encoder's score and your own label. --accept stores the shown suggestions as "
        "your labels (pairs you labelled are kept), each saying which judge and prompt it came "
        "from.",
    )
    options.add_corpus_options(p)
    p.add_argument("--annotator", required=True, help="who reviews (and accepts)")
    p.add_argument("--judge", nargs="+", default=None, help="only these judges")
    p.add_argument("--grade", nargs="+", type=int, default=None, help="only these grades")
    p.add_argument("--min-disagreement", type=int, default=0)
    p.add_argument("--unlabelled", action="store_true", help="only pairs you have not labelled")
    p.add_argument("--sort", choices=SORTS, default="disagreement")
    p.add_argument("--ascending", action="store_true")
    p.add_argument("--limit", type=int, default=None, help="at most N rows")
    p.add_argument("--accept", action="store_true", help="accept every row shown")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_review)
