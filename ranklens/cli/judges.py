"""`python -m ranklens judgments suggest --judge llm|cross-encoder [--dry-run N]`, `judgments
prompt` (a corpus's LLM prompt versions) and `judgments judges` (each judge against people).

Thin: every rule is in ranklens.judges.judges / llm / judge_agreement; ranklens.cli.judgments
adds these options and commands to its group.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ranklens.cli import options
from ranklens.cli.common import pairs_progress, print_json
from ranklens.errors import RankLensError
from ranklens.llm import prompt_versions

if TYPE_CHECKING:
    from ranklens.scale import Scale

JUDGES = ("cross-encoder", "llm")


def add_suggest_options(p: argparse.ArgumentParser) -> None:
    """--judge, --dry-run, --prompt-file and --author for `judgments suggest`."""
    p.add_argument("--author", default="cli", help="LLM: who the prompt version is saved by")
    p.add_argument(
        "--judge",
        choices=JUDGES,
        default="cross-encoder",
        help="who suggests: a cross-encoder (default) or an LLM on RANKLENS_LLM_URL with "
        "RANKLENS_LLM_MODEL (key, if any, in RANKLENS_LLM_KEY)",
    )
    p.add_argument(
        "--dry-run",
        type=int,
        nargs="?",
        const=5,
        default=None,
        metavar="N",
        help="show the prompts and replies (LLM) or scores (cross-encoder) of the first N pairs "
        "(default 5) and store nothing",
    )
    p.add_argument(
        "--prompt-file",
        type=Path,
        default=None,
        help="LLM: a prompt template with {query} and {passage}, its reply ending in "
        "'##final score: N' (saved as the corpus's newest prompt version; default: its latest, "
        "else UMBRELA's)",
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        metavar="N",
        help="LLM: the reply limit (default RANKLENS_LLM_MAX_TOKENS, else one that fits the answer)",
    )
    p.add_argument(
        "--structured",
        choices=("auto", "json", "text"),
        default=None,
        help="LLM: auto (JSON schema, the text prompt where refused; default "
        "RANKLENS_LLM_STRUCTURED), json or text",
    )
    p.add_argument(
        "--price",
        default=None,
        metavar="IN[/OUT]",
        help="LLM: dollars per million prompt[/completion] tokens (default RANKLENS_LLM_PRICE): "
        "the dry run estimates the batch's cost, the batch reports what it cost",
    )


def cross_encoder_of(args: argparse.Namespace, scale: Scale) -> tuple[str, list[float]]:
    """(model, score thresholds) of `judgments suggest --judge cross-encoder`: --model, else the
    first installed; --thresholds, else spread over the scale."""
    from ranklens.judging import pooling

    if args.thresholds is not None:
        thresholds = pooling.parse_thresholds(args.thresholds)
    else:
        thresholds = pooling.default_thresholds(scale)
    return args.model or pooling.default_suggestion_model(), thresholds


def _read_prompt(path: Path) -> str:
    """A prompt file's text; a file that cannot be read is a RankLensError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RankLensError(f"{path}: cannot read the prompt ({exc.strerror})") from None


def _llm_judge(store, corpus_name: str, settings, prompt_file: Path | None, args=None):
    from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache
    from ranklens.llm.prompt import Prompt

    if prompt_file is not None:
        prompt = Prompt(_read_prompt(prompt_file))
    else:
        prompt = prompt_versions.current_prompt(store, corpus_name)
    overrides = {}
    if args is not None and getattr(args, "max_tokens", None) is not None:
        overrides["max_tokens"] = args.max_tokens
    if args is not None and getattr(args, "structured", None) is not None:
        overrides["structured"] = args.structured
    config = LLMConfig.from_settings(settings, **overrides)
    return LLMJudge(
        config, store.scale(corpus_name), prompt, cache=ReplyCache.from_settings(settings)
    )


