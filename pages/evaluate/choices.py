"""Evaluate page: the choices at the top (query set, rankers, measures, labels, test) as a Setup.

A Setup holds everything the numbers depend on, and its cache keys; nothing here computes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from components import auth, resources, safe, state, upload_widget
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.evaluation import measures as ev
from ranklens.ranking import rankers as rk
from ranklens.ranking import recipes
from ranklens.ranking.recipes import available_rankers, default_rankers

STORE, SHIPPED, UPLOAD = "store", "shipped", "upload"  # the first two: labels.LABEL_SOURCES
LABEL_SOURCE_NAMES = {
    STORE: "Judgment store",
    SHIPPED: "Shipped with the corpus",
    UPLOAD: "Upload a qrels file",
}
MEASURE_CHOICES = (
    "nDCG@10",
    "P@10",
    "R@100",
    "AP",
    "RR",
    "nDCG@100",
    "P@5",
    "R@10",
    "Judged@10",
    "P(rel=2)@10",
    "nDCG@5",
)
DEFAULT_MEASURES = ["nDCG@10", "P@10", "R@100", "AP", "RR"]
CURVE_BASES = ("nDCG", "P", "R", "AP", "Judged", "P(rel=2)")
TESTS = {"randomization": "Paired randomization (seeded, 10,000)", "t": "Paired t-test"}
N_PERMUTATIONS = 10_000
SEED = 0
JUDGED_K = 10
JUDGED_THRESHOLD = 0.8


@dataclass(frozen=True)
class Setup:
    """Everything the numbers depend on; ``run_key`` and ``key`` are the cache keys."""

    corpus: str
    stamp: str  # changes when the corpus, its indexes or the query set change
    query_set: str
    rankers: tuple[str, ...]
    measures: tuple[str, ...]
    k: int
    level: str
    labels: str  # STORE, SHIPPED or UPLOAD
    rule: str
    labels_version: str  # changes when the labels change
    condensed: bool
    test: str
    alpha: float
    accepted: bool = True  # store labels: with those accepted from a model's suggestions

    @property
    def run_key(self) -> tuple:
        return (self.corpus, self.stamp, self.query_set, self.rankers, self.k, self.level)

    @property
    def key(self) -> tuple:
        return (*self.run_key, self.labels, self.rule, self.labels_version, self.accepted)


def escape_markdown(text: str) -> str:
    """Text shown literally inside Markdown (ids and recipes may hold * _ | and brackets)."""
    return safe.md(text)


def keep_valid(key: str, options: list, default: list) -> None:
    """Drop stale choices (another corpus) from a multiselect's state before it is drawn."""
    current = st.session_state.get(key)
    if current is None:
        st.session_state[key] = default
    else:
        kept = [v for v in current if v in options]
        st.session_state[key] = kept if kept or not current else default


def typed_recipes(corpus: Corpus, offered: list[str]) -> list[str]:
    """Recipes typed into the Rankers box (or added by Tune): kept as options under their
    canonical names; one that is not a recipe is said, not silently dropped."""
    chosen = list(st.session_state.get(state.EVAL_RANKERS) or [])
    out, kept = [], []
    for spec in chosen:
        if spec in offered:
            kept.append(spec)
            continue
        try:
            name = recipes.make_ranker(spec, corpus, resources.encoder, resources.reranker).name
        except RankLensError as exc:
            st.error(safe.error(f"ranker {spec!r} left out: {exc}"))
            continue
        out.append(name)
        kept.append(name)
    if kept != chosen:
        st.session_state[state.EVAL_RANKERS] = list(dict.fromkeys(kept))
    return [n for n in dict.fromkeys(out) if n not in offered]


