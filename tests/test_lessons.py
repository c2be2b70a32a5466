"""Lessons on the bundled demo (bm25 + a fast fake encoder): each picks its query by its rule,
and each step table gives the number the library itself reports."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ranklens import models
from ranklens.config import DEMO_DIR
from ranklens.corpus import index, ingest
from ranklens.evaluation.measures import evaluate_runs, per_query_table
from ranklens.ranking import ann
from ranklens.ranking.recipes import make_ranker
from ranklens.teaching import lessons

from .conftest import FakeEncoder, module_home


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    with module_home(tmp_path_factory.mktemp("lessons")) as settings:
        enc = FakeEncoder()
        models.register_encoder(enc)
        big_batches = dataclasses.replace(settings, batch_size=512)  # few Chroma adds
        corpus = ingest.ingest(DEMO_DIR, "demo-lessons", ["bm25", enc.name], big_batches)
        qrels = corpus.shipped_qrels()["faq"]
        yield lessons.prepare(corpus, "faq", qrels, dense=enc.name)


@pytest.fixture(scope="module")
def all_lessons(ctx):
    return {lesson.number: lesson for lesson in lessons.all_lessons(ctx)}


def test_seven_lessons_each_agreeing_with_the_library(all_lessons):
    assert sorted(all_lessons) == [1, 2, 3, 4, 5, 6, 7]
    for lesson in all_lessons.values():
        assert lesson.steps is not None and lesson.steps.rows, lesson.key
        assert lesson.steps.agrees, (lesson.key, lesson.steps.total, lesson.steps.reported)
        assert lesson.target.page in ("search", "evaluate") and lesson.target.query_set == "faq"
        if lesson.query is not None:
            assert lesson.query.text not in lesson.text  # query text is shown apart, as text


def test_bm25_lesson_picks_the_largest_win_and_reports_the_index_score(ctx, all_lessons):
    lesson = all_lessons[1]
    nd = ctx.table()
    diff = nd[ctx.sparse] - nd[ctx.dense]
    assert diff[lesson.query.query_id] == diff.max()
    doc, hit = lessons._answer(ctx, lesson.query.query_id, ctx.sparse)
    bm25 = make_ranker("bm25", ctx.corpus).rank([lesson.query], 1000)[lesson.query.query_id]
    score = next(h.score for h in bm25 if h.passage_id == hit.passage_id)
    assert math.isclose(lesson.steps.reported, score, rel_tol=1e-5)


def test_dense_lesson_reports_the_cosine_chroma_returns(ctx, all_lessons):
    lesson = all_lessons[2]
    nd = ctx.table()
    assert nd.at[lesson.query.query_id, ctx.dense] > nd.at[lesson.query.query_id, ctx.sparse]
    _, hit = lessons._answer(ctx, lesson.query.query_id, ctx.dense)
    assert hit is not None and math.isclose(lesson.steps.reported, hit.score, abs_tol=1e-4)
    # it says what BM25's tokenizer kept and dropped, never "no words in common" of a query
    # whose words (g++) a reader sees in the answer
    report = index.bm25_token_report(lesson.query.text, ctx.corpus.bm25_settings())
    assert "BM25's tokenizer kept of the query" in lesson.text
    assert "no words in common" not in lesson.text
    for word, _why in report.dropped:
        assert f"“{word}”" in lesson.text


def test_token_report_names_what_the_tokenizer_dropped():
    report = index.bm25_token_report("Can I compile g++ code with C++?", index.BM25Settings())
    dropped = dict(report.dropped)
    assert dropped["g++"] == dropped["C++?"] == "no run of two or more letters or digits"
    assert dropped["with"] == "a stopword"
    assert ("compile", ["compil"]) in report.kept and "code" in report.tokens
    assert index.bm25_token_report("", index.BM25Settings()).kept == []


def test_fusion_lesson_adds_up_reciprocal_ranks_to_the_fused_score(ctx, all_lessons):
    lesson = all_lessons[3]
    qid = lesson.query.query_id
    doc, hit = lessons._answer(ctx, qid, ctx.fused)
    expected = 0.0
    for name in (ctx.sparse, ctx.dense):
        r = next((h.rank for h in ctx.runs[name][qid] if h.doc_id == doc), None)
        expected += 1 / (60 + r) if r else 0.0
    assert math.isclose(lesson.steps.total, expected) and math.isclose(hit.score, expected)


def test_ndcg_and_judged_lessons_report_ir_measures_values(ctx, all_lessons):
    four, six = all_lessons[4], all_lessons[6]
    best = str(ctx.table().mean().idxmax())
    assert math.isclose(four.steps.reported, ctx.table().at[four.query.query_id, best])
    worst = six.table.sort_values("Judged@10", kind="stable")["ranker"].iloc[0]
    assert math.isclose(six.steps.reported, ctx.table("Judged@10").at[six.query.query_id, worst])
    condensed = evaluate_runs(ctx.runs, ctx.qrels, ["nDCG@10"], condensed=True)
    means = per_query_table(condensed, "nDCG@10").mean()
    for _, row in six.table.iterrows():
        assert math.isclose(row["nDCG@10 condensed"], means[row["ranker"]])


def test_significance_lesson_uses_twenty_queries(ctx, all_lessons):
    lesson = all_lessons[5]
    assert len(lesson.steps.rows) == lessons.SAMPLE_QUERIES
    ids = [r["query"] for r in lesson.steps.rows]
    nd = ctx.table().loc[ids]
    assert math.isclose(lesson.steps.reported, nd[ctx.sparse].mean() - nd[ctx.dense].mean())


def test_hnsw_lesson_matches_the_recall_report(ctx, all_lessons):
    lesson = all_lessons[7]
    report = ann.hnsw_recall(ctx.corpus, ctx.dense, [lesson.query], k=10)
    assert math.isclose(lesson.steps.reported, report.per_query[lesson.query.query_id])
    assert np.isclose(lesson.steps.total, lesson.steps.reported)


def test_prepare_refuses_a_set_without_labels(ctx):
    with pytest.raises(Exception, match="labelled queries"):
        lessons.prepare(ctx.corpus, "faq", [], dense=ctx.dense)
