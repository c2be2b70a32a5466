"""What several CLI command groups share about their options: the --queries/--qrels/--labels/
--rule/--level blocks, the judge-against-people block, the settings a command runs under, the
corpus it names (opened lazily), the queries, labels and runs those options resolve to, and the
query ids of a query set."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ranklens.config import Settings, get_settings
from ranklens.corpus.trec_files import read_queries
from ranklens.errors import InputError, RankLensError
from ranklens.evaluation.qrels_sources import LABEL_SOURCES, Labels, NoLabelsError, resolve_labels
from ranklens.types import LEVELS, Query, Run, check_level

if TYPE_CHECKING:  # the index pulls in Chroma, which most commands never need
    from ranklens.corpus.index import Corpus
    from ranklens.judges.judges import VersusPeople
    from ranklens.judging import JudgmentStore

RULE_HELP = (
    "how annotators' labels in the store become qrels: majority (default), mean, max, min, "
    "annotator:NAME (an adjudicated label always wins)"
)


def add_rule_option(p: argparse.ArgumentParser, help: str = RULE_HELP) -> None:
    """--rule: how the store's labels become qrels."""
    p.add_argument("--rule", default="majority", help=help)


def add_level_option(
    p: argparse.ArgumentParser,
    help: str = "doc: a document ranks at its best passage, labels per document (default)",
    default: str = "doc",
) -> None:
    """--level doc|passage ("document" is read as doc, before argparse checks the choice)."""
    p.add_argument("--level", type=_doc_alias, choices=LEVELS, default=default, help=help)


def _doc_alias(value: str) -> str:
    return "doc" if value == "document" else value


def add_labels_options(p: argparse.ArgumentParser) -> None:
    """--queries, --qrels, --labels, --rule and --level: which queries, and which labels judge
    them (a qrels file, the corpus's own, or the judgment store's), at which level."""
    p.add_argument(
        "--queries",
        help="a queries file (JSONL or TSV) or a query set's name; default: the corpus's only set",
    )
    p.add_argument(
        "--qrels",
        help="a qrels file (TREC, BEIR TSV, CSV or JSONL); default: the corpus's own labels, "
        "else the judgment store's",
    )
    p.add_argument(
        "--labels",
        choices=LABEL_SOURCES,
        default="auto",
        help="without --qrels: shipped (the corpus's own), store (judgments), auto (default)",
    )
    add_rule_option(p)
    add_level_option(p)


def add_corpus_options(p: argparse.ArgumentParser, set_required: bool = False) -> None:
    """--corpus NAME and --queries SET: the corpus's query set a command works on
    (`set_required`), or only this query set."""
    p.add_argument("--corpus", required=True)
    if set_required:
        p.add_argument("--queries", required=True, metavar="SET", help="the corpus's query set")
    else:
        p.add_argument("--queries", default=None, metavar="SET", help="only this query set")


def add_without_accepted_option(p: argparse.ArgumentParser) -> None:
    """--without-accepted: leave labels accepted from a model's suggestions out."""
    p.add_argument("--without-accepted", action="store_true", help="leave accepted suggestions out")


def add_versus_people_options(
    p: argparse.ArgumentParser, no_rankers: str = "skip the ranker comparison"
) -> None:
    """--rankers, --no-rankers, --weights, --rule and --level: how a judge's labels are set
    against people's (weighted kappa) and which rankers they re-rank (versus_people_runs)."""
    p.add_argument("--rankers", nargs="+", default=None, help="default: the newest pool's")
    p.add_argument("--no-rankers", action="store_true", help=no_rankers)
    p.add_argument("--weights", choices=("linear", "quadratic", "none"), default="linear")
    add_rule_option(p, help="how annotators' grades combine")
    add_level_option(p, help="doc (default) or passage")


def weights_of(args: argparse.Namespace) -> str | None:
    """Kappa's weights that --weights names (None: unweighted)."""
    return None if args.weights == "none" else args.weights


