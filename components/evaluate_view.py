"""Evaluate page pieces: the choices, cached runs and labels, and every section of the dashboard.

Numbers come from ranklens.evaluate and figures from ranklens.report; this module caches and shows.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from components import resources, state
from ranklens import evaluate as ev
from ranklens import rankers as rk
from ranklens import report, stats
from ranklens.errors import RankLensError
from ranklens.explain import explain_measure
from ranklens.formats import read_qrels
from ranklens.index import Corpus
from ranklens.types import Qrel, Query, Run, doc_level

STORE, SHIPPED, UPLOAD = "store", "shipped", "upload"
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

    @property
    def run_key(self) -> tuple:
        return (self.corpus, self.stamp, self.query_set, self.rankers, self.k, self.level)

    @property
    def key(self) -> tuple:
        return (*self.run_key, self.labels, self.rule, self.labels_version)


# ------------------------------------------------------------------ cached data


def corpus_stamp(corpus: Corpus, query_set: str) -> str:
    """A fingerprint of the corpus, its indexes and the query set file (cheap: two stats)."""
    m = corpus.manifest
    qfile = corpus.dir / "queries" / f"{query_set}.jsonl"
    mtime = qfile.stat().st_mtime_ns if qfile.exists() else 0
    raw = json.dumps(
        [str(corpus.dir), m.get("fingerprint"), m.get("indexes"), mtime], sort_keys=True
    )
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


@st.cache_data(show_spinner=False, max_entries=16)
def queries_of(corpus_name: str, stamp: str, query_set: str) -> list[Query]:
    return resources.open_corpus(corpus_name).query_sets().get(query_set, [])


@st.cache_data(show_spinner=False, max_entries=128)
def cached_run(
    corpus_name: str, stamp: str, query_set: str, ranker: str, k: int, level: str = "passage"
) -> Run:
    """One ranker's run over the whole query set (labels do not change it).

    At level "doc": k documents per query, passages ranked deeper to find them.
    """
    corpus = resources.open_corpus(corpus_name)
    queries = [q for q in queries_of(corpus_name, stamp, query_set) if q.text.strip()]
    r = rk.make_ranker(
        ranker, corpus, load_encoder=resources.encoder, load_reranker=resources.reranker
    )
    per_doc = rk.passages_per_doc(corpus)
    return rk.rank_all([r], queries, k, level=level, passages_per_doc=per_doc).runs[r.name]


def runs_for(setup: Setup) -> dict[str, Run]:
    out = {}
    for name in setup.rankers:
        with st.spinner(f"Ranking {setup.query_set} with {name}…"):
            run = cached_run(setup.corpus, setup.stamp, setup.query_set, name, setup.k, setup.level)
        out[name] = run
    return out


@st.cache_data(show_spinner=False, max_entries=32)
def store_qrels(
    url: str, corpus: str, rule: str, level: str, version: str, query_ids: tuple[str, ...]
) -> list[Qrel]:
    """Final qrels from the judgment store; ``url`` and ``version`` are cache keys."""
    return resources.judgment_store().final_qrels(
        corpus, rule=rule, level=level, query_ids=set(query_ids)
    )


@st.cache_data(show_spinner=False, max_entries=8)
def parse_qrels_upload(data: bytes, name: str) -> list[Qrel]:
    """Qrels from an uploaded file (format detected as for the CLI); errors name the line."""
    suffix = Path(name).suffix or ".txt"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            return [q for _, q in read_qrels(path)]
        except RankLensError as exc:
            raise RankLensError(str(exc).replace(str(path), name)) from None


@st.cache_data(show_spinner=False, max_entries=32)
def evaluation(key: tuple, measures: tuple, _runs: dict, _qrels: list) -> dict:
    """Per-query values with plain and condensed lists, and Judged@10 per ranker."""
    level = key[5]
    return {
        "plain": ev.evaluate_runs(_runs, _qrels, list(measures), level, False),
        "condensed": ev.evaluate_runs(_runs, _qrels, list(measures), level, True),
        "judged": ev.judged_fraction(_runs, _qrels, JUDGED_K, level),
    }


@st.cache_data(show_spinner="Testing significance…", max_entries=32)
def significance(
    key: tuple, measures: tuple, condensed: bool, test: str, alpha: float, _per_query
) -> dict[str, pd.DataFrame]:
    return {
        m: stats.pairwise_significance(_per_query, m, test, alpha, N_PERMUTATIONS, SEED)
        for m in measures
    }


@st.cache_data(show_spinner="Computing metric@k…", max_entries=32)
def curve(key: tuple, base: str, kmax: int, condensed: bool, _runs, _qrels) -> pd.DataFrame:
    return ev.metric_at_k_curve(_runs, _qrels, base, range(1, kmax + 1), key[5], condensed)


@st.cache_data(show_spinner="Subsampling the labels…", max_entries=32)
def discriminative(
    key: tuple,
    measure: str,
    unit: str,
    fraction: float,
    repeats: int,
    test: str,
    alpha: float,
    condensed: bool,
    _runs,
    _qrels,
) -> stats.DiscriminativePower:
    return stats.discriminative_power(
        _runs,
        _qrels,
        measure,
        fraction=fraction,
        repeats=repeats,
        seed=SEED,
        unit=unit,
        test=test,
        alpha=alpha,
        n_permutations=N_PERMUTATIONS,
        level=key[5],
        condensed=condensed,
    )


# ------------------------------------------------------------------ choices


def _keep_valid(key: str, options: list, default: list) -> None:
    """Drop stale choices (another corpus) from a multiselect's state before it is drawn."""
    current = st.session_state.get(key)
    if current is None:
        st.session_state[key] = default
    else:
        kept = [v for v in current if v in options]
        st.session_state[key] = kept if kept or not current else default


