"""The LLM judge and rerankers end to end against a real server: llama.cpp's OpenAI-compatible
server with SmolLM2-135M-Instruct (scripts/setup.sh --judge), started here on 127.0.0.1.

Skips, saying why, when .venv-judge is absent. A handful of short pairs with small reply limits:
the model is a real server, not a judge to trust, so grades are never asserted, only that each
reply is counted honestly (graded, or unparseable with its text).
"""

from __future__ import annotations

import time

import httpx
import pytest

from ranklens.config import Settings
from ranklens.corpus.ingest import ingest
from ranklens.llm import local_server as local_judge
from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache
from ranklens.llm.prompt import Prompt
from ranklens.llm.reports import JudgePair
from ranklens.ranking import recipes
from ranklens.scale import Scale
from ranklens.types import Query

from .conftest import write_jsonl

pytestmark = [
    pytest.mark.skipif(
        local_judge.missing() is not None, reason=f"no local judge: {local_judge.missing()}"
    ),
    pytest.mark.usefixtures("no_proxy"),
]

PAIRS = [
    JudgePair("q1", "how to reverse a list", "p1", "d1", "Use list.reverse() to reverse a list."),
    JudgePair("q1", "how to reverse a list", "p2", "d2", "Paris is the capital of France."),
    JudgePair("q2", "what is a tuple", "p3", "d3", "A tuple is an immutable sequence."),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("judge") / "server.log"
    with local_judge.LocalJudge(threads=2, log=log) as s:
        s.log = log
        yield s


def config(server, **kw) -> LLMConfig:
    values = dict(
        url=server.url,
        model=server.model,
        timeout_s=120,
        first_token_timeout_s=90,
        concurrency=1,
        pair_attempts=1,
        max_tokens=24,
    )
    values.update(kw)
    return LLMConfig(**values)


def tokens(server, text: str) -> int:
    r = httpx.post(server.url.removesuffix("/v1") + "/extras/tokenize", json={"input": text})
    return len(r.json()["tokens"])


def counted_honestly(report, n: int) -> None:
    assert report.gave_up is None and not report.failed
    assert len(report.graded) + len(report.unparseable) == n
    assert all(j.reply is not None for j in report.judgments)


def test_structured_output_falls_back_to_llama_cpps_json_object(server) -> None:
    with LLMJudge(config(server, model="smollm2"), Scale.default()) as judge:
        report = judge.judge(PAIRS[:2])
    counted_honestly(report, 2)
    # llama-cpp-python refuses response_format json_schema and takes json_object with a schema:
    # the grammar makes the reply start with the grade, so both are graded
    assert report.refused_modes in (("json_schema",), ()) and report.modes == {"json_object": 2}
    assert len(report.graded) == 2
    assert "JSON object with a schema" in report.summary()


def test_text_prompt_with_the_reply_cap(server) -> None:
    cfg = config(server, structured="text", max_tokens=8)
    with LLMJudge(cfg, Scale.default()) as judge:
        report = judge.judge(PAIRS[:2])
    counted_honestly(report, 2)
    assert report.modes == {"text": 2}
    assert all(tokens(server, j.reply) <= 8 + 1 for j in report.judgments)


def test_a_cancelled_request_stops_the_server(server) -> None:
    essay = Prompt("Write a very long essay, at least 3000 words, about {query}. Notes: {passage}")
    cfg = config(server, structured="text", max_tokens=2000)
    start = time.monotonic()
    before = server.log.read_text(errors="replace").count("Disconnected from client")
    with LLMJudge(cfg, Scale.default(), essay) as judge:
        report = judge.judge(PAIRS[:1], cancelled=lambda: time.monotonic() - start > 3)
    assert report.gave_up.startswith("cancelled") and report.not_sent == 1
    assert time.monotonic() - start < 60
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = server.log.read_text(errors="replace")
        if log.count("Disconnected from client") > before:
            break
        time.sleep(0.2)
    assert log.count("Disconnected from client") > before, "the server kept generating"
    # the server is free again: a capped request is answered without waiting behind the essay
    with LLMJudge(config(server, structured="text", max_tokens=4), Scale.default()) as judge:
        counted_honestly(judge.judge(PAIRS[2:]), 1)


def test_a_stopped_batch_resumes_from_the_cache(server) -> None:
    cache = ReplyCache()
    done: list[int] = []
    with LLMJudge(config(server), Scale.default(), cache=cache) as judge:
        first = judge.judge(PAIRS, progress=lambda d, t: done.append(d), cancelled=lambda: done)
        assert first.gave_up.startswith("cancelled") and len(first.judgments) == 1
        again = judge.judge(PAIRS)
    counted_honestly(again, 3)
    assert again.cached == 1 and len(cache) == 3


def test_llm_rerankers_on_the_real_server(server, tmp_path) -> None:
    docs = [
        {"_id": "a", "text": "Use list.reverse() to reverse a list in place."},
        {"_id": "b", "text": "A list can be reversed with slicing."},
        {"_id": "c", "text": "Paris is the capital of France."},
    ]
    settings = Settings(
        home=tmp_path / "home", llm_url=server.url, llm_model=server.model, llm_max_tokens=16
    )  # the rerankers take the judge's reply limit: a short one keeps this test short
    corpus = ingest(write_jsonl(tmp_path / "d.jsonl", docs), "tiny", ["bm25"], settings)
    queries = [Query("q", "reverse a list")]
    first = {h.passage_id for h in recipes.make_ranker("bm25", corpus).rank(queries, 2)["q"]}
    for recipe in ("rerank(bm25,llm,2)", "rerank(bm25,llm-pairwise,2)"):
        r = recipes.make_ranker(recipe, corpus)
        run = r.rank(queries, 2)
        assert {h.passage_id for h in run["q"]} == first and r.report.failed == 0
        assert r.report.requests == 2 and r.report.modes == {"json_object": 2}


def test_the_tiny_model_lesson_on_the_real_server(server, tmp_path) -> None:
    from ranklens.teaching import tiny_judge
    from ranklens.types import Qrel

    docs = [
        {"_id": "rev", "text": "Use list.reverse() to reverse a list in place."},
        {"_id": "tup", "text": "A tuple is an immutable sequence type."},
    ]
    settings = Settings(home=tmp_path / "home", llm_url=server.url, llm_model=server.model)
    corpus = ingest(write_jsonl(tmp_path / "d.jsonl", docs), "faqlet", ["bm25"], settings)
    corpus.add_query_set("faq", [Query("q1", "reverse a list"), Query("q2", "what is a tuple")])
    known = [Qrel("q1", "rev", 1), Qrel("q2", "tup", 1)]
    pool = tiny_judge.lesson_pool(corpus, "faq", known, depth=1)
    people = [Qrel("q1", "rev", 3), Qrel("q2", "tup", 2)]
    with LLMJudge(config(server), Scale.default()) as judge:
        result = tiny_judge.run_lesson(corpus, "faq", known, judge, people=people, pool=pool)
    counted_honestly(result.report, 2)
    assert result.known_vs_other["pairs"].tolist() == [2, 0]
    assert "graded" in result.text
    if result.report.graded:  # numbers as they come: agreement on what the model graded
        assert result.agreement.n == len(result.report.graded)
        assert "Kendall's tau" in tiny_judge.agreement_text(result)
