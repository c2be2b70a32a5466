"""LLM rerankers (rerank(FIRST, llm, DEPTH) and rerank(FIRST, llm-pairwise, DEPTH)) against an
oracle chat stub on 127.0.0.1 whose grades and preferences follow query-word overlap.
"""

from __future__ import annotations

import json
import re
import threading

import pytest

from ranklens.config import Settings
from ranklens.corpus.chunking import index_text
from ranklens.corpus.ingest import ingest
from ranklens.errors import RankLensError
from ranklens.ranking import recipes
from ranklens.ranking.llm_rerank import LLMRerank, parse_preference
from ranklens.types import Query

from .conftest import free_port, index_docs, write_jsonl
from .local_http import QuietHandler, chat_reply, serving

DOCS = [
    ("a", "Bread", "Bread rises with yeast."),
    ("b", "Sourdough bread", "Sourdough bread rises slowly with wild yeast and starter."),
    ("c", "Tea", "Green tea is brewed cool; bread is not tea."),
    ("d", "Yeast", "Wild yeast and bacteria make a sourdough starter rise."),
    ("e", "Moon", "The Moon causes tides."),
    ("f", "Rye", "Rye bread uses sourdough starter for a sour flavour."),
]
QUERIES = [Query("q1", "sourdough bread wild yeast starter"), Query("q2", "moon tides bread")]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def overlap(query: str, passage: str) -> int:
    return len(words(query) & words(passage))


class Oracle(QuietHandler):
    """Pointwise: grade = min(3, query words in the passage). PRP: the passage with more query
    words (B on a tie, so a tie never swaps). JSON when response_format is asked for."""

    calls: list[dict] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.read_json()
        text = body["messages"][0]["content"]
        with self.lock:
            Oracle.calls.append(body)
        structured = body.get("response_format") is not None
        m = re.match(
            r'Given a query "(.*?)", .*?Passage A: "(.*?)"\n\nPassage B: "(.*?)"', text, re.S
        )
        if m:
            q, a, b = m.groups()
            better = "A" if overlap(q, a) > overlap(q, b) else "B"
            content = json.dumps({"better": better}) if structured else f"Passage {better}"
        else:
            q = re.search(r"Query: (.*)\n", text).group(1)
            p = re.search(r"Passage: (.*?)\n\nSplit", text, re.S).group(1)
            g = min(3, overlap(q, p))
            content = (
                json.dumps({"grade": g, "reason": "overlap"})
                if structured
                else (f"##final score: {g}")
            )
        self.send_json(200, chat_reply(content))


@pytest.fixture(scope="module")
def oracle():
    """The Oracle server's /v1 URL, one per module (clear the proxies with `no_proxy`)."""
    with serving(Oracle, "/v1") as url:
        yield url


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, oracle):
    root = tmp_path_factory.mktemp("llmrerank")
    return index_docs(root, DOCS, "llm-tiny", ["bm25"], llm_url=oracle, llm_model="oracle")


pytestmark = pytest.mark.usefixtures("no_proxy")


def expected(corpus, first_run, key) -> dict[str, list[str]]:
    """The first stage's passages sorted by `key(query, passage text)` descending, stably."""
    out = {}
    for q in QUERIES:
        hits = first_run[q.query_id]
        texts = corpus.get_passages([h.passage_id for h in hits])
        ranked = sorted(hits, key=lambda h: -key(q.text, index_text(texts[h.passage_id])))
        out[q.query_id] = [h.passage_id for h in ranked]
    return out