def suggest(args: argparse.Namespace, store, corpus, pool, settings) -> int:
    """The LLM branch of `judgments suggest`, and the dry runs of both judges."""
    from ranklens.judges import judges
    from ranklens.llm.prompt import LLMError
    from ranklens.llm.reports import format_dry_run

    if args.judge == "cross-encoder":  # only the dry run comes here
        model, thresholds = cross_encoder_of(args, store.scale(corpus.name))
        rows = judges.cross_encoder_dry_run(corpus, pool, model, thresholds, args.dry_run)
        if args.json:
            print_json(
                [
                    {
                        "query_id": r.pair.query_id,
                        "passage_id": r.pair.passage_id,
                        "score": r.score,
                        "grade": r.grade,
                    }
                    for r in rows
                ]
            )
        else:
            for r in rows:
                print(
                    f"{r.pair.query_id}\t{r.pair.passage_id}\tscore {r.score:.4g}\tgrade {r.grade}"
                )
            print(f"dry run of {model}: {len(rows)} pairs, nothing stored", file=sys.stderr)
        return 0

    from ranklens.llm import cost as llm_cost

    price = llm_cost.parse_price(args.price if args.price is not None else settings.llm_price)
    with _llm_judge(store, corpus.name, settings, args.prompt_file, args) as judge:
        if args.dry_run is not None:
            pairs = judges.pairs_for(corpus, pool, pool.items[: max(0, args.dry_run)])
            items = judge.dry_run(pairs, args.dry_run)
            pending = judges.pending_llm_items(store, corpus.name, pool, judge)
            est = llm_cost.estimate(judge, judges.pairs_for(corpus, pool, pending), items)
            print(est.text(price), file=sys.stderr)
            if args.json:
                print_json(
                    [
                        {
                            "prompt": it.prompt,
                            "reply": it.judgment.reply,
                            "score": it.judgment.score,
                            "grade": it.judgment.grade,
                            "error": it.judgment.error,
                        }
                        for it in items
                    ]
                )
            else:
                print(format_dry_run(items))
                print(
                    f"dry run of {judge.name} (prompt {judge.prompt.hash}): nothing stored",
                    file=sys.stderr,
                )
            return 0
        bar, update = pairs_progress()
        try:
            report = judges.suggest_llm(
                store, corpus, pool, judge, author=args.author, progress=update
            )
        finally:
            bar.close()
    spent = llm_cost.spent_text(report, price)
    if args.json:
        cost = price.cost(report.prompt_tokens, report.completion_tokens) if price else None
        print_json(
            dict(report.to_dict(), pool=pool.id, cost=cost if report.tokens_reported else None)
        )
    else:
        print(report.summary())
        print(spent)
        for j in report.unparseable:
            reply = " ".join((j.reply or "").split())[:300]
            print(f"  no final score: {j.pair.query_id} {j.pair.passage_id}: {reply!r}")
        for j in report.failed:
            print(f"  failed: {j.pair.query_id} {j.pair.passage_id}: {j.error}")
    if report.gave_up:
        raise LLMError(f"the LLM batch stopped: {report.gave_up}")
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    """Show a corpus's LLM prompt (or every version), or save a file as its newest version."""
    from ranklens.judges import judges
    from ranklens.judging import JudgmentStore
    from ranklens.llm.prompt import Prompt

    settings = options.settings_of(args)
    with JudgmentStore(settings.db_url) as store:
        if args.set is not None:
            prompt = Prompt(_read_prompt(args.set), args.top)
            v = judges.save_prompt(store, args.corpus, prompt, args.author)
            print(f"prompt v{v.version} ({v.prompt_hash}) of corpus {args.corpus!r}")
            return 0
        versions = judges.prompt_versions(store, args.corpus)
        current = prompt_versions.current_prompt(store, args.corpus)
    if args.json:
        print_json([v._asdict() for v in versions])
    elif args.list:
        for v in versions:
            print(f"v{v.version}\t{v.prompt_hash}\t{v.author}\ttop {v.top}")
        if not versions:
            print(f"corpus {args.corpus!r} has no saved prompt; UMBRELA's is used")
    else:
        print(current.text)
    return 0


def cmd_judges(args: argparse.Namespace) -> int:
    """Every judge (cross-encoder, each LLM prompt version) against the humans' final labels."""
    from ranklens.cli import options
    from ranklens.judges import judges
    from ranklens.judging import JudgmentStore

    settings = options.settings_of(args)
    with JudgmentStore(settings.db_url) as store:
        query_ids = options.query_ids(args.corpus, args.queries, settings)
        versus = options.versus_people(store, args, settings, query_ids)
        reports = judges.judges_vs_people(store, args.corpus, **versus)
    if args.json:
        print_json([r.to_dict() for r in reports])
        return 0
    if not reports:
        print(f"corpus {args.corpus!r}: no judge shares a labelled unit with the humans yet")
    for r in reports:
        print(r.summary())
        for c in r.rankers:
            print(
                f"  {c.ranker}: {r.measure} {c.human:.4f} (humans, #{c.human_rank}) -> "
                f"{c.judge:.4f} (judge, #{c.judge_rank})"
            )
        for d in r.disagreements[: args.show]:
            print(f"  {d.query_id} {d.doc_id}: humans {d.human}, judge {d.judge}")
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    """Current labels as JSONL (grade, reason, seconds shown) and time per label."""
    from ranklens.judging import JudgmentStore, timing

    settings = options.settings_of(args)
    with JudgmentStore(settings.db_url) as store:
        query_ids = options.query_ids(args.corpus, args.queries, settings)
        n = timing.export_jsonl(store, args.corpus, args.file, query_ids=query_ids)
        st = timing.time_stats(store, args.corpus, query_ids=query_ids)
    if args.json:
        print_json({k: {n_: s._asdict() for n_, s in v.items()} for k, v in st.items()})
        return 0
    print(f"wrote {n} labels to {args.file}")
    for name, s in st["annotator"].items():
        med = "-" if s.median is None else f"{s.median:.1f} s"
        p90 = "-" if s.p90 is None else f"{s.p90:.1f} s"
        print(f"  {name}: {s.n} timed labels, median {med}, p90 {p90}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """`judgments prompt`, `judgments judges` and `judgments labels`."""

    p = sub.add_parser("prompt", help="show or save a corpus's LLM judge prompt (versions kept)")
    p.add_argument("--corpus", required=True)
    p.add_argument("--set", type=Path, default=None, metavar="FILE", help="save FILE as newest")
    p.add_argument("--top", type=int, default=3, help="the prompt's highest score (default 3)")
    p.add_argument("--author", default="cli", help="who saves it (default 'cli')")
    p.add_argument("--list", action="store_true", help="list the versions")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_prompt)

    p = sub.add_parser(
        "judges",
        help="each judge (cross-encoder, LLM prompt version) against the humans' final labels",
        description="Cohen's kappa, confusion, disagreements widest first and, with --queries, "
        "each ranker's nDCG@10 and Kendall's tau when the judge's labels replace the humans'.",
    )
    options.add_corpus_options(p)
    options.add_versus_people_options(p)
    p.add_argument("--show", type=int, default=10, help="disagreements to list (default 10)")
    options.add_without_accepted_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_judges)

    p = sub.add_parser(
        "labels",
        help="current labels as JSONL with reasons and time per label (median, p90)",
    )
    p.add_argument("file", type=Path, help="where to write the JSONL")
    options.add_corpus_options(p)
    p.add_argument("--json", action="store_true", help="print the time statistics as JSON")
    p.set_defaults(func=cmd_labels)
