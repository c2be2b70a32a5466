"""Learn page, the lesson "Can a tiny model judge?": grade a small pool of the set with the LLM on
RANKLENS_LLM_URL (the local SmolLM2 from scripts/local-judge.sh) and show what came out.

Every rule and number is ranklens.teaching.tiny_judge; the model's replies are untrusted text, shown only
in table cells. When no endpoint is configured, the lesson says how to start the local one.
"""

from __future__ import annotations

import streamlit as st

from components import resources, safe, state
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.llm import local_server as local_judge
from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache
from ranklens.teaching import tiny_judge
from ranklens.types import Qrel

LESSON_MAX_TOKENS = 48  # a grade and a short reason; the lesson stays a few minutes at most


def _known(corpus: Corpus, query_set: str, qrels: list[Qrel]) -> list[Qrel]:
    """The set's known answers: its shipped labels when it has some, else its labels."""
    shipped = corpus.shipped_qrels().get(query_set)
    return list(shipped) if shipped else list(qrels)


def render(corpus: Corpus, query_set: str, qrels: list[Qrel]) -> None:
    st.subheader(tiny_judge.TITLE)
    st.text(
        f"A small language model grades a pool of {tiny_judge.POOL_QUERIES} queries of "
        f"{query_set} (each ranker's top {tiny_judge.POOL_DEPTH} documents). Does it give the "
        "known answers higher grades than the other passages? Where people labelled the pool "
        "on the Judge page, how well does it agree with them? The numbers are shown as they "
        "come out, good or bad."
    )
    settings = resources.settings()
    try:
        cfg = LLMConfig.from_settings(settings)
    except RankLensError:
        why = local_judge.missing()
        st.info(
            safe.md(
                "No LLM endpoint is configured. To "
                + local_judge.START_HINT
                + ", and restart the app."
                + (f" (Now: {why}.)" if why else "")
            )
        )
        st.code(
            "scripts/setup.sh --judge        # once: builds the server (about 12 minutes)\n"
            "scripts/local-judge.sh          # serves http://127.0.0.1:8089/v1\n"
            "RANKLENS_LLM_URL=http://127.0.0.1:8089/v1 RANKLENS_LLM_MODEL=smollm2 "
            "scripts/start.sh",
            language="bash",
        )
        return
    st.caption(safe.md(f"Endpoint {cfg.url} · model {cfg.model}"))
    key = f"{state.LEARN_TINY_JUDGE}:{corpus.name}:{query_set}:{cfg.model}"
    if st.button(f"Grade the pool with {cfg.model}", key=state.LEARN_TINY_JUDGE, type="primary"):
        bar = st.progress(0.0, text="Grading…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Grading: {done} of {total} pairs")

        store = resources.judgment_store()
        try:
            known = _known(corpus, query_set, qrels)
            pool = tiny_judge.lesson_pool(corpus, query_set, known)
            people = store.final_qrels(
                corpus.name, level="doc", query_ids=[q.query_id for q in pool.queries]
            )
            limit = cfg.max_tokens or LESSON_MAX_TOKENS
            with LLMJudge(
                LLMConfig.from_settings(settings, max_tokens=limit),
                store.scale(corpus.name),
                cache=ReplyCache.from_settings(settings),
            ) as judge:
                st.session_state[key] = tiny_judge.run_lesson(
                    corpus, query_set, known, judge, people=people, progress=progress, pool=pool
                )
        except RankLensError as exc:
            st.error(safe.error(exc))
        bar.empty()
    result = st.session_state.get(key)
    if result is None:
        return
    st.text(result.text)
    st.dataframe(result.known_vs_other, hide_index=True, width="stretch")
    text = tiny_judge.agreement_text(result)
    if text:
        st.text(text)
        st.caption("Confusion matrix: rows are people's grades, columns the model's.")
        st.dataframe(tiny_judge.confusion_table(result), width="stretch")
    for note in result.notes:
        st.caption(safe.md(note))
    with st.expander(f"Every pooled pair ({len(result.grades)})"):
        st.dataframe(result.grades, hide_index=True, width="stretch")