def test_pointwise_reranks_by_the_judges_grades_and_caches(corpus) -> None:
    Oracle.calls = []
    r = recipes.make_ranker("rerank(bm25, llm, 5)", corpus)
    assert isinstance(r, LLMRerank) and r.name == "rerank(bm25,llm,5)" and r.model == "oracle"
    first = recipes.make_ranker("bm25", corpus).rank(QUERIES, 5)
    run = r.rank(QUERIES, 5)
    want = expected(corpus, first, lambda q, p: min(3, overlap(q, p)))
    assert {q: [h.passage_id for h in hits] for q, hits in run.items()} == want
    assert [h.rank for h in run["q1"]] == list(range(1, len(run["q1"]) + 1))
    n = sum(len(v) for v in first.values())
    assert r.report.requests == n and r.report.cached == 0 and r.report.unparseable == 0
    assert r.report.modes == {"json_schema": n}
    assert Oracle.calls[0]["response_format"]["type"] == "json_schema"
    assert "rerank(bm25,llm,5) (llm:oracle)" in r.report.summary()
    again = recipes.make_ranker("rerank(bm25,llm,5)", corpus).rank(QUERIES, 3)
    assert len(Oracle.calls) == n  # every grade from the cache
    assert {q: [h.passage_id for h in hits] for q, hits in again.items()} == {
        q: v[:3] for q, v in want.items()
    }


def test_pairwise_sliding_window_orders_the_top(corpus) -> None:
    Oracle.calls = []
    r = recipes.make_ranker("rerank(bm25,llm-pairwise,4)", corpus)
    first = recipes.make_ranker("bm25", corpus).rank(QUERIES, 4)
    run = r.rank(QUERIES, 4)
    want = expected(corpus, first, overlap)
    assert {q: [h.passage_id for h in hits] for q, hits in run.items()} == want
    # both orders of every neighbouring pair, passes 0..3 over 4 passages: 3 + 2 + 1 steps
    lengths = [len(first[q.query_id]) for q in QUERIES]
    assert r.report.requests == sum(2 * (m - 1) * m // 2 for m in lengths)
    assert r.report.unparseable == 0 and r.report.failed == 0
    sent = len(Oracle.calls)
    recipes.make_ranker("rerank(bm25,llm-pairwise,4)", corpus).rank(QUERIES, 4)
    assert len(Oracle.calls) == sent  # the comparisons are cached
    # the top 1 needs one pass only
    top1 = recipes.make_ranker("rerank(bm25,llm-pairwise,4)", corpus).rank(QUERIES, 1)
    assert {q: [h.passage_id for h in v] for q, v in top1.items()} == {
        q: v[:1] for q, v in want.items()
    }


def test_no_endpoint_or_a_dead_one_says_why(corpus, tmp_path) -> None:
    bare = ingest(
        write_jsonl(tmp_path / "d.jsonl", [{"_id": "x", "text": "bread"}]),
        "bare",
        ["bm25"],
        Settings(home=tmp_path / "home"),
    )
    with pytest.raises(RankLensError, match="RANKLENS_LLM_URL"):
        recipes.make_ranker("rerank(bm25,llm,5)", bare)
    dead = ingest(
        write_jsonl(tmp_path / "e.jsonl", [{"_id": "x", "text": "bread"}]),
        "dead",
        ["bm25"],
        Settings(
            home=tmp_path / "home2", llm_url=f"http://127.0.0.1:{free_port()}/v1", llm_model="m"
        ),
    )
    r = recipes.make_ranker("rerank(bm25,llm,5)", dead)
    with pytest.raises(RankLensError, match="cannot reach"):
        r.rank([Query("q", "bread")], 5)


def test_parse_preference() -> None:
    assert parse_preference("Passage A") == "A" and parse_preference("passage b.") == "B"
    assert parse_preference('{"better": "B"}', "json_schema") == "B"
    assert parse_preference("Passage B is better than Passage A") == "B"
    assert (
        parse_preference("neither") is None and parse_preference('{"better": "C"}', "json") is None
    )


def test_pointwise_grades_with_the_corpus_s_current_prompt(corpus) -> None:
    from ranklens.judges import judges
    from ranklens.judging import JudgmentStore
    from ranklens.llm.prompt import UMBRELA_PROMPT, Prompt

    with JudgmentStore(corpus.settings.db_url) as store:
        judges.save_prompt(store, corpus.name, Prompt(UMBRELA_PROMPT + "\nBe strict."), "t")
    Oracle.calls = []
    recipes.make_ranker("rerank(bm25,llm,2)", corpus).rank(QUERIES[:1], 2)
    assert Oracle.calls and all("Be strict." in c["messages"][0]["content"] for c in Oracle.calls)
