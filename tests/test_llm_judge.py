"""Tests of ranklens.llm.judge against a small chat-completions server on 127.0.0.1 started here.

The server's behaviour is chosen by markers in the passage text; nothing leaves the machine.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from ranklens.config import get_settings
from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache
from ranklens.llm.prompt import (
    UMBRELA_PROMPT,
    LLMError,
    Prompt,
    judge_name,
    parse_final_score,
    to_scale,
)
from ranklens.llm.reports import JudgePair, format_dry_run
from ranklens.scale import Scale

from .local_http import QuietHandler, chat_reply, serving

KEY = "sk-test-secret-0123456789"


class FakeChat(QuietHandler):
    """Speaks POST /v1/chat/completions. Passage markers: GRADE=n (reply with that score),
    RATE (a 429 the first time, then the score), FAIL (always 500), NOSCORE (no final score),
    SLOW (sleeps past the client's timeout). Every request must carry the key and the model."""

    calls: list[dict] = []
    seen_rate: set[str] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.read_json()
        prompt = body["messages"][0]["content"]
        with self.lock:
            self.calls.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
            )
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"error": "no such route"})
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self.send_json(401, {"error": "bad key"})
        if body["model"] != "fake-model":
            return self.send_json(404, {"error": "model not found"})
        passage = prompt.split("Passage: ", 1)[1]
        if "FAIL" in passage:
            return self.send_json(500, {"error": "boom"})
        if "RATE" in passage:
            with self.lock:
                first = passage not in self.seen_rate
                self.seen_rate.add(passage)
            if first:
                return self.send_json(429, {"error": "slow down"}, {"Retry-After": "0"})
        if "SLOW" in passage:
            time.sleep(0.8)  # past the 0.3 s timeout of the impatient client
        if "NOSCORE" in passage:
            content = "The passage seems related, I would say fairly relevant."
        else:
            m = re.search(r"GRADE=(\d)", passage)
            content = f"M: 2, T: 2\n##final score: {m.group(1) if m else 0}"
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 7}
        self.send_json(200, chat_reply(content, usage))


@pytest.fixture
def server(no_proxy):
    """The FakeChat server's /v1 URL (with the proxy variables cleared)."""
    FakeChat.calls = []
    FakeChat.seen_rate = set()
    with serving(FakeChat, "/v1") as url:
        yield url


pytestmark = pytest.mark.usefixtures("no_proxy")


def config(url: str, **kw) -> LLMConfig:
    values = dict(
        url=url,
        model="fake-model",
        key=KEY,
        timeout_s=5.0,
        concurrency=3,
        backoff_s=0.01,
        max_backoff_s=0.05,
    )
    values.update(kw)
    return LLMConfig(**values)


def pair(n: int, marker: str) -> JudgePair:
    return JudgePair(f"q{n}", f"query {n}", f"d{n}#0", f"d{n}", f"passage {n} {marker}")


def test_parse_final_score() -> None:
    assert parse_final_score("M: 1\nT: 2\n##final score: 2") == 2
    assert parse_final_score("##Final Score: **3**") == 3
    assert parse_final_score("no score here") is None
    assert parse_final_score("##final score: 1 ... ##final score: 3") is None  # ambiguous
    assert parse_final_score("##final score: 1\n##final score: 1") == 1
    assert parse_final_score("##final score: 7") is None  # outside 0..3
    assert parse_final_score("##final score: 7", top=9) == 7


def test_scores_map_onto_the_scale() -> None:
    assert [to_scale(s, Scale.default()) for s in range(4)] == [0, 1, 2, 3]
    assert [to_scale(s, Scale.binary()) for s in range(4)] == [0, 0, 1, 1]
    assert [to_scale(s, Scale.of(5)) for s in range(4)] == [0, 1, 3, 4]
    with pytest.raises(LLMError):
        to_scale(4, Scale.default())


def test_prompt_slots_and_hash() -> None:
    p = Prompt()
    assert "##final score" in p.text and p.text == UMBRELA_PROMPT
    rendered = p.render("what {is} x", "a {passage} with braces")
    assert "Query: what {is} x" in rendered and "Passage: a {passage} with braces" in rendered
    assert p.hash == Prompt(UMBRELA_PROMPT).hash != Prompt(UMBRELA_PROMPT + " ").hash
    assert Prompt(UMBRELA_PROMPT, top=3).hash != Prompt(UMBRELA_PROMPT, top=4).hash
    with pytest.raises(LLMError, match=r"\{passage\}"):
        Prompt("Query: {query} only")


