"""The circularity warning: a ranker that asks the same LLM that labelled the evaluation's pairs
is graded by itself (a model judging its own ranking flatters it); the page and the CLI say so.

Which model labelled a pair: a label whose note says it was accepted from an LLM's suggestion
(`accepted llm:<model>`, `accepted from llm:<model> prompt <hash>`), or a label whose annotator
is `llm:<model>` (imported under that name). Which model a ranker asks: the endpoint's model
(RANKLENS_LLM_MODEL) for every recipe holding `llm` or `llm-pairwise` as a reranker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

from ranklens.config import Settings
from ranklens.judging.records import CurrentLabel
from ranklens.llm.prompt import JUDGE_PREFIX

_ACCEPTED = re.compile(r"^accepted (?:from )?llm:(\S+)")
_LLM_RERANK = re.compile(r",llm(?:-pairwise)?,")


def label_models(labels: Iterable[CurrentLabel]) -> Counter[str]:
    """How many of these labels each LLM gave (accepted suggestions, or an llm: annotator)."""
    found: Counter[str] = Counter()
    for lab in labels:
        if lab.grade is None:
            continue
        m = _ACCEPTED.match(lab.note or "")
        if m:
            found[m.group(1)] += 1
        elif lab.annotator.startswith(JUDGE_PREFIX):
            found[lab.annotator[len(JUDGE_PREFIX) :]] += 1
    return found


def ranker_models(recipe: str, settings: Settings) -> set[str]:
    """The LLM models a recipe asks (the configured endpoint's, when it reranks with an LLM)."""
    text = "".join(recipe.split())
    return {settings.llm_model} if settings.llm_model and _LLM_RERANK.search(text) else set()


def warnings(
    recipes: Sequence[str], settings: Settings, labellers: Mapping[str, int], total: int
) -> dict[str, str]:
    """{recipe: warning} for each ranker that asks a model which gave some of the `total`
    labels used (labellers: label counts by model)."""
    out: dict[str, str] = {}
    for recipe in recipes:
        for model in sorted(ranker_models(recipe, settings)):
            n = labellers.get(model, 0)
            if n:
                out[recipe] = (
                    f"{recipe} ranks with llm:{model}, the model that gave {n} of the {total} "
                    "labels used here (accepted from its suggestions): a model judging its own "
                    "ranking flatters it, so this ranker's numbers are not comparable with the "
                    "others'"
                )
    return out


def store_warnings(
    corpus: str,
    recipes: Sequence[str],
    settings: Settings,
    query_ids: Collection[str],
    *,
    store=None,
) -> dict[str, str]:
    """warnings() for labels read from the judgment store (the current human labels of these
    queries). The store is opened only when a ranker asks an LLM."""
    if not any(ranker_models(r, settings) for r in recipes):
        return {}
    from ranklens.judging import JudgmentStore

    own = store is None
    store = store or JudgmentStore(settings.db_url)
    try:
        labels = store.current_labels(corpus, query_ids=list(query_ids), include_cant_judge=False)
    finally:
        if own:
            store.close()
    return warnings(recipes, settings, label_models(labels), len(labels))


def for_labels(corpus, recipes: Sequence[str], source: str, query_ids: Collection[str]) -> dict:
    """The warnings for an evaluation whose labels came from `source` (Labels.source): only the
    judgment store records who gave a label, so other sources give none."""
    if not source.startswith("judgment store"):
        return {}
    return store_warnings(corpus.name, recipes, corpus.settings, query_ids)
