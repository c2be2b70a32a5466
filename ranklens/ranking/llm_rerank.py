"""LLM rerankers on the judge's endpoint: rerank(FIRST_STAGE, llm, DEPTH) grades each top passage
with the judge's prompt (pointwise); rerank(FIRST_STAGE, llm-pairwise, DEPTH) orders them by PRP.

Decisions (read before changing anything here):

- Both ask through an LLMJudge (ranklens.llm.judge): the same endpoint, reply limit, output
  modes, reply cache, concurrency, retries and time limits as the judge; pointwise grades with
  the corpus's current judge prompt (its latest saved version, else UMBRELA's). The model is the one in
  RANKLENS_LLM_MODEL when the recipe is built; `.model` names it (the circularity warning).
- Pointwise: a passage's score is the prompt's score (0..top); ties keep the first stage's
  order. A reply without a score scores -1: below every graded passage, in the first stage's
  order. The report counts them; nothing is guessed.
- Pairwise: PRP's sliding window (Qin et al. 2024, "Large Language Models are Effective Text
  Rankers with Pairwise Ranking Prompting", arXiv:2306.17563): passes from the bottom of the top
  DEPTH to the top, each comparing neighbours in both orders and swapping when both orders
  prefer the lower one (an inconsistent or unparseable pair is a tie: no swap). Pass p settles
  rank p, so min(k, DEPTH) passes order the top k; each pass costs 2 x (DEPTH - p) requests.
- A batch that stops (server down, wrong key), or a request that failed for good, fails the
  ranking with the reason: a partly reranked list would be shown under the recipe's name.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ranklens.corpus import index as index_mod
from ranklens.corpus.chunking import index_text
from ranklens.errors import RankLensError
from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache
from ranklens.llm.prompt import LLMError, Prompt, prompt_hash
from ranklens.llm.prompt_versions import current_prompt
from ranklens.llm.reports import BatchReport, JudgePair, Reply
from ranklens.ranking.composites import Composite
from ranklens.ranking.rankers import MAX_K, Ranker, RankerSpecError, check_k, truncate
from ranklens.scale import Scale
from ranklens.types import Hit, Query, Run, check_level, doc_level

POINTWISE = "llm"
PAIRWISE = "llm-pairwise"
NAMES = (POINTWISE, PAIRWISE)
PRP_MAX_TOKENS = 32  # "Passage A" or {"better": "A"}: a few tokens

# PRP's prompt (the paper's Figure 2, generation mode), with {query}, {a} and {b} slots.
PRP_PROMPT = (
    'Given a query "{query}", which of the following two passages is more relevant to the '
    'query?\n\nPassage A: "{a}"\n\nPassage B: "{b}"\n\nOutput Passage A or Passage B:'
)
PRP_SCHEMA = {
    "type": "object",
    "properties": {"better": {"type": "string", "enum": ["A", "B"]}},
    "required": ["better"],
    "additionalProperties": False,
}
_PASSAGE = re.compile(r"passage\s*([ab])\b", re.IGNORECASE)


def parse_preference(reply: str, mode: str = "text") -> str | None:
    """ "A" or "B" from a PRP reply: the JSON `better`, else the first "Passage A/B" named;
    None when neither."""
    if mode != "text":
        try:
            data = json.loads(reply or "")
        except ValueError:
            data = None
        better = data.get("better") if isinstance(data, dict) else None
        if better in ("A", "B"):
            return better
    m = _PASSAGE.search(reply or "")
    return m.group(1).upper() if m else None


def render_prp(query: str, a: str, b: str, mode: str = "text") -> str:
    text = PRP_PROMPT.replace("{query}", query).replace("{a}", a).replace("{b}", b)
    if mode != "text":
        text += '\nAnswer in JSON: {"better": "A"} or {"better": "B"}.'
    return text


@dataclass
class RerankReport:
    """What an LLM reranking asked: requests, cache hits, unparseable and failed replies, tokens
    (where the server reported them), output modes."""

    ranker: str
    model: str
    requests: int = 0
    cached: int = 0
    unparseable: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_reported: bool = False
    modes: dict[str, int] = field(default_factory=dict)

    def add(self, reply: Reply | None, mode: str | None, cached: bool, parsed: bool) -> None:
        self.requests += 1
        self.cached += cached
        if reply is None:
            self.failed += 1
            return
        self.unparseable += not parsed
        if mode:
            self.modes[mode] = self.modes.get(mode, 0) + 1
        if not cached:
            for attr in ("prompt_tokens", "completion_tokens"):
                value = getattr(reply, attr)
                if value is not None:
                    self.tokens_reported = True
                    setattr(self, attr, getattr(self, attr) + value)

    def add_batch(self, report: BatchReport) -> None:
        for j in report.judgments:
            reply = (
                None if j.reply is None else Reply(j.reply, j.prompt_tokens, j.completion_tokens)
            )
            self.add(reply, j.mode, j.cached, j.score is not None)

    def summary(self) -> str:
        text = (
            f"{self.ranker} (llm:{self.model}): {self.requests} requests ({self.cached} from the "
            f"cache), {self.unparseable} unparseable, {self.failed} failed"
        )
        if self.tokens_reported:
            text += f"; tokens {self.prompt_tokens} prompt, {self.completion_tokens} completion"
        if self.modes:
            text += "; modes " + ", ".join(f"{m} {n}" for m, n in self.modes.items())
        return text + "."


def config_from_settings(corpus: index_mod.Corpus) -> LLMConfig:
    """The judge's endpoint for a reranker (RankerSpecError when none is configured)."""
    try:
        return LLMConfig.from_settings(corpus.settings)
    except LLMError as exc:
        raise RankerSpecError(f"an LLM reranker needs an endpoint: {exc}") from None