def test_deterministic_grades_tokens_and_cache(server) -> None:
    pairs = [pair(i, f"GRADE={i % 4}") for i in range(8)]
    seen: list[tuple[int, int]] = []
    with LLMJudge(config(server), Scale.default()) as judge:
        report = judge.judge(pairs, progress=lambda d, t: seen.append((d, t)))
        assert [j.grade for j in report.judgments] == [i % 4 for i in range(8)]
        assert [j.pair for j in report.judgments] == pairs
        assert report.tokens_reported and report.completion_tokens == 7 * 8
        assert report.prompt_tokens > 0 and report.cached == 0
        assert seen[-1] == (8, 8) and len(seen) == 8
        assert all(c["auth"] == f"Bearer {KEY}" for c in FakeChat.calls)
        assert all(c["body"]["temperature"] == 0 for c in FakeChat.calls)
        # the same pairs again: all from the cache, no request sent
        n = len(FakeChat.calls)
        again = judge.judge(pairs)
        assert len(FakeChat.calls) == n and again.cached == 8
        assert [j.grade for j in again.judgments] == [i % 4 for i in range(8)]
        assert not again.tokens_reported
        # another prompt is another cache key
        judge.prompt = Prompt(UMBRELA_PROMPT + "\nBe strict.")
        judge.judge(pairs[:2])
        assert len(FakeChat.calls) == n + 2
    assert judge.name == judge_name("fake-model") == "llm:fake-model"


def test_binary_scale(server) -> None:
    with LLMJudge(config(server), Scale.binary()) as judge:
        report = judge.judge([pair(i, f"GRADE={i}") for i in range(4)])
    assert [(j.score, j.grade) for j in report.judgments] == [(0, 0), (1, 0), (2, 1), (3, 1)]


def test_429_then_success(server) -> None:
    with LLMJudge(config(server), Scale.default()) as judge:
        report = judge.judge([pair(1, "RATE GRADE=2"), pair(2, "GRADE=1")])
    assert [j.grade for j in report.judgments] == [2, 1]
    assert not report.failed and report.gave_up is None
    assert len(FakeChat.calls) == 3  # the 429, its retry, the other pair


def test_500_is_retried_then_counted_as_failed(server) -> None:
    with LLMJudge(config(server, attempts=3), Scale.default()) as judge:
        report = judge.judge([pair(1, "FAIL"), pair(2, "GRADE=3")])
    failed = report.failed
    assert len(failed) == 1 and failed[0].pair.query_id == "q1"
    assert "HTTP 500 after 3 attempts" in failed[0].error and failed[0].grade is None
    # 3 attempts per request, and the pair goes back in the queue once (pair_attempts=2)
    assert sum(1 for c in FakeChat.calls if "FAIL" in c["body"]["messages"][0]["content"]) == 6
    assert report.judgments[1].grade == 3 and report.gave_up is None and report.retried == 1
    assert "1 failed" in report.summary()


def test_reply_without_score_is_counted_not_guessed(server) -> None:
    with LLMJudge(config(server), Scale.default()) as judge:
        report = judge.judge([pair(1, "NOSCORE"), pair(2, "GRADE=2")])
        (bad,) = report.unparseable
        assert bad.grade is None and bad.score is None and "fairly relevant" in bad.reply
        assert [j.pair.query_id for j in report.graded] == ["q2"]
        assert "1 replies without a final score" in report.summary()
        assert report.to_dict()["unparseable"][0]["reply"] == bad.reply