def _keep_one(key: str, options: list, default) -> None:
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
    _keep_one(state.QUERY_SET, names, names[0])
    query_set = c1.selectbox(
        "Query set",
        names,
        key=state.QUERY_SET,
        format_func=lambda n: f"{n} ({len(sets[n])} queries)",
    )
    offered = rk.available_rankers(corpus)
    _keep_valid(state.EVAL_RANKERS, offered, corpus.models()[:4])
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
    _keep_one(state.EVAL_LABELS, sources, sources[0])
    source = c4.radio(
        "Labels",
        sources,
        key=state.EVAL_LABELS,
        format_func=LABEL_SOURCE_NAMES.get,
        horizontal=True,
    )
    rule = "majority"
    if source == STORE:
        store = resources.judgment_store()
        rules = ["majority", "mean", "max", "min"]
        rules += [f"annotator:{a}" for a in store.annotators(corpus.name)]
        _keep_one(state.EVAL_RULE, rules, "majority")
        rule = c4.selectbox(
            "How annotators' labels become qrels",
            rules,
            key=state.EVAL_RULE,
            help="An adjudicated label always wins; otherwise majority (a tie falls to the "
            "rounded mean), the rounded mean, the highest or lowest grade, or one annotator.",
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
        st.error(str(exc))
        return None
    stamp = corpus_stamp(corpus, query_set)
    if source == STORE:
        version = f"events:{resources.judgment_store().count_events(corpus.name)}"
    elif source == SHIPPED:
        version = f"shipped:{stamp}"
    else:
        upload = box.file_uploader(
            "Qrels file (TREC 'qid 0 docid grade', BEIR TSV, CSV or JSONL)",
            key=state.EVAL_UPLOAD,
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
    )


def load_labels(setup: Setup, corpus: Corpus, queries: list[Query]) -> tuple[list[Qrel], str]:
    """The qrels of the query set's queries and a description of where they came from."""
    ids = tuple(q.query_id for q in queries)
    if setup.labels == STORE:
        url = resources.settings().db_url
        qrels = store_qrels(url, setup.corpus, setup.rule, setup.level, setup.labels_version, ids)
        origin = f"judgment store, rule {setup.rule}"
    elif setup.labels == SHIPPED:
        qrels = corpus.shipped_qrels().get(setup.query_set, [])
        origin = "shipped with the corpus"
    else:
        upload = st.session_state[state.EVAL_UPLOAD]
        qrels = parse_qrels_upload(upload.getvalue(), upload.name)
        origin = f"uploaded file {upload.name}"
    wanted = set(ids)
    return [q for q in qrels if q.query_id in wanted], origin


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


# ------------------------------------------------------------------ sections


def judged_panel(judged: dict[str, float]) -> None:
    """Judged@10 per ranker, always visible, with a warning below 80%."""
    cols = st.columns(min(len(judged), 6) or 1)
    for i, (r, v) in enumerate(judged.items()):
        shown = "–" if v is None or math.isnan(v) else f"{v:.0%}"
        cols[i % len(cols)].metric(
            f"Judged@{JUDGED_K} · {r}",
            shown,
            help="The share of the ranker's top 10 that carries a label (any grade).",
        )
    for w in ev.judged_warnings(judged, JUDGED_THRESHOLD, JUDGED_K):
        st.warning(w, icon="⚠️")


def _md(text: str) -> str:
    """Text shown literally inside Markdown (ids and recipes may hold * _ | and brackets)."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~" else c for c in str(text))


def _ci_explanation(summ: pd.DataFrame, measure: str) -> str:
    lines = [
        "**The number in the table** is the mean of the per-query values over the labelled "
        "queries; the interval is mean ± t × sd / √n (t: the 97.5% quantile of Student's t "
        "with n − 1 degrees of freedom; sd: the sample standard deviation).",
        "",
        "| ranker | n | mean | sd | sd/√n | t | 95% CI |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summ[summ["measure"] == measure].itertuples(index=False):
        t = (row.ci_high - row.mean) / row.sem if row.sem and not math.isnan(row.sem) else math.nan
        name = _md(row.ranker)
        lines.append(
            f"| {name} | {row.n} | {row.mean:.4f} | {row.std:.4f} | {row.sem:.4f} | "
            f"{t:.3f} | [{row.ci_low:.4f}, {row.ci_high:.4f}] |"
        )
    return "\n".join(lines)


def summary_section(
    setup: Setup, data: dict, per_query: pd.DataFrame, sig: dict[str, pd.DataFrame]
) -> None:
    st.subheader("Summary")
    summ = stats.summary(per_query)
    table = report.summary_display(summ, sig)
    st.dataframe(table, hide_index=True, width="stretch")
    n_rankers = len(setup.rankers)
    marks = (
        f"▲b c = significantly better than rankers b and c ({TESTS[setup.test].lower()}, "
        f"Holm-corrected across all pairs, alpha {setup.alpha:g})."
        if n_rankers > 1
        else "Choose two or more rankers to test differences."
    )
    st.caption(f"Mean over queries [95% confidence interval]. {marks}")
    st.caption(report.GAIN_NOTE)
    cols = st.columns(min(len(setup.measures), 6))
    for i, m in enumerate(setup.measures):
        with cols[i % len(cols)].popover(f"ⓘ {m}", width="stretch", help=f"How is {m} computed?"):
            st.markdown(explain_measure(m))
            st.markdown(_ci_explanation(summ, m))
    st.plotly_chart(report.summary_figure(summ), key="rl_eval_summary_fig")
    st.toggle(
        "Condensed lists: drop unjudged results before scoring",
        key=state.EVAL_CONDENSED,
        help="Off (default): unjudged results count as not relevant.",
    )
    shift = report.condensed_shift(data["plain"], data["condensed"])
    if not shift.empty:
        biggest = shift.loc[shift["change"].abs().idxmax()]
        if abs(biggest["change"]) < 5e-4:
            st.caption(
                "Condensed lists move the means by less than 0.0005 here: the results the "
                "measures look at are judged, or unjudged ones do not change the order of the "
                "judged."
            )
        else:
            st.caption(
                f"Condensed lists move the means by up to {biggest['change']:+.3f} "
                f"({biggest['measure']}, {biggest['ranker']}); the table below has every change."
            )
        with st.expander("What condensed lists change"):
            st.dataframe(
                shift,
                hide_index=True,
                column_config={
                    c: st.column_config.NumberColumn(format="%.4f")
                    for c in ("plain", "condensed", "change")
                },
            )


def _query_text(queries: list[Query]) -> dict[str, str]:
    return {q.query_id: q.text for q in queries}


def explain_number(
    setup: Setup,
    corpus: Corpus,
    runs: dict[str, Run],
    qrels: list[Qrel],
    per_query: pd.DataFrame,
    measure: str,
    texts: dict[str, str],
) -> None:
    """One per-query number opened up: the ranking it was computed from, with the grades."""
    qids = list(dict.fromkeys(per_query["query_id"]))
    c1, c2 = st.columns(2)
    _keep_one(state.EVAL_EXPLAIN_QUERY, qids, qids[0])
    qid = c1.selectbox(
        "Query",
        qids,
        key=state.EVAL_EXPLAIN_QUERY,
        format_func=lambda q: f"{q}: {texts.get(q, '')[:80]}",
    )
    names = list(setup.rankers)
    _keep_one(state.EVAL_EXPLAIN_RANKER, names, names[0])
    ranker = c2.selectbox("Ranker", names, key=state.EVAL_EXPLAIN_RANKER)
    sel = per_query[
        (per_query["ranker"] == ranker)
        & (per_query["query_id"] == qid)
        & (per_query["measure"] == measure)
    ]
    value = float(sel["value"].iloc[0]) if not sel.empty else float("nan")
    st.markdown(
        f"**{_md(measure)}** of **{_md(ranker)}** for query **{_md(qid)}** = **{value:.4f}**"
    )
    spec = ev.parse_measures([measure])[0]
    cutoff = spec.measure.params.get("cutoff")
    rel = spec.measure.params.get("rel") or 1
    grades = ev.qrels_dict(qrels).get(qid, {})
    run = runs[ranker]
    hits = doc_level(run).get(qid, []) if setup.level == "doc" else run.get(qid, [])
    if setup.condensed:
        hits = [h for h in hits if (h.doc_id if setup.level == "doc" else h.passage_id) in grades]
    depth = cutoff if isinstance(cutoff, int) else min(len(hits), 20)
    shown = hits[:depth]
    passages = corpus.get_passages([h.passage_id for h in shown])
    rows = []
    for i, h in enumerate(shown, 1):
        ident = h.doc_id if setup.level == "doc" else h.passage_id
        g = grades.get(ident)
        row = {
            "rank": i,
            "id": ident,
            "title": passages[h.passage_id].title if h.passage_id in passages else "",
            "grade": "unjudged" if g is None else str(g),
            "relevant": g is not None and g >= rel,
        }
        if spec.measure.NAME == "nDCG":
            row["gain"] = max(g or 0, 0)
            row["discount log2(rank+1)"] = math.log2(i + 1)
        rows.append(row)
    if rows:
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            column_config={"discount log2(rank+1)": st.column_config.NumberColumn(format="%.3f")},
        )
    else:
        st.caption("This ranker returned nothing for this query: every measure is 0.")
    extra = (
        f"Shown: the top {depth} results the measure looks at"
        + (" (condensed: unjudged removed)" if setup.condensed else "")
        + f". The query has {len(grades)} labels, "
        + f"{sum(1 for g in grades.values() if g >= rel)} with grade ≥ {rel}."
    )
    if spec.measure.NAME == "nDCG":
        ideal = sorted((g for g in grades.values() if g > 0), reverse=True)
        extra += f" Ideal order of gains (for the ideal DCG): {ideal[: depth or None]}."
    st.caption(extra)
    if (
        spec.measure.NAME == "nDCG"
        and isinstance(cutoff, int)
        and setup.level == "doc"
        and hits
        and not setup.condensed
    ):
        ndcg_steps(qid, texts.get(qid, ""), hits, qrels, cutoff)
    st.markdown(explain_measure(measure))


def ndcg_steps(qid: str, text: str, hits: list, qrels: list[Qrel], k: int) -> None:
    """nDCG@k worked out term by term (ranklens.explain), beside ir_measures' own number."""
    from ranklens.explain import explain_ndcg

    ex = explain_ndcg(hits, [q for q in qrels if q.query_id == qid], Query(qid, text), k)
    with st.popover(f"Work out {ex.title} step by step"):
        st.caption(ex.formula)
        steps = pd.DataFrame(ex.rows)
        if "grade" in steps:  # numbers and "unjudged" in one column: show all as text
            steps["grade"] = steps["grade"].astype(str)
        st.dataframe(steps, hide_index=True)
        for note in ex.notes:
            st.caption(note)
        verdict = "agree" if ex.agrees else "DISAGREE"
        st.markdown(
            f"Steps: **{ex.total:.4f}** · ir_measures: **{ex.reported:.4f}** ({verdict}). "
            "The number RankLens reports is ir_measures'."
        )


def per_query_section(
    setup: Setup,
    corpus: Corpus,
    runs: dict[str, Run],
    qrels: list[Qrel],
    per_query: pd.DataFrame,
    texts: dict[str, str],
) -> None:
    measures = list(setup.measures)
    _keep_one(state.EVAL_TABLE_MEASURE, measures, measures[0])
    measure = st.selectbox("Measure", measures, key=state.EVAL_TABLE_MEASURE)
    wide = ev.per_query_table(per_query, measure)
    table = wide.reset_index()
    table.insert(1, "query", [texts.get(q, "") for q in table["query_id"]])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={r: st.column_config.NumberColumn(format="%.4f") for r in wide.columns},
    )
    st.caption("Click a column header to sort. Each value is one query's score.")
    with st.expander("Open one number: how it is computed", expanded=False):
        explain_number(setup, corpus, runs, qrels, per_query, measure, texts)


