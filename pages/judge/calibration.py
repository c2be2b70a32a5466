"""The Set up tab's "Calibrate the LLM on your labels" section: few-shot examples from some labelled
queries, the judge measured on the others, without and with them; recorded calibrations.

Every rule is in ranklens.judges.calibration (the CLI's `judgments calibrate`). Examples and
replies are untrusted text: shown only as table cells. In team mode only admins calibrate (the
report shows the team's labels and reasons).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import auth, resources, safe, state
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.judges import calibration as cal
from ranklens.judges import judges
from ranklens.judging import JudgmentStore, pooling
from ranklens.llm import prompt_versions
from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache
from ranklens.llm.prompt import Prompt

from .display import code, fmt, table, when

UMBRELA = "umbrela"


def _author() -> str:
    """Who records a calibration: the signed-in annotator, else the name typed, else "app"."""
    return auth.annotator() or st.session_state.get(state.ANNOTATOR) or "app"


def _prompt_choices(store: JudgmentStore, corpus: str) -> dict[str, tuple[str, Prompt]]:
    out = {UMBRELA: ("UMBRELA's", Prompt())}
    for v in judges.prompt_versions(store, corpus):
        out[v.prompt_hash] = (f"v{v.version}", v.prompt)
    return out


def arms_table(report: dict) -> pd.DataFrame:
    """One row per prompt without / with examples (from CalibrationReport.to_dict())."""
    rows = []
    for a in report["arms"]:
        ag = a["agreement"]
        low, high = a["kappa_low"], a["kappa_high"]
        tokens = (
            f"{a['prompt_tokens']} + {a['completion_tokens']}"
            if a["prompt_tokens"] is not None
            else f"~{a['estimated_prompt_tokens']} (estimated)"
        )
        rows.append(
            {
                "prompt": f"{a['prompt_version']} ({a['prompt_hash']})",
                "examples": a["examples"],
                "pairs": a["pairs"],
                "kappa": fmt(ag["kappa"]),
                "95% interval": "n/a" if low is None else f"[{low:.3f}, {high:.3f}]",
                "Kendall's tau": fmt(ag["kendall_tau"]),
                "unparseable": fmt(a["unparseable_share"], pct=True),
                "failed": a["failed"],
                "tokens (prompt + completion)": tokens,
            }
        )
    return pd.DataFrame(rows)


def show_report(report: dict) -> None:
    """The held-out report: the table, each arm's confusion, the examples and the split."""
    st.caption(
        f"Held out: {len(report['held_out_queries'])} queries · calibration: "
        f"{len(report['calibration_queries'])} queries · seed {report['seed']} · "
        f"{report['judge']} · kappa {report['weights'] or 'unweighted'}, {report['level']} level"
    )
    st.dataframe(arms_table(report), hide_index=True, width="stretch")
    for a in report["arms"]:
        if a.get("gave_up"):
            st.warning(safe.error(f"{a['prompt_version']}: stopped: {a['gave_up']}"))
    cols = st.columns(max(1, len(report["arms"])))
    for col, a in zip(cols, report["arms"], strict=False):
        grades = a["agreement"]["grades"]
        with col:
            st.markdown(
                f"**Confusion, {a['prompt_version']}, "
                f"{'no examples' if not a['examples'] else str(a['examples']) + ' examples'}**"
            )
            st.dataframe(
                pd.DataFrame(
                    a["agreement"]["confusion"],
                    index=[f"people {g}" for g in grades],
                    columns=[f"judge {g}" for g in grades],
                ),
                width="stretch",
            )
    with st.expander(f"The {len(report['examples'])} examples shown to the judge"):
        table(
            [
                {
                    "query": e["query_id"],
                    "passage": e["passage_id"] or e["doc_id"],
                    "grade": e["grade"],
                    "prompt score": e["score"],
                    "reason": e["reason"] or "",
                    "passage text": e["passage"][:300],
                }
                for e in report["examples"]
            ],
        )
        st.caption("Held-out queries: " + ", ".join(report["held_out_queries"]))


