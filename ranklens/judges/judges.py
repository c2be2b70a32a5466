"""Judges in the judgment store: LLM prompt versions per corpus, LLM suggestions (apart from human
labels), accepting a suggestion as one's own label, and every judge checked against people.

Decisions (read before changing anything here):

- Prompt versions live in the table `llm_prompts` (corpus, version 1, 2, ...); a version is never
  changed or deleted, saving a text already saved returns its version. The corpus's prompt is
  its latest version, UMBRELA's when it has none.
- LLM suggestions are label events with source "suggestion", annotator `llm:<model>`, note
  `prompt=<hash> score=<n>`, exactly like the cross-encoder's (annotator = its model name): they
  never count as human labels. A judge for agreement is one cross-encoder, or one (LLM model,
  prompt hash): each prompt version is judged on its own grades, read from the events.
- Accepting a suggestion writes a human label of the accepting annotator, with the note
  `accepted from <judge>[ prompt <hash>]` and its provenance (ranklens.judging.accepted); the
  suggestion itself stays as it was.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypedDict, Unpack

import sqlalchemy as sa

from ranklens.access import Actor, require_admin
from ranklens.corpus import external_docs
from ranklens.corpus.chunking import index_text
from ranklens.judges.judge_agreement import JudgeAgreement, judge_agreement
from ranklens.judging.records import CurrentLabel, PoolInfo, PoolItem
from ranklens.judging.rules import check_name, final_qrels_from
from ranklens.llm.judge import LLMJudge
from ranklens.llm.prompt import JUDGE_PREFIX, Prompt, judge_name
from ranklens.llm.prompt_versions import (
    PromptVersion,
    prompt_versions,
)
from ranklens.llm.reports import BatchReport, JudgePair
from ranklens.schema import label_events, llm_prompts
from ranklens.types import Run

if TYPE_CHECKING:  # the store and the index are only named in hints here
    from ranklens.corpus.index import Corpus
    from ranklens.judging.store import JudgmentStore


_NOTE = re.compile(r"^prompt=([0-9a-f]{16}) score=(\d+)$")


def save_prompt(
    store: JudgmentStore,
    corpus: str,
    prompt: Prompt,
    author: str = "unknown",
    actor: Actor | None = None,
) -> PromptVersion:
    """Keep a prompt as the corpus's newest version (its version if that text is saved already).
    Admin-only when an actor (team mode's signed-in annotator) is given."""
    require_admin(actor, "save a prompt version")
    author = check_name(author, "author")
    c = llm_prompts.c
    with store.write() as conn:
        rows = conn.execute(
            sa.select(llm_prompts).where(c.corpus == corpus).order_by(c.version)
        ).all()
        versions = [PromptVersion(*r) for r in rows]
        if versions and versions[-1].prompt_hash == prompt.hash:
            return versions[-1]
        row = PromptVersion(
            corpus, len(versions) + 1, prompt.hash, prompt.text, prompt.top, author, time.time()
        )
        conn.execute(sa.insert(llm_prompts).values(**row._asdict()))
    return row


# ---------------------------------------------------------------- LLM suggestions


class LLMSuggestion(NamedTuple):
    """One stored LLM suggestion, with the prompt version it came from."""

    judge: str  # llm:<model>
    prompt_hash: str
    score: int
    label: CurrentLabel


def pairs_for(
    corpus: Corpus, pool: PoolInfo, items: Sequence[PoolItem] | None = None
) -> list[JudgePair]:
    """(query, passage) pairs of a pool (or some of its items) with the corpus's texts now;
    passages and queries no longer in the corpus are left out."""
    texts = {q.query_id: q.text for q in corpus.query_sets().get(pool.query_set, [])}
    items = list(pool.items if items is None else items)
    passages = external_docs.passages_for(corpus, sorted({it.passage_id for it in items}))
    return [
        JudgePair(
            it.query_id,
            texts[it.query_id],
            it.passage_id,
            it.doc_id,
            index_text(passages[it.passage_id]),
        )
        for it in items
        if it.query_id in texts and it.passage_id in passages
    ]


def llm_suggestions(
    store: JudgmentStore,
    corpus: str,
    *,
    model: str | None = None,
    prompt_hash: str | None = None,
    query_ids: Collection[str] | None = None,
) -> list[LLMSuggestion]:
    """The latest suggestion per (judge, prompt version, unit), oldest first."""
    ev = label_events.c
    conds = [ev.corpus == corpus, ev.source == "suggestion", ev.kind == "label"]
    conds.append(
        ev.annotator == judge_name(model) if model else ev.annotator.startswith(JUDGE_PREFIX)
    )
    with store.read() as conn:
        rows = conn.execute(sa.select(label_events).where(*conds).order_by(ev.id)).all()
    latest: dict[tuple, LLMSuggestion] = {}
    wanted = set(query_ids) if query_ids is not None else None
    for r in rows:
        m = _NOTE.match(r.note or "")
        if m is None or (prompt_hash and m.group(1) != prompt_hash):
            continue
        if wanted is not None and r.query_id not in wanted:
            continue
        label = CurrentLabel(
            r.annotator,
            r.query_id,
            r.doc_id,
            r.passage_id,
            r.grade,
            r.note,
            r.source,
            r.id,
            r.created_at,
            r.query_set,
        )
        latest[(r.annotator, m.group(1), label.unit)] = LLMSuggestion(
            r.annotator, m.group(1), int(m.group(2)), label
        )
    return sorted(latest.values(), key=lambda s: s.label.event_id)


def store_llm_suggestions(
    store: JudgmentStore, corpus: str, report: BatchReport, *, query_set: str | None = None
) -> int:
    """Store the graded judgments of a batch as suggestions of `llm:<model>` (unparseable and
    failed ones are not stored: they stay in the report). Returns how many were stored."""
    name = check_name(judge_name(report.model), "judge")
    graded = [
        (j.pair, j.grade, f"prompt={report.prompt_hash} score={j.score}") for j in report.graded
    ]
    return store.add_graded(corpus, name, graded, query_set=query_set)


def pending_llm_items(store: JudgmentStore, corpus: str, pool: PoolInfo, judge: LLMJudge) -> list:
    """The pool's items this (model, prompt) has not suggested a grade for yet."""
    done = {
        s.label.unit
        for s in llm_suggestions(
            store, corpus, model=judge.config.model, prompt_hash=judge.prompt.hash
        )
    }
    return [it for it in pool.items if it.unit not in done]


def suggest_llm(
    store: JudgmentStore,
    corpus: Corpus,
    pool: PoolInfo,
    judge: LLMJudge,
    *,
    author: str = "unknown",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BatchReport:
    """Judge a pool with an LLM and store its suggestions. The prompt is saved as a version of
    the corpus first. Pairs this (model, prompt) already suggested a grade for are not sent
    again, so an interrupted batch resumes; the report counts only the pairs sent this time."""
    save_prompt(store, corpus.name, judge.prompt, author)
    todo = pending_llm_items(store, corpus.name, pool, judge)
    report = judge.judge(pairs_for(corpus, pool, todo), progress=progress, cancelled=cancelled)
    store_llm_suggestions(store, corpus.name, report, query_set=pool.query_set)
    return report


def accept_suggestion(
    store: JudgmentStore,
    corpus: str,
    annotator: str,
    suggestion: CurrentLabel,
    *,
    query_set: str | None = None,
) -> int:
    """Make a suggestion (cross-encoder or LLM) a human label of `annotator`; returns its event
    id. The label keeps its provenance (`accepted from llm:<model> prompt <hash>`, see
    ranklens.judging.accepted)."""
    from ranklens.judging.accepted import accept

    (event_id,) = accept(store, corpus, annotator, [suggestion], query_set=query_set)
    return event_id


# ---------------------------------------------------------------- judges against people


def judge_labels(
    store: JudgmentStore, corpus: str, *, query_ids: Collection[str] | None = None
) -> dict[str, list[CurrentLabel]]:
    """Every judge's current graded suggestions: cross-encoders by model name, LLMs as
    `llm:<model> prompt v<N> (<hash>)`, one per prompt version."""
    out: dict[str, list[CurrentLabel]] = {}
    for lab in store.suggestions(corpus, query_ids=query_ids):
        if not lab.annotator.startswith(JUDGE_PREFIX) and lab.grade is not None:
            out.setdefault(lab.annotator, []).append(lab)
    versions = {v.prompt_hash: v.version for v in prompt_versions(store, corpus)}
    for s in llm_suggestions(store, corpus, query_ids=query_ids):
        v = versions.get(s.prompt_hash)
        name = f"{s.judge} prompt v{v} ({s.prompt_hash})" if v else f"{s.judge} ({s.prompt_hash})"
        out.setdefault(name, []).append(s.label)
    return out


class VersusPeople(TypedDict, total=False):
    """How judges are set against people (labels_vs_people's options; its defaults)."""

    runs: Mapping[str, Run] | None  # rankers whose `measure` and order the judge's labels redo
    rule: str  # how annotators' grades combine (store.final_qrels)
    level: str  # doc or passage
    weights: str | None  # kappa's: linear (default), quadratic or None
    measure: str  # nDCG@10 by default
    query_ids: Collection[str] | None  # only these queries
    accepted: bool  # False: labels accepted from suggestions are not people's


def labels_vs_people(
    store: JudgmentStore,
    corpus: str,
    judged: Mapping[str, Sequence[CurrentLabel]],
    *,
    runs: Mapping[str, Run] | None = None,
    rule: str = "majority",
    level: str = "doc",
    weights: str | None = "linear",
    measure: str = "nDCG@10",
    query_ids: Collection[str] | None = None,
    accepted: bool = True,
) -> list[JudgeAgreement]:
    """Each judge's labels (by name, in order) against the humans' final labels (store.final_qrels
    with `rule`), at `level`: kappa, confusion, disagreements and, with runs, each ranker's
    `measure` and Kendall's tau when the judge's grades replace the humans'. accepted=False
    leaves labels accepted from suggestions out of the humans' labels."""
    human = store.final_qrels(
        corpus, rule=rule, level=level, query_ids=query_ids, accepted=accepted
    )
    grades = store.scale(corpus).values
    return [
        judge_agreement(
            name,
            human,
            final_qrels_from(labels, None, "max", level),
            grades,
            weights=weights,
            runs=runs,
            measure=measure,
            level=level,
        )
        for name, labels in judged.items()
    ]


def judges_vs_people(
    store: JudgmentStore, corpus: str, **versus: Unpack[VersusPeople]
) -> list[JudgeAgreement]:
    """Every judge of the corpus (judge_labels) against people (labels_vs_people); judges without
    a unit in common with the humans are left out."""
    judged = judge_labels(store, corpus, query_ids=versus.get("query_ids"))
    return [rep for rep in labels_vs_people(store, corpus, judged, **versus) if rep.n]


class ScoredPair(NamedTuple):
    """A cross-encoder's dry run of one pair: its score and the grade the thresholds give."""

    pair: JudgePair
    score: float
    grade: int


def cross_encoder_dry_run(
    corpus: Corpus,
    pool: PoolInfo,
    model: str,
    thresholds: Sequence[float],
    n: int = 5,
    *,
    scorer=None,
) -> list[ScoredPair]:
    """Scores and grades of the first n pairs of a pool, stored nowhere."""
    from ranklens.judging.rules import grades_from_scores
    from ranklens.models import load_reranker

    pairs = pairs_for(corpus, pool, pool.items[: max(0, n)])
    scorer = scorer if scorer is not None else load_reranker(model)
    scores = [float(scorer.score(p.query, [p.passage])[0]) for p in pairs]
    grades = grades_from_scores(scores, thresholds)
    return [ScoredPair(p, s, g) for p, s, g in zip(pairs, scores, grades, strict=True)]
