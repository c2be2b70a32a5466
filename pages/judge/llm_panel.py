"""The Set up tab's "LLM judge" section: the endpoint in use (never its key), the corpus's prompt
and its versions, a dry run of 5 pairs, and a batch of suggestions with progress.

Every rule is in ranklens.llm.judge / judges (the CLI's `judgments suggest --judge llm`).
Prompts and replies are untrusted text: shown only as code blocks or table cells.
"""

from __future__ import annotations

import streamlit as st

from components import auth, resources, safe, state
from ranklens.corpus import index
from ranklens.errors import RankLensError
from ranklens.judges import judges
from ranklens.judging import JudgmentStore
from ranklens.llm import cost as llm_cost
from ranklens.llm.judge import DEFAULT_MAX_TOKENS, LLMConfig, LLMJudge, ReplyCache
from ranklens.llm.prompt import UMBRELA_PROMPT, Prompt
from ranklens.llm.reports import BatchReport

from .display import code, table, when

DRY_RUN_PAIRS = 5


def _judge(store: JudgmentStore, corpus: str, prompt: Prompt) -> LLMJudge:
    settings = resources.settings()
    limit = st.session_state.get(state.JUDGE_LLM_MAX_TOKENS)
    return LLMJudge(
        LLMConfig.from_settings(settings, **({"max_tokens": int(limit)} if limit else {})),
        store.scale(corpus),
        prompt,
        cache=ReplyCache.from_settings(settings),
    )


def _endpoint() -> LLMConfig | None:
    try:
        cfg = LLMConfig.from_settings(resources.settings())
    except RankLensError as exc:
        st.info(safe.error(exc))
        return None
    key = "a key is set" if cfg.key else "no key"
    st.caption(f"Endpoint {code(cfg.url)} · model {code(cfg.model)} · {key} (RANKLENS_LLM_KEY)")
    left, right = st.columns(2)
    left.number_input(
        "Reply limit (tokens)",
        min_value=1,
        max_value=8192,
        value=cfg.max_tokens or DEFAULT_MAX_TOKENS,
        key=state.JUDGE_LLM_MAX_TOKENS,
        help="max_tokens sent with every request (RANKLENS_LLM_MAX_TOKENS): a small model that "
        "repeats the passage would otherwise write until its context is full.",
    )
    right.text_input(
        "Price, $ per million tokens (prompt/completion)",
        value=resources.settings().llm_price or "",
        key=state.JUDGE_LLM_PRICE,
        placeholder="e.g. 0.15/0.60 (RANKLENS_LLM_PRICE)",
    )
    return cfg


def _price() -> llm_cost.Price | None:
    try:
        return llm_cost.parse_price(st.session_state.get(state.JUDGE_LLM_PRICE))
    except RankLensError as exc:
        st.error(safe.error(exc))
        return None


def _report(report: BatchReport) -> None:
    (st.warning if report.gave_up else st.success)(safe.error(report.summary()))
    st.caption(safe.md(llm_cost.spent_text(report, _price())))
    bad = report.unparseable + report.failed
    if bad:
        st.markdown("**Not graded** (never guessed)")
        table(
            [
                {
                    "query": j.pair.query_id,
                    "passage": j.pair.passage_id,
                    "why": j.error or "no final score in the reply",
                    "reply": j.reply or "",
                }
                for j in bad
            ],
        )


def _prompt_editor(store: JudgmentStore, corpus: str, annotator: str | None) -> Prompt:
    versions = judges.prompt_versions(store, corpus)
    current = versions[-1].prompt if versions else Prompt()
    key = f"{state.JUDGE_LLM_PROMPT}:{corpus}:{current.hash}"
    st.session_state.setdefault(key, current.text)
    text = st.text_area(
        "Prompt ({query} and {passage} are filled in; the reply must end in "
        "`##final score: N`, 0-3)",
        key=key,
        height=260,
    )
    label = f"v{versions[-1].version} ({current.hash})" if versions else "UMBRELA's (not saved)"
    st.caption(f"In use: {label}. Saving a changed text makes a new version; all are kept.")
    left, right = st.columns(2)
    if not auth.is_admin():  # team mode: saving prompt versions is for admins
        auth.admin_only("save a prompt version")
    elif left.button("Save as a new version", disabled=text == current.text):
        try:
            v = judges.save_prompt(
                store, corpus, Prompt(text), annotator or "app", actor=auth.actor()
            )
        except RankLensError as exc:
            st.error(safe.error(exc))
        else:
            st.success(f"Saved prompt v{v.version} ({v.prompt_hash}).")
            st.rerun()
    if right.button("Back to UMBRELA's prompt", disabled=text == UMBRELA_PROMPT):
        st.session_state[key] = UMBRELA_PROMPT
        st.rerun()
    if versions:
        with st.expander(f"Prompt versions ({len(versions)})"):
            for v in reversed(versions):
                st.markdown(
                    f"**v{v.version}** · {code(v.prompt_hash)} · {code(v.author)} · {when(v.created_at)}"
                )
                st.code(v.text, language=None)
    try:
        return Prompt(text)
    except RankLensError as exc:
        st.error(safe.error(exc))
        return current


def llm_section(store: JudgmentStore, corpus: index.Corpus, query_set: str) -> None:
    st.subheader("LLM suggestions (optional)")  # not "judge": the page heading is "Judge"
    annotator = st.session_state.get(state.ANNOTATOR) or None
    st.caption(
        "Any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp, OpenAI) "
        "pre-grades the pool. Its suggestions are stored as `llm:<model>` with the prompt's "
        "hash, shown as suggestions while judging, and never count as human labels."
    )
    cfg = _endpoint()
    prompt = _prompt_editor(store, corpus.name, annotator)
    pools = store.pools(corpus.name, query_set)
    if cfg is None:
        return
    if not pools:
        st.info("Build a pool first.")
        return
    pool = pools[-1]
    left, right = st.columns(2)
    if left.button(f"LLM dry run: {DRY_RUN_PAIRS} pairs, nothing stored", key=state.JUDGE_LLM_DRY):
        try:
            with _judge(store, corpus.name, prompt) as judge:
                pairs = judges.pairs_for(corpus, pool, pool.items[:DRY_RUN_PAIRS])
                with st.spinner("Asking the endpoint…"):
                    items = judge.dry_run(pairs, DRY_RUN_PAIRS)
                pending = judges.pairs_for(
                    corpus, pool, judges.pending_llm_items(store, corpus.name, pool, judge)
                )
                estimate = llm_cost.estimate(judge, pending, items)
        except RankLensError as exc:
            st.error(safe.error(exc))
        else:
            st.info(safe.md(estimate.text(_price())))
            for n, it in enumerate(items, 1):
                j = it.judgment
                title = safe.md(f"Pair {n}: query {j.pair.query_id} · {it.outcome()}", limit=300)
                with st.expander(title, expanded=n == 1):
                    st.markdown("Prompt")
                    st.code(it.prompt, language=None)
                    st.markdown("Reply")
                    st.code(j.reply or "", language=None)
    if right.button(
        f"Pre-grade pool {pool.id} with the LLM ({len(pool.items)} passages)",
        type="primary",
        key=state.JUDGE_LLM_BATCH,
    ):
        bar = st.progress(0.0, text="Judging…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Judging: {done} of {total} pairs")

        try:
            with _judge(store, corpus.name, prompt) as judge:
                report = judges.suggest_llm(
                    store, corpus, pool, judge, author=annotator or "app", progress=progress
                )
        except RankLensError as exc:
            st.error(safe.error(exc))
        else:
            bar.empty()
            _report(report)