def _run(store: JudgmentStore, corpus: index.Corpus, query_set: str, options: dict) -> None:
    settings = resources.settings()
    config = LLMConfig.from_settings(settings)
    cache = ReplyCache.from_settings(settings)
    scale = store.scale(corpus.name)
    runs = None
    if options.pop("rankers"):
        pools = store.pools(corpus.name, query_set)
        if pools:
            runs = pooling.agreement_runs(corpus, pools[-1].rankers, query_set)
    bar = st.progress(0.0, text="Judging the held-out pairs…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Judging: {done} of {total} held-out prompts")

    report = cal.calibrate(
        store,
        corpus,
        query_set,
        lambda prompt: LLMJudge(config, scale, prompt, cache=cache),
        runs=runs,
        progress=progress,
        **options,
    )
    bar.empty()
    st.success(safe.error(report.summary().split("\n")[0]))


def calibration_section(store: JudgmentStore, corpus: index.Corpus, query_set: str) -> None:
    st.subheader("Calibrate the LLM on your labels (optional)")
    st.caption(
        "Some labelled queries give the LLM examples (people's grades and reasons, a few of "
        "each grade); the others measure it, without and with the examples. The split is by "
        "query and seeded; no held-out query is ever shown as an example."
    )
    if not auth.admin_only("calibrate the LLM judge (the report shows the team's labels)"):
        return
    try:
        LLMConfig.from_settings(resources.settings())
    except RankLensError as exc:
        st.info(safe.error(exc))
        ready = False
    else:
        ready = True
    choices = _prompt_choices(store, corpus.name)
    name, _ = cal.default_prompt(store, corpus.name)
    default = next((h for h, (n, _) in choices.items() if n == name), UMBRELA)
    a, b, c, d = st.columns(4)
    examples = a.number_input("Examples", 0, 50, cal.DEFAULT_EXAMPLES, key=state.JUDGE_CAL_EXAMPLES)
    seed = b.number_input("Seed", 0, 2**31 - 1, 0, key=state.JUDGE_CAL_SEED)
    fraction = c.slider(
        "Share of queries that calibrate", 0.1, 0.9, cal.DEFAULT_FRACTION, 0.05,
        key=state.JUDGE_CAL_FRACTION,
    )  # fmt: skip
    budget = d.number_input(
        "Token budget for the examples",
        100,
        100_000,
        cal.DEFAULT_TOKEN_BUDGET,
        step=100,
        key=state.JUDGE_CAL_BUDGET,
    )
    chosen = st.multiselect(
        "Prompt versions",
        list(choices),
        default=[default],
        format_func=lambda h: f"{choices[h][0]} ({choices[h][1].hash})",
        key=state.JUDGE_CAL_PROMPTS,
    )
    rankers = st.toggle(
        "Kendall's tau of the newest pool's rankers (ranks the query set)",
        value=False,
        key=state.JUDGE_CAL_RANKERS,
    )
    if st.button(
        "Calibrate and measure on held-out queries",
        type="primary",
        disabled=not ready or not chosen,
        key=state.JUDGE_CAL_GO,
    ):
        try:
            _run(
                store,
                corpus,
                query_set,
                dict(
                    prompts=[choices[h] for h in chosen],
                    examples=int(examples),
                    seed=int(seed),
                    fraction=float(fraction),
                    token_budget=int(budget),
                    rankers=rankers,
                    author=_author(),
                ),
            )
        except RankLensError as exc:
            st.error(safe.error(exc))
    recorded = [c for c in cal.calibrations(store, corpus.name) if c.query_set == query_set]
    if not recorded:
        return
    latest = recorded[-1]
    st.markdown(f"**Latest calibration** ({when(latest.created_at)}, by {code(latest.author)})")
    show_report(latest.report)
    same = [c for c in recorded if c.created_at == latest.created_at]
    cols = st.columns(max(1, len(same)))
    current = prompt_versions.current_prompt(store, corpus.name).hash
    for col, c in zip(cols, same, strict=False):
        label = f"Use the calibrated prompt {c.calibrated_hash}"
        if col.button(
            label, key=f"{state.JUDGE_CAL_USE}_{c.id}", disabled=c.calibrated_hash == current
        ):
            try:
                v = cal.use_calibration(store, corpus.name, c.id, _author())
            except RankLensError as exc:
                st.error(safe.error(exc))
            else:
                st.success(f"The LLM now grades with prompt v{v.version} ({v.prompt_hash}).")