def difference_section(setup: Setup, per_query: pd.DataFrame) -> None:
    names = list(setup.rankers)
    if len(names) < 2:
        st.info("Choose two rankers to see per-query differences.")
        return
    c1, c2, c3 = st.columns(3)
    _keep_one(state.EVAL_DIFF_A, names, names[0])
    _keep_one(state.EVAL_DIFF_B, names, names[1])
    _keep_one(state.EVAL_DIFF_MEASURE, list(setup.measures), setup.measures[0])
    a = c1.selectbox("Ranker A", names, key=state.EVAL_DIFF_A)
    b = c2.selectbox("Ranker B", names, key=state.EVAL_DIFF_B)
    m = c3.selectbox("Measure", list(setup.measures), key=state.EVAL_DIFF_MEASURE)
    if a == b:
        st.info("Choose two different rankers.")
        return
    diffs = ev.per_query_differences(per_query, m, a, b)
    st.plotly_chart(report.difference_figure(diffs, a, b, m), key="rl_eval_diff_fig")


def curve_section(setup: Setup, runs: dict[str, Run], qrels: list[Qrel]) -> None:
    base = st.selectbox("Measure", list(CURVE_BASES), key=state.EVAL_CURVE_BASE)
    kmax = min(100, setup.k)
    df = curve(setup.key, base, kmax, setup.condensed, runs, qrels)
    st.plotly_chart(report.curve_figure(df, base), key="rl_eval_curve_fig")
    st.caption(
        f"Mean {base}@k for k = 1..{kmax} over the labelled queries"
        + (" (condensed lists)." if setup.condensed else ".")
    )


