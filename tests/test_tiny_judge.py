"""The lesson "Can a tiny model judge?" against the oracle chat stub: the pool, the known answers
against the other passages, and agreement with people where they labelled the pool."""

from __future__ import annotations

import pytest
from sklearn.metrics import cohen_kappa_score

from ranklens.llm.judge import LLMConfig, LLMJudge
from ranklens.scale import Scale
from ranklens.teaching import tiny_judge
from ranklens.types import Qrel, Query

from .conftest import index_docs
from .test_llm_rerank import DOCS, oracle  # noqa: F401 - the stub server fixture

QUERIES = [
    Query("q1", "sourdough bread wild yeast starter"),
    Query("q2", "moon tides"),
    Query("q3", "green tea brewed"),
    Query("q4", "unlabelled query"),
]
KNOWN = [Qrel("q1", "b", 1), Qrel("q2", "e", 1), Qrel("q3", "c", 1)]


pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    c = index_docs(root, DOCS, "tinyjudge", ["bm25"])
    c.add_query_set("faq", QUERIES)
    return c


def test_pool_grades_known_answers_and_agreement(corpus, oracle) -> None:  # noqa: F811
    pool = tiny_judge.lesson_pool(corpus, "faq", KNOWN, n_queries=3, depth=2)
    assert [q.query_id for q in pool.queries] == ["q1", "q2", "q3"]  # labelled ones, set order
    # bm25 finds two documents for q1, one for q2 and for q3
    assert [(p.query_id, p.doc_id) for p in pool.pairs][1:] == [
        ("q1", "d"),
        ("q2", "e"),
        ("q3", "c"),
    ]
    assert pool.known == {("q1", "b"), ("q2", "e"), ("q3", "c")}
    cfg = LLMConfig(url=oracle, model="oracle", concurrency=2)
    with LLMJudge(cfg, Scale.default()) as judge:
        alone = tiny_judge.run_lesson(corpus, "faq", KNOWN, judge, pool=pool)
        assert alone.agreement is None and "No one has labelled" in alone.notes[-1]
        groups = alone.known_vs_other.set_index("passages")
        assert groups.loc["the FAQ's known answers", "pairs"] == 3
        assert groups["pairs"].sum() == 4 and groups["graded"].sum() == 4
        assert "graded 4 of 4 pooled pairs" in alone.text
        assert set(alone.grades["known answer"]) == {True, False}
        # people labelled every pooled pair of q1 and q2 (q3 unlabelled by people)
        people = [
            Qrel(p.query_id, p.doc_id, 3 if (p.query_id, p.doc_id) in pool.known else 0)
            for p in pool.pairs
            if p.query_id != "q3"
        ]
        people.append(Qrel("q9", "x", 2))  # outside the pool: ignored
        result = tiny_judge.run_lesson(corpus, "faq", KNOWN, judge, people=people, pool=pool)
    a = result.agreement
    assert a is not None and a.n == 3 and a.queries == 2
    graded = {(j.pair.query_id, j.pair.doc_id): j.grade for j in result.report.judgments}
    units = sorted((q.query_id, q.doc_id) for q in people if q.query_id != "q9")
    expected = cohen_kappa_score(
        [3 if u in pool.known else 0 for u in units],
        [graded[u] for u in units],
        labels=[0, 1, 2, 3],
        weights="linear",
    )
    assert a.kappa == pytest.approx(expected)
    assert sum(map(sum, tiny_judge.confusion_table(result).values.tolist())) == 3
    text = tiny_judge.agreement_text(result)
    assert "weighted kappa (linear)" in text and "Kendall's tau" in text
    if result.kappa_interval is not None:
        low, high = result.kappa_interval
        assert low <= high


def test_kappa_interval_needs_two_queries() -> None:
    h = {("q1", "a"): 1, ("q1", "b"): 0}
    assert tiny_judge.kappa_interval(h, h, [0, 1]) is None
    h2 = {**h, ("q2", "a"): 1, ("q2", "b"): 0, ("q3", "a"): 0, ("q3", "b"): 1}
    j2 = {**h, ("q2", "a"): 1, ("q2", "b"): 1, ("q3", "a"): 0, ("q3", "b"): 1}
    low, high = tiny_judge.kappa_interval(h2, j2, [0, 1])
    point = cohen_kappa_score(
        [h2[u] for u in sorted(h2)], [j2[u] for u in sorted(h2)], labels=[0, 1], weights="linear"
    )
    assert low <= point <= high <= 1.0