def corpus_prompt(corpus: index_mod.Corpus) -> Prompt:
    """The corpus's current judge prompt (its latest saved version, else UMBRELA's)."""
    from ranklens.schema import Database

    try:
        db = Database(corpus.settings.db_url)
        try:
            return current_prompt(db, corpus.name)
        finally:
            db.close()
    except RankLensError:
        return Prompt()


class LLMRerank(Composite):
    """An LLM reranking the top `depth` passages of a first stage, pointwise or pairwise (PRP).
    By document (level "doc"), each document keeps its best reranked passage."""

    def __init__(
        self,
        first_stage: Ranker,
        corpus: index_mod.Corpus,
        method: str = POINTWISE,
        depth: int = 20,
        judge: LLMJudge | None = None,
    ) -> None:
        if method not in NAMES:
            raise RankerSpecError(f"unknown LLM reranker {method!r}; expected {' or '.join(NAMES)}")
        self.first_stage, self.corpus, self.method = first_stage, corpus, method
        self.depth = check_k(depth, MAX_K)
        self._judge = judge
        self.config = judge.config if judge is not None else config_from_settings(corpus)
        self.model = self.config.model
        self.name = f"rerank({first_stage.name},{method},{self.depth})"
        self.report: RerankReport | None = None
        self._lock = threading.Lock()

    def children(self, k: int, level: str = "passage") -> list[tuple[Ranker, int, str]]:
        return [(self.first_stage, self.depth, "passage")]

    def combine(
        self, queries: Sequence[Query], runs: list[Run], k: int, level: str = "passage"
    ) -> Run:
        by_doc = check_level(level) == "doc"
        first = {q.query_id: runs[0].get(q.query_id, [])[: self.depth] for q in queries}
        pids = sorted({h.passage_id for hits in first.values() for h in hits})
        passages = self.corpus.get_passages(pids)
        texts = {pid: index_text(p) for pid, p in passages.items()}
        report = RerankReport(self.name, self.model)
        judge = self._judge or LLMJudge(
            self.config,
            Scale.default(),
            corpus_prompt(self.corpus),
            cache=ReplyCache.from_settings(self.corpus.settings),
        )
        try:
            with self._lock:  # one batch at a time per ranker: the judge's concurrency holds
                if self.method == POINTWISE:
                    out = self._pointwise(judge, queries, first, texts, report)
                else:
                    out = self._pairwise(judge, queries, first, texts, report, min(k, self.depth))
        finally:
            if judge is not self._judge:
                judge.close()
        self.report = report
        if by_doc:
            out = doc_level(out)
        return truncate(out, k)

    def _incomplete(self, failed: int, asked: int, last: str | None) -> str:
        return (
            f"{self.name}: {failed} of {asked} requests failed (the last: {last}); the ranking "
            "would be incomplete. What was asked is cached: run again to resume"
        )

    # -- pointwise

    def _pointwise(self, judge: LLMJudge, queries, first, texts, report: RerankReport) -> Run:
        pairs = [
            JudgePair(q.query_id, q.text, h.passage_id, h.doc_id, texts.get(h.passage_id, ""))
            for q in queries
            for h in first[q.query_id]
        ]
        batch = judge.judge(pairs)
        if batch.gave_up:
            raise LLMError(f"{self.name}: {batch.gave_up}")
        if batch.failed:
            raise LLMError(self._incomplete(len(batch.failed), len(pairs), batch.failed[-1].error))
        report.add_batch(batch)
        score = {(j.pair.query_id, j.pair.passage_id): j.score for j in batch.judgments}
        out: Run = {}
        for q in queries:
            hits = first[q.query_id]
            scored = [
                (s if (s := score.get((q.query_id, h.passage_id))) is not None else -1, h)
                for h in hits
            ]
            order = sorted(range(len(hits)), key=lambda i: (-scored[i][0], hits[i].rank))
            out[q.query_id] = [
                hits[i]._replace(score=float(scored[i][0]), rank=r) for r, i in enumerate(order, 1)
            ]
        return out

    # -- pairwise (PRP sliding window)

    def _prefer(
        self, judge: LLMJudge, query: str, a: str, b: str, report: RerankReport
    ) -> str | None:
        """ "A", "B" or None (failed or unparseable) for one ordered comparison, cached."""
        modes = judge.modes()
        blob = json.dumps([a, b], ensure_ascii=False)
        base = prompt_hash(PRP_PROMPT, 1)
        for mode in modes:
            mark = base if mode == "text" else f"{base}+{mode}"
            hit = judge.cache.get(ReplyCache.key(mark, judge.config.model, query, blob))
            if hit is not None:
                pref = parse_preference(hit.text, mode)
                report.add(hit, mode, True, pref is not None)
                return pref
        reply, mode = judge.complete(
            lambda m: render_prp(query, a, b, m),
            schema=PRP_SCHEMA,
            name="preference",
            max_tokens=judge.config.max_tokens or PRP_MAX_TOKENS,
        )
        mark = base if mode == "text" else f"{base}+{mode}"
        judge.cache.put(
            ReplyCache.key(mark, judge.config.model, query, blob), base, judge.config.model, reply
        )
        pref = parse_preference(reply.text, mode)
        report.add(reply, mode, False, pref is not None)
        return pref

    def _pairwise(
        self, judge: LLMJudge, queries, first, texts, report: RerankReport, passes: int
    ) -> Run:
        order: dict[str, list[Hit]] = {q.query_id: list(first[q.query_id]) for q in queries}
        text_of = {q.query_id: q.text for q in queries}
        for p in range(passes):
            for step in range(max(len(v) for v in order.values()) - 1 if order else 0, p, -1):
                jobs = [(qid, step) for qid, hits in order.items() if step < len(hits)]
                asks = []
                for qid, i in jobs:
                    upper, lower = order[qid][i - 1], order[qid][i]
                    a, b = texts.get(upper.passage_id, ""), texts.get(lower.passage_id, "")
                    asks += [(qid, a, b), (qid, b, a)]

                def work(n: int, asks=asks) -> str | None:
                    qid, a, b = asks[n]
                    return self._prefer(judge, text_of[qid], a, b, report)

                run = judge.run_batch(len(asks), work)
                if run.gave_up:
                    raise LLMError(f"{self.name}: {run.gave_up}")
                if run.errors:
                    raise LLMError(
                        self._incomplete(len(run.errors), len(asks), list(run.errors.values())[-1])
                    )
                for n, (qid, i) in enumerate(jobs):
                    # asked (upper, lower) then (lower, upper): both prefer the lower one -> swap
                    if run.results.get(2 * n) == "B" and run.results.get(2 * n + 1) == "A":
                        hits = order[qid]
                        hits[i - 1], hits[i] = hits[i], hits[i - 1]
        out: Run = {}
        for qid, hits in order.items():
            n = len(hits)
            out[qid] = [h._replace(score=float(n - r), rank=r + 1) for r, h in enumerate(hits)]
        return out


def is_llm_reranker(name: str) -> bool:
    return name in NAMES