def significance_section(setup: Setup, sig: dict[str, pd.DataFrame]) -> None:
    if len(setup.rankers) < 2:
        st.info("Choose two or more rankers to test their differences.")
        return
    st.caption(
        f"{TESTS[setup.test]} on per-query values, every pair of rankers, Holm correction "
        f"across all pairs of a measure. * marks p < {setup.alpha:g} (Holm-adjusted)."
    )
    measures = list(sig)
    _keep_one(state.EVAL_SIG_MEASURE, measures, measures[0])
    c1, c2 = st.columns([1, 2])
    m = c1.selectbox("Matrix of p-values for", measures, key=state.EVAL_SIG_MEASURE)
    c1.plotly_chart(
        report.pvalue_figure(stats.significance_matrix(sig[m]), setup.alpha), key="rl_eval_p_fig"
    )
    table = pd.concat(list(sig.values()), ignore_index=True)
    c2.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.4f")
            for c in ("mean_a", "mean_b", "diff", "p", "p_holm")
        },
    )


def ranking_section(setup: Setup, per_query: pd.DataFrame) -> None:
    c1, c2 = st.columns(2)
    with c1:
        _keep_one(state.EVAL_RANK_MEASURE, list(setup.measures), setup.measures[0])
        m = st.selectbox("By mean of", list(setup.measures), key=state.EVAL_RANK_MEASURE)
        st.dataframe(
            stats.rank_by_mean(per_query, m),
            hide_index=True,
            column_config={"mean": st.column_config.NumberColumn(format="%.4f")},
        )
    with c2:
        st.markdown("**By Borda count** over every query and measure")
        st.dataframe(
            stats.borda(per_query),
            hide_index=True,
            column_config={"points": st.column_config.NumberColumn(format="%.1f")},
        )
        st.caption(
            "In each (query, measure) the best of n rankers gets n − 1 points, the worst 0; "
            "ties share. Who wins most often, whatever the margins."
        )


