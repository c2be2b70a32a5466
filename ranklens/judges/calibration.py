"""Calibrating an LLM judge on the team's own labels: a seeded split of the labelled queries,
few-shot examples from the calibration queries, and the judge measured on held-out queries only.

Decisions (read before changing anything here):

- The split, the labelled pairs and the examples are ranklens.judges.few_shot's: examples
  come only from calibration queries; nothing of a calibration query is sent for grading.
- The report covers held-out queries only: for each prompt version, without and with the
  examples: weighted kappa (scikit-learn, through judge_agreement) with a 95% percentile
  bootstrap interval over the held-out units (scipy.stats.bootstrap, seeded), the confusion
  matrix, Kendall's tau of the rankers' order by nDCG@10 (ir_measures, runs cut to the held-out
  queries), the share of unparseable replies and the tokens used.
- Each calibration is recorded (llm_calibrations) with its seed, split, examples, calibrated
  prompt text and report, so a calibrated judge is reproducible; use_calibration() saves its
  prompt as the corpus's newest prompt version.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import sqlalchemy as sa
from scipy.stats import bootstrap

from ranklens.errors import InputError, NotFoundError
from ranklens.judges.few_shot import (
    DEFAULT_EXAMPLES,
    DEFAULT_FRACTION,
    DEFAULT_TOKEN_BUDGET,
    Example,
    LabelledPair,
    calibrated_prompt,
    estimate_tokens,
    labelled_pairs,
    pick_examples,
    split_queries,
)
from ranklens.judges.judge_agreement import JudgeAgreement, common_units, judge_agreement, kappa
from ranklens.judging.records import CurrentLabel
from ranklens.judging.rules import check_name, final_qrels_from
from ranklens.llm.judge import LLMJudge
from ranklens.llm.prompt import Prompt
from ranklens.llm.reports import BatchReport
from ranklens.scale import Scale
from ranklens.schema import insert_row, llm_calibrations
from ranklens.types import Qrel, Run

if TYPE_CHECKING:
    from ranklens.corpus.index import Corpus
    from ranklens.judging.store import JudgmentStore

BOOTSTRAP_RESAMPLES = 999


# ---------------------------------------------------------------- the report


@dataclass
class ArmReport:
    """One prompt (a version without or with the examples) on the held-out queries."""

    prompt_version: str  # "v2" or "UMBRELA's"
    prompt_hash: str
    examples: int
    pairs: int
    graded: int
    unparseable: int
    failed: int
    agreement: JudgeAgreement
    kappa_low: float | None = None
    kappa_high: float | None = None
    prompt_tokens: int | None = None  # as the server reported them (cached replies included)
    completion_tokens: int | None = None
    estimated_prompt_tokens: int = 0  # estimate_tokens over every prompt of this arm
    cached: int = 0
    gave_up: str | None = None
    seconds: float = 0.0

    @property
    def unparseable_share(self) -> float | None:
        answered = self.pairs - self.failed
        return None if answered <= 0 else self.unparseable / answered

    def to_dict(self) -> dict:
        data = asdict(self)
        data["agreement"] = self.agreement.to_dict()
        data["unparseable_share"] = self.unparseable_share
        return data


@dataclass
class CalibrationReport:
    """A judge on held-out queries, each prompt version without and with calibration examples."""

    corpus: str
    query_set: str
    model: str
    seed: int
    fraction: float
    calibration_queries: list[str]
    held_out_queries: list[str]
    examples: list[Example]
    weights: str | None
    level: str
    measure: str
    arms: list[ArmReport] = field(default_factory=list)
    calibration_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "corpus": self.corpus,
            "query_set": self.query_set,
            "judge": f"llm:{self.model}",
            "seed": self.seed,
            "fraction": self.fraction,
            "calibration_queries": self.calibration_queries,
            "held_out_queries": self.held_out_queries,
            "examples": [ex._asdict() for ex in self.examples],
            "weights": self.weights,
            "level": self.level,
            "measure": self.measure,
            "arms": [a.to_dict() for a in self.arms],
            "calibration_ids": self.calibration_ids,
        }

    def summary(self) -> str:
        lines = [
            f"llm:{self.model} on {len(self.held_out_queries)} held-out queries of "
            f"{self.query_set!r} (seed {self.seed}; {len(self.calibration_queries)} calibration "
            f"queries gave {len(self.examples)} examples)"
        ]
        for a in self.arms:
            k = a.agreement.kappa
            ci = (
                f" [{a.kappa_low:.3f}, {a.kappa_high:.3f}]"
                if a.kappa_low is not None and a.kappa_high is not None
                else ""
            )
            tau = a.agreement.tau
            share = a.unparseable_share
            tokens = (
                f"{a.prompt_tokens} prompt + {a.completion_tokens} completion tokens"
                if a.prompt_tokens is not None
                else f"~{a.estimated_prompt_tokens} prompt tokens (estimated)"
            )
            lines.append(
                f"  prompt {a.prompt_version} ({a.prompt_hash}), "
                f"{'no examples' if not a.examples else f'{a.examples} examples'}: "
                f"kappa {'undefined' if k is None else f'{k:.3f}'}{ci} over {a.agreement.n} "
                f"units; Kendall's tau {'n/a' if tau is None else f'{tau:.3f}'}; unparseable "
                f"{'n/a' if share is None else f'{share:.0%}'} ({a.unparseable} of "
                f"{a.pairs}); {a.failed} failed; {tokens}"
                + (f"; stopped: {a.gave_up}" if a.gave_up else "")
            )
        return "\n".join(lines)


def kappa_interval(
    human: Sequence[int],
    judge: Sequence[int],
    grades: Sequence[int],
    weights: str | None = "linear",
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float | None, float | None]:
    """A 95% percentile bootstrap interval of the weighted kappa over paired units
    (scipy.stats.bootstrap, seeded); (None, None) when it is undefined."""
    if len(human) < 2 or kappa(human, judge, grades, weights) is None:
        return None, None

    def stat(h, j):
        value = kappa(list(h), list(j), grades, weights)
        return np.nan if value is None else value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap(
            (np.asarray(human), np.asarray(judge)),
            stat,
            paired=True,
            vectorized=False,
            n_resamples=resamples,
            confidence_level=0.95,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):
        return None, None
    return low, high


def _judged_qrels(judgments, level: str) -> list[Qrel]:
    labels = [
        CurrentLabel("judge", j.pair.query_id, j.pair.doc_id, j.pair.passage_id, j.grade, None,
                     "suggestion", n, 0.0, None)
        for n, j in enumerate(judgments)
        if j.grade is not None
    ]  # fmt: skip
    return final_qrels_from(labels, None, "max", level)


def _human_qrels(pairs: Sequence[LabelledPair], level: str) -> list[Qrel]:
    labels = [
        CurrentLabel("people", p.query_id, p.doc_id, p.passage_id, p.grade, None, "human", n,
                     0.0, None)
        for n, p in enumerate(pairs)
    ]  # fmt: skip
    return final_qrels_from(labels, None, "max", level)


def _arm(
    name: str,
    version: str,
    prompt: Prompt,
    n_examples: int,
    report: BatchReport,
    human: list[Qrel],
    scale: Scale,
    *,
    weights: str | None,
    runs: Mapping[str, Run] | None,
    measure: str,
    level: str,
    seed: int,
    resamples: int,
) -> ArmReport:
    judged = _judged_qrels(report.judgments, level)
    agreement = judge_agreement(
        name, human, judged, scale.values, weights=weights, runs=runs, measure=measure, level=level
    )
    both, _, _ = common_units(human, judged)
    low, high = kappa_interval(
        [a for *_, a, _ in both],
        [b for *_, b in both],
        scale.values,
        weights,
        seed=seed,
        resamples=resamples,
    )
    pt = [j.prompt_tokens for j in report.judgments if j.prompt_tokens is not None]
    ct = [j.completion_tokens for j in report.judgments if j.completion_tokens is not None]
    return ArmReport(
        prompt_version=version,
        prompt_hash=prompt.hash,
        examples=n_examples,
        pairs=report.total,
        graded=len(report.graded),
        unparseable=len(report.unparseable),
        failed=len(report.failed) + report.not_sent,
        agreement=agreement,
        kappa_low=low,
        kappa_high=high,
        prompt_tokens=sum(pt) if pt else None,
        completion_tokens=sum(ct) if ct else None,
        estimated_prompt_tokens=sum(
            estimate_tokens(prompt.render(j.pair.query, j.pair.passage)) for j in report.judgments
        ),
        cached=report.cached,
        gave_up=report.gave_up,
        seconds=round(report.seconds, 3),
    )


def default_prompt(store: JudgmentStore, corpus: str) -> tuple[str, Prompt]:
    """The prompt a calibration starts from: the corpus's latest version (UMBRELA's when none is
    saved); when that version is itself a calibrated prompt, the version it was made from, so
    that examples are never written into a prompt twice."""
    from ranklens.judges.judges import prompt_versions

    versions = prompt_versions(store, corpus)
    if not versions:
        return "UMBRELA's", Prompt()
    by_hash = {v.prompt_hash: v for v in versions}
    latest = versions[-1]
    made_from = {c.calibrated_hash: c.base_hash for c in calibrations(store, corpus)}
    base = made_from.get(latest.prompt_hash)
    if base is None:
        return f"v{latest.version}", latest.prompt
    if base in by_hash:
        return f"v{by_hash[base].version}", by_hash[base].prompt
    if base == Prompt().hash:
        return "UMBRELA's", Prompt()
    return f"v{latest.version}", latest.prompt


def calibrate(
    store: JudgmentStore,
    corpus: Corpus,
    query_set: str,
    make_judge: Callable[[Prompt], LLMJudge],
    *,
    prompts: Sequence[tuple[str, Prompt]] | None = None,
    examples: int = DEFAULT_EXAMPLES,
    seed: int = 0,
    fraction: float = DEFAULT_FRACTION,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    runs: Mapping[str, Run] | None = None,
    rule: str = "majority",
    weights: str | None = "linear",
    measure: str = "nDCG@10",
    level: str = "doc",
    author: str = "unknown",
    record: bool = True,
    resamples: int = BOOTSTRAP_RESAMPLES,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationReport:
    """Split the query set's labelled queries (seeded, by query), pick examples from the
    calibration queries, and judge the held-out pairs with each prompt (name, Prompt; default:
    the corpus's latest version) without and with the examples. Nothing of a calibration query
    is sent for grading; judgments are not stored as suggestions (replies are cached). With
    record=True each prompt's calibration is kept in llm_calibrations."""
    if resamples < 1:
        raise InputError(None, f"the bootstrap needs at least 1 resample, got {resamples}")
    sets = corpus.query_sets()
    if query_set not in sets:
        raise NotFoundError(
            f"corpus {corpus.name!r} has no query set {query_set!r}; it has: "
            f"{', '.join(sorted(sets)) or 'none'}"
        )
    set_ids = {q.query_id for q in sets[query_set]}
    pairs = labelled_pairs(store, corpus, set_ids, rule=rule)
    split = split_queries({p.query_id for p in pairs}, fraction=fraction, seed=seed)
    cal, held = set(split.calibration), set(split.held_out)
    scale = store.scale(corpus.name)
    if prompts is None:
        prompts = [default_prompt(store, corpus.name)]
    held_pairs = [p for p in pairs if p.query_id in held]
    human = _human_qrels(held_pairs, level)
    held_runs = (
        {name: {q: hits for q, hits in run.items() if q in held} for name, run in runs.items()}
        if runs
        else None
    )
    cal_pairs = [p for p in pairs if p.query_id in cal]
    to_judge = [p.judge_pair for p in held_pairs]
    total = 2 * len(prompts) * len(to_judge)
    done_before = 0

    def step(done: int, _total: int) -> None:
        if progress is not None:
            progress(done_before + done, total)

    first_top = prompts[0][1].top if prompts else 3
    chosen = pick_examples(
        cal_pairs, examples, scale, first_top, token_budget=token_budget, seed=seed
    )
    report = CalibrationReport(
        corpus.name,
        query_set,
        "",
        seed,
        fraction,
        list(split.calibration),
        list(split.held_out),
        chosen,
        weights,
        level,
        measure,
    )
    calibrated: list[tuple[str, Prompt, Prompt, list[Example]]] = []
    for version, base in prompts:
        shown = (
            chosen
            if base.top == first_top
            else pick_examples(
                cal_pairs, examples, scale, base.top, token_budget=token_budget, seed=seed
            )
        )
        with_examples = calibrated_prompt(base, shown)
        for prompt, n_ex in ((base, 0), (with_examples, len(shown))):
            judge = make_judge(prompt)
            try:
                batch = judge.judge(to_judge, progress=step)
            finally:
                judge.close()
            report.model = judge.config.model
            done_before += len(to_judge)
            label = f"llm:{judge.config.model} prompt {version}" + (
                f" + {n_ex} examples" if n_ex else ""
            )
            report.arms.append(
                _arm(
                    label,
                    version,
                    prompt,
                    n_ex,
                    batch,
                    human,
                    scale,
                    weights=weights,
                    runs=held_runs,
                    measure=measure,
                    level=level,
                    seed=seed,
                    resamples=resamples,
                )
            )
        calibrated.append((version, base, with_examples, shown))
    if record:
        author = check_name(author, "author")
        data = report.to_dict()
        with store.write() as conn:
            for _version, base, with_examples, shown in calibrated:
                row_id = insert_row(
                    conn,
                    llm_calibrations,
                    corpus=corpus.name,
                    query_set=query_set,
                    model=report.model,
                    base_hash=base.hash,
                    calibrated_hash=with_examples.hash,
                    calibrated_text=with_examples.text,
                    top=with_examples.top,
                    seed=seed,
                    examples=json.dumps([ex._asdict() for ex in shown], ensure_ascii=False),
                    report=json.dumps(data, ensure_ascii=False),
                    author=author,
                    created_at=time.time(),
                )
                report.calibration_ids.append(row_id)
    return report


# ---------------------------------------------------------------- recorded calibrations


class Calibration(NamedTuple):
    """A recorded calibration: the calibrated prompt, its examples and the report it got."""

    id: int
    corpus: str
    query_set: str
    model: str
    base_hash: str
    calibrated_hash: str
    calibrated_text: str
    top: int
    seed: int
    examples: list[dict]
    report: dict
    author: str
    created_at: float

    @property
    def prompt(self) -> Prompt:
        return Prompt(self.calibrated_text, self.top)


def calibrations(store: JudgmentStore, corpus: str) -> list[Calibration]:
    """The corpus's recorded calibrations, oldest first."""
    c = llm_calibrations.c
    with store.read() as conn:
        rows = conn.execute(
            sa.select(llm_calibrations).where(c.corpus == corpus).order_by(c.id)
        ).all()
    out = []
    for r in rows:
        values = r._asdict()
        values["examples"] = json.loads(values["examples"])
        values["report"] = json.loads(values["report"])
        out.append(Calibration(**values))
    return out


def use_calibration(store: JudgmentStore, corpus: str, calibration_id: int, author: str):
    """Save a recorded calibration's prompt (with its examples) as the corpus's newest prompt
    version; returns that PromptVersion."""
    from ranklens.judges.judges import save_prompt

    found = [c for c in calibrations(store, corpus) if c.id == calibration_id]
    if not found:
        raise NotFoundError(f"corpus {corpus!r} has no calibration {calibration_id}")
    return save_prompt(store, corpus, found[0].prompt, author)