def test_too_slow_reply_gives_up_clearly(server) -> None:
    cache = ReplyCache()
    cfg = config(server, timeout_s=0.3, concurrency=1, max_failures=2, pair_attempts=1)
    pairs = [pair(1, "GRADE=1"), pair(2, "SLOW"), pair(3, "SLOW"), pair(4, "GRADE=2")]
    with LLMJudge(cfg, Scale.default(), cache=cache) as judge:
        report = judge.judge(pairs)
    assert [j.pair.query_id for j in report.failed] == ["q2", "q3"]
    assert all("timed out after 0.3 s" in j.error for j in report.failed)
    assert report.gave_up and "2 pairs in a row failed" in report.gave_up
    assert report.not_sent == 1 and "1 not sent" in report.summary()
    assert len(cache) == 1  # failed requests are not cached; the first pair is
    # resumed with a patient client: the cached pair is not sent again
    n = len(FakeChat.calls)
    with LLMJudge(config(server, concurrency=2), Scale.default(), cache=cache) as judge:
        again = judge.judge(pairs)
    assert [j.grade for j in again.judgments] == [1, 0, 0, 2] and again.cached == 1
    assert len(FakeChat.calls) == n + 3


def test_wrong_key_or_model_stops_at_once_without_showing_the_key(server) -> None:
    with LLMJudge(config(server, key="wrong-key-987"), Scale.default()) as judge:
        report = judge.judge([pair(i, "GRADE=1") for i in range(6)])
    assert report.gave_up and "HTTP 401" in report.gave_up and "RANKLENS_LLM_KEY" in report.gave_up
    assert "wrong-key-987" not in report.summary() and len(report.judgments) < 6
    with LLMJudge(config(server, model="nope"), Scale.default()) as judge:
        report = judge.judge([pair(1, "GRADE=1")])
    assert "HTTP 404" in report.gave_up and "'nope'" in report.gave_up
    with pytest.raises(LLMError, match="HTTP 404"):
        with LLMJudge(config(server, model="nope"), Scale.default()) as judge:
            judge.dry_run([pair(1, "GRADE=1")])


def test_dry_run_shows_prompts_and_replies(server) -> None:
    pairs = [pair(i, f"GRADE={i % 4}") for i in range(9)]
    pairs[2] = pair(2, "NOSCORE")
    with LLMJudge(config(server), Scale.default()) as judge:
        items = judge.dry_run(pairs, 5)
    assert len(items) == 5 and len(FakeChat.calls) == 5
    # the stub ignores response_format and answers in text: its final score still counts
    assert items[0].judgment.mode == "json_schema"
    assert items[0].prompt == Prompt().render("query 0", "passage 0 GRADE=0", "json_schema")
    text = format_dry_run(items)
    assert text.count("[prompt]") == 5 and "score 3 -> grade 3" in text
    assert "no final score in the reply" in text


def test_settings_keep_the_key_out_of_reprs(server) -> None:
    env = {
        "RANKLENS_LLM_URL": server + "/",
        "RANKLENS_LLM_MODEL": "fake-model",
        "RANKLENS_LLM_KEY": KEY,
        "RANKLENS_HOME": "/tmp/x",
    }
    settings = get_settings(env)
    assert settings.llm_key == KEY and KEY not in repr(settings)
    cfg = LLMConfig.from_settings(settings)
    assert cfg.url == server and KEY not in repr(cfg) and cfg.key == KEY
    with pytest.raises(LLMError, match="RANKLENS_LLM_URL and RANKLENS_LLM_MODEL"):
        LLMConfig.from_settings(get_settings({}))
    with pytest.raises(LLMError, match="http"):
        LLMConfig(url="localhost:11434/v1", model="m")


def test_no_key_sends_no_authorization(server) -> None:
    with LLMJudge(config(server, key=None), Scale.default()) as judge:
        report = judge.judge([pair(1, "GRADE=1")])
    assert FakeChat.calls[0]["auth"] is None and "HTTP 401" in report.gave_up


def test_cancel_stops_sending_and_resumes_from_the_cache(server) -> None:
    pairs = [pair(i, f"GRADE={i % 4}") for i in range(6)]
    cache = ReplyCache()
    done: list[int] = []
    with LLMJudge(config(server, concurrency=1), Scale.default(), cache=cache) as judge:
        report = judge.judge(
            pairs, progress=lambda d, t: done.append(d), cancelled=lambda: len(done) >= 2
        )
        assert report.gave_up and report.gave_up.startswith("cancelled")
        assert len(report.judgments) == 2 and report.not_sent == 4 and len(cache) == 2
        again = judge.judge(pairs)
    assert again.cached == 2 and [j.grade for j in again.judgments] == [i % 4 for i in range(6)]