def versus_people_runs(
    store: JudgmentStore,
    args: argparse.Namespace,
    settings: Settings,
    corpus: Corpus | None = None,
    *,
    default_rankers: bool = False,
) -> dict[str, Run] | None:
    """The runs whose order a judge's labels are checked on (add_versus_people_options): of
    --rankers, else of the query set's newest pool (else, with `default_rankers`, of the corpus's
    default rankers; without, a query set with no pool is an error). None with --no-rankers; the
    corpus (--corpus) is opened only when needed."""
    from ranklens.judging import pooling
    from ranklens.ranking import recipes

    if args.no_rankers:
        return None
    corpus = corpus or open_corpus(args.corpus, settings)
    specs = args.rankers
    if not specs and default_rankers and not store.pools(corpus.name, args.queries):
        specs = recipes.default_rankers(corpus)
    if not specs:
        specs = pooling.latest_pool(store, corpus.name, args.queries).rankers
    return pooling.agreement_runs(corpus, specs, args.queries, level=args.level)


def versus_people(
    store: JudgmentStore, args: argparse.Namespace, settings: Settings, query_ids: set[str] | None
) -> VersusPeople:
    """How judges_vs_people and ensemble_vs_people set judges against people, as the options of
    add_versus_people_options and --without-accepted name it (runs only with --queries)."""
    return {
        "runs": versus_people_runs(store, args, settings) if args.queries else None,
        "rule": args.rule,
        "level": args.level,
        "weights": weights_of(args),
        "query_ids": query_ids,
        "accepted": not args.without_accepted,
    }


def resolve_queries(corpus: Corpus, spec: str | None) -> tuple[str, list[Query]]:
    """(name, queries): a queries file, a query set's name, or the corpus's only query set."""
    sets = corpus.query_sets()
    if spec is None:
        if len(sets) == 1:
            name = next(iter(sets))
            return name, sets[name]
        if not sets:
            raise RankLensError(
                f"corpus {corpus.name!r} has no query set: give --queries FILE (JSONL or TSV)"
            )
        raise RankLensError(
            f"corpus {corpus.name!r} has several query sets ({', '.join(sets)}): choose one with "
            "--queries NAME, or give a file"
        )
    path = Path(spec).expanduser()
    if path.is_file():
        queries = read_queries(path)
        name = path.stem
    elif spec in sets:
        name, queries = spec, sets[spec]
    else:
        raise InputError(
            spec,
            f"no such file, nor a query set of corpus {corpus.name!r} "
            f"(its sets: {', '.join(sets) or 'none'})",
        )
    empty = [q.query_id for q in queries if not q.text.strip()]
    if empty:
        raise InputError(spec, f"empty query text for query id(s) {', '.join(empty[:5])}")
    return name, queries


def labels_from_args(
    corpus: Corpus, args: argparse.Namespace
) -> tuple[str, list[Query], Labels, str]:
    """(query set, queries, labels, level) that add_labels_options's options name."""
    level = check_level(args.level)
    query_set, queries = resolve_queries(corpus, args.queries)
    try:
        labels = resolve_labels(
            corpus,
            query_set,
            queries,
            qrels_file=args.qrels,
            source=args.labels,
            rule=args.rule,
            level=level,
        )
    except NoLabelsError as exc:
        raise NoLabelsError(str(exc).replace("give a qrels file", "give --qrels FILE")) from None
    return query_set, queries, labels, level


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings a command runs under: those a test or caller put on args, else the process's."""
    return getattr(args, "settings", None) or get_settings()


def open_corpus(name: str, settings: Settings) -> Corpus:
    """The corpus (imported lazily: the index pulls in Chroma, which the other commands skip)."""
    from ranklens.corpus.index import open_corpus as open_

    return open_(name, settings)


def query_ids(corpus: str, query_set: str | None, settings: Settings) -> set[str] | None:
    """Query ids of a query set (the corpus owns query sets), or None for all."""
    if query_set is None:
        return None
    sets = open_corpus(corpus, settings).query_sets()
    if query_set not in sets:
        raise RankLensError(
            f"corpus {corpus!r} has no query set {query_set!r}; it has: {', '.join(sets) or 'none'}"
        )
    return {q.query_id for q in sets[query_set]}