def dp_choices(setup: Setup) -> dict:
    """The discriminative-power choices as last set on its tab (defaults otherwise)."""
    ss = st.session_state
    measure = ss.get(state.EVAL_DP_MEASURE)
    return {
        "measure": measure if measure in setup.measures else setup.measures[0],
        "unit": ss.get(state.EVAL_DP_UNIT) or "query",
        "fraction": float(ss.get(state.EVAL_DP_FRACTION) or 0.5),
        "repeats": int(ss.get(state.EVAL_DP_REPEATS) or 20),
    }


def discriminative_section(setup: Setup, runs: dict[str, Run], qrels: list[Qrel]):
    if len(setup.rankers) < 2:
        st.info("Choose two or more rankers to see whether the labels tell them apart.")
        return None
    c1, c2, c3, c4 = st.columns(4)
    _keep_one(state.EVAL_DP_MEASURE, list(setup.measures), setup.measures[0])
    m = c1.selectbox("Measure", list(setup.measures), key=state.EVAL_DP_MEASURE)
    unit = c2.radio(
        "Subsample",
        ["query", "label"],
        key=state.EVAL_DP_UNIT,
        format_func={"query": "queries", "label": "labels of each query"}.get,
    )
    fraction = c3.slider("Keep", 0.1, 0.9, 0.5, 0.1, key=state.EVAL_DP_FRACTION)
    repeats = int(c4.number_input("Repeats", 2, 200, 20, key=state.EVAL_DP_REPEATS))
    dp = discriminative(
        setup.key, m, unit, fraction, repeats, setup.test, setup.alpha, setup.condensed, runs, qrels
    )
    rate = dp.survival_rate
    if dp.significant_full == 0:
        st.info(
            f"No pair of rankers differs significantly on {m} with all the labels: label more "
            "queries before reading anything into the differences."
        )
    else:
        st.metric(
            "Significant differences that survive",
            f"{rate:.0%}",
            help=f"Of the {dp.significant_full} significant pair(s) with all labels, the mean "
            f"share still significant (same direction) when keeping {fraction:.0%} of the "
            f"{'queries' if unit == 'query' else 'labels of each query'}, over {repeats} seeded "
            "repeats.",
        )
        st.caption(
            "High: the labels collected so far can tell these rankers apart. Low: the "
            "differences rest on few queries or labels; collect more."
        )
    st.dataframe(
        dp.pairs,
        hide_index=True,
        column_config={
            "diff": st.column_config.NumberColumn(format="%.4f"),
            "p_holm": st.column_config.NumberColumn(format="%.4f"),
            "survival_rate": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    return dp


def export_section(
    setup: Setup,
    runs: dict[str, Run],
    qrels: list[Qrel],
    data: dict,
    per_query: pd.DataFrame,
    sig: dict[str, pd.DataFrame],
    origin: str,
) -> None:
    base = f"{setup.corpus}-{setup.query_set}"
    dp_args = dp_choices(setup)

    def html() -> str:
        names = list(setup.rankers)
        return report.html_report(
            per_query,
            title=f"RankLens evaluation: {setup.corpus} / {setup.query_set}",
            context={
                "corpus": setup.corpus,
                "query set": setup.query_set,
                "rankers": ", ".join(names),
                "labels": origin,
                "level": setup.level,
                "k": setup.k,
                "condensed lists": setup.condensed,
                "significance test": TESTS[setup.test],
            },
            significance=sig,
            test=setup.test,
            alpha=setup.alpha,
            judged=data["judged"],
            judged_k=JUDGED_K,
            curve=ev.metric_at_k_curve(
                runs, qrels, "nDCG", range(1, min(100, setup.k) + 1), setup.level, setup.condensed
            ),
            differences=(setup.measures[0], names[0], names[1]) if len(names) > 1 else None,
            condensed=report.condensed_shift(data["plain"], data["condensed"]),
            discriminative=stats.discriminative_power(
                runs,
                qrels,
                dp_args["measure"],
                fraction=dp_args["fraction"],
                repeats=dp_args["repeats"],
                seed=SEED,
                unit=dp_args["unit"],
                test=setup.test,
                alpha=setup.alpha,
                n_permutations=N_PERMUTATIONS,
                level=setup.level,
                condensed=setup.condensed,
            )
            if len(names) > 1
            else None,
        )

    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "TREC run files (zip)",
        data=lambda: report.runs_zip(runs, setup.level),
        file_name=f"{base}-runs.zip",
        mime="application/zip",
        on_click="ignore",
        help="One file per ranker: qid Q0 docid rank score tag (readable by trec_eval).",
    )
    c2.download_button(
        "Per-query metrics (CSV)",
        data=lambda: report.per_query_csv(per_query),
        file_name=f"{base}-per-query.csv",
        mime="text/csv",
        on_click="ignore",
    )
    c3.download_button(
        "HTML report",
        data=html,
        file_name=f"{base}-report.html",
        mime="text/html",
        on_click="ignore",
        help="Self-contained (plotly inlined): opens offline.",
    )


TAB_WIDGETS = (
    state.EVAL_TABLE_MEASURE,
    state.EVAL_EXPLAIN_QUERY,
    state.EVAL_EXPLAIN_RANKER,
    state.EVAL_DIFF_A,
    state.EVAL_DIFF_B,
    state.EVAL_DIFF_MEASURE,
    state.EVAL_CURVE_BASE,
    state.EVAL_SIG_MEASURE,
    state.EVAL_RANK_MEASURE,
    state.EVAL_DP_MEASURE,
    state.EVAL_DP_UNIT,
    state.EVAL_DP_FRACTION,
    state.EVAL_DP_REPEATS,
)


def page() -> None:
    """The whole Evaluate page."""
    for key in TAB_WIDGETS:  # keep choices made in a tab while another tab is open
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.title("Evaluate")
    corpus = resources.choose_corpus()
    if corpus is None:
        return
    setup = choose(corpus)
    if setup is None:
        return
    queries = queries_of(setup.corpus, setup.stamp, setup.query_set)
    try:
        qrels, origin = load_labels(setup, corpus, queries)
    except RankLensError as exc:
        st.error(str(exc))
        return
    if not qrels:
        no_labels_message(setup)
        return
    if setup.level == "passage":
        from ranklens.labels import passage_level_notes

        for note in passage_level_notes(qrels, corpus):
            st.warning(note + ".", icon="⚠️")
    try:
        runs = runs_for(setup)
    except RankLensError as exc:
        st.error(str(exc))
        return
    data = evaluation(setup.key, setup.measures, runs, qrels)
    per_query = data["condensed" if setup.condensed else "plain"]
    n = per_query["query_id"].nunique()
    st.caption(
        f"{n} of {len(queries)} queries of **{setup.query_set}** have labels and are evaluated · "
        f"labels: {origin} · {'documents' if setup.level == 'doc' else 'passages'} · k = "
        f"{setup.k}. {report.UNJUDGED_NOTE}"
    )
    judged_panel(data["judged"])
    sig = (
        significance(setup.key, setup.measures, setup.condensed, setup.test, setup.alpha, per_query)
        if len(setup.rankers) > 1
        else {}
    )
    summary_section(setup, data, per_query, sig)
    texts = _query_text(queries)
    sections = {
        "Per query": lambda: per_query_section(setup, corpus, runs, qrels, per_query, texts),
        "Difference": lambda: difference_section(setup, per_query),
        "Metric@k": lambda: curve_section(setup, runs, qrels),
        "Significance": lambda: significance_section(setup, sig),
        "Ranking": lambda: ranking_section(setup, per_query),
        "Discriminative power": lambda: discriminative_section(setup, runs, qrels),
        "Export": lambda: export_section(setup, runs, qrels, data, per_query, sig, origin),
    }
    # stateful tabs: only the open one is computed, so a new label redraws within a second
    tabs = st.tabs(list(sections), key=state.EVAL_TAB, on_change="rerun")
    for tab, draw in zip(tabs, sections.values(), strict=True):
        if tab.open is not False:
            with tab:
                draw()