def keep_one(key: str, options: list, default) -> None:
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def choose(corpus: Corpus) -> Setup | None:
    """The choices at the top of the page; None (with a message) when nothing can be evaluated."""
    sets = corpus.query_sets()
    if not sets:
        st.info(
            f"Corpus **{corpus.name}** has no query set yet. Add one (a TSV or JSONL of queries) "
            "on the Search page, or ingest a BEIR folder, which brings its own."
        )
        return None
    shipped = corpus.shipped_qrels()
    box = st.container(border=True)
    c1, c2, c3 = box.columns([1, 2, 2])
    names = list(sets)
    labelled = [n for n in names if n in shipped]  # a set with its own labels opens first
    keep_one(state.QUERY_SET, names, (labelled or names)[0])
    query_set = c1.selectbox(
        "Query set",
        names,
        key=state.QUERY_SET,
        format_func=lambda n: f"{n} ({len(sets[n])} queries)",
    )
    offered = available_rankers(corpus)
    offered += typed_recipes(corpus, offered)  # a typed recipe stays until it is removed
    keep_valid(state.EVAL_RANKERS, offered, default_rankers(corpus))
    chosen_rankers = c2.multiselect(
        "Rankers",
        offered,
        key=state.EVAL_RANKERS,
        accept_new_options=True,
        help="Pick from the corpus's indexes and recipes, or type one: rrf(A,B), "
        "wsum(A:0.3,B:0.7), rerank(A,ms-marco-MiniLM-L-12-v2,50).",
    )
    options = list(
        dict.fromkeys([*MEASURE_CHOICES, *st.session_state.get(state.EVAL_MEASURES, [])])
    )
    if state.EVAL_MEASURES not in st.session_state:
        st.session_state[state.EVAL_MEASURES] = DEFAULT_MEASURES
    chosen_measures = c3.multiselect(
        "Measures",
        options,
        key=state.EVAL_MEASURES,
        accept_new_options=True,
        help="ir_measures names: nDCG@k, P@k, R@k, AP, RR, Judged@k, P(rel=2)@k, … "
        "(type one to add it).",
    )
    c4, c5, c6, c7 = box.columns([2, 1, 1, 2])
    sources = [SHIPPED] if query_set in shipped else []
    sources += [STORE, UPLOAD]
    keep_one(state.EVAL_LABELS, sources, sources[0])
    source = c4.radio(
        "Labels",
        sources,
        key=state.EVAL_LABELS,
        format_func=LABEL_SOURCE_NAMES.get,
        horizontal=True,
    )
    rule = "majority"
    accepted = True
    if source == STORE:
        store = resources.judgment_store()
        rules = ["majority", "mean", "max", "min"]
        if auth.is_admin():  # team mode, blind judging: one annotator's labels are for admins
            rules += [f"annotator:{a}" for a in store.annotators(corpus.name)]
        keep_one(state.EVAL_RULE, rules, "majority")
        rule = c4.selectbox(
            "How annotators' labels become qrels",
            rules,
            key=state.EVAL_RULE,
            help="An adjudicated label always wins; otherwise majority (a tie falls to the "
            "rounded mean), the rounded mean, the highest or lowest grade, or one annotator.",
        )
        accepted = c4.toggle(
            "Include accepted suggestions",
            value=True,
            key=state.EVAL_ACCEPTED,
            help="Labels people accepted from a model's suggestions (Judge page, Review).",
        )
    k = int(c5.number_input("k (depth)", 1, rk.MAX_K, value=100, step=10, key=state.EVAL_K))
    level = c6.radio(
        "Level",
        list(ev.LEVELS),
        key=state.EVAL_LEVEL,
        format_func={"doc": "documents", "passage": "passages"}.get,
        help="documents: a document ranks at its best passage and labels are per document.",
    )
    test = c7.radio("Significance test", list(TESTS), key=state.EVAL_TEST, format_func=TESTS.get)
    alpha = float(
        c7.number_input(
            "alpha (Holm-corrected)", 0.001, 0.5, value=0.05, step=0.01, key=state.EVAL_ALPHA
        )
    )
    if not chosen_rankers:
        st.info("Choose at least one ranker.")
        return None
    if not chosen_measures:
        st.info("Choose at least one measure.")
        return None
    try:
        specs = ev.parse_measures(chosen_measures)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return None
    stamp = corpus.version()
    if source == STORE:
        version = f"events:{resources.judgment_store().count_events(corpus.name)}"
    elif source == SHIPPED:
        version = f"shipped:{stamp}"
    else:
        upload = upload_widget.file_uploader(
            "Qrels file (TREC 'qid 0 docid grade', BEIR TSV, CSV or JSONL)",
            key=state.EVAL_UPLOAD,
            where=box,
        )
        if upload is None:
            st.info("Upload a qrels file to evaluate against it.")
            return None
        version = "upload:" + hashlib.sha1(upload.getvalue()).hexdigest()
    return Setup(
        corpus=corpus.name,
        stamp=stamp,
        query_set=query_set,
        rankers=tuple(dict.fromkeys("".join(r.split()) for r in chosen_rankers)),
        measures=tuple(s.name for s in specs),
        k=k,
        level=level,
        labels=source,
        rule=rule,
        labels_version=version,
        condensed=bool(st.session_state.get(state.EVAL_CONDENSED, False)),
        test=test,
        alpha=alpha,
        accepted=accepted,
    )


def no_labels_message(setup: Setup) -> None:
    st.info(
        f"No labels yet for the queries of **{setup.query_set}** in corpus **{setup.corpus}**, "
        "so there is nothing to evaluate.\n\n"
        "How to get labels:\n"
        "- **Judge** results on the *Judge* page (pooled, blind judging), or label hits inline "
        "on the *Search* page;\n"
        "- **import** a qrels file into the judgment store: `python -m ranklens judgments "
        f"import FILE --corpus {setup.corpus}` (TREC, BEIR TSV, CSV or JSONL);\n"
        "- or choose *Upload a qrels file* under Labels above to evaluate against a file "
        "without storing it."
    )
