"""Tests of ranklens.llm.http (the LLM judge's requests) against a streaming chat-completions
stub on 127.0.0.1: output modes and their fallback, the reply limit, the three timeouts, cancel,
retries, throttling.

The stub streams server-sent events like llama.cpp's server; markers in the passage pick its
behaviour, and `accepts` which response_format types it takes (others get HTTP 422).
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from ranklens.config import get_settings
from ranklens.errors import RankLensError
from ranklens.llm import http as llm_http
from ranklens.llm.judge import DEFAULT_MAX_TOKENS, TEXT_STOP, LLMConfig, LLMJudge, ReplyCache
from ranklens.llm.prompt import FewShot, Prompt, parse_reply, reply_reason
from ranklens.llm.reports import JudgePair
from ranklens.scale import Scale

from .local_http import QuietHandler, serving


class StreamChat(QuietHandler):
    """Markers: GRADE=n; ENDLESS (streams until the client leaves); STALL (waits 1 s before the
    first byte); TRUNC (a JSON reply cut at the limit); ALWAYS429; FLAKY (times out the first
    time: the stream stalls mid-reply)."""

    accepts: set[str] = set()
    calls: list[dict] = []
    disconnects: list[str] = []  # the passages whose client left mid-reply
    flaky_seen: set[str] = set()
    active = 0
    most_active = 0
    lock = threading.Lock()
    protocol_version = "HTTP/1.0"

    def _event(self, chunk: dict | str) -> None:
        data = chunk if isinstance(chunk, str) else json.dumps(chunk)
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.read_json()
        prompt = body["messages"][0]["content"]
        passage = prompt.rsplit("Passage: ", 1)[1]
        with self.lock:
            type(self).calls.append(body)
            type(self).active += 1
            type(self).most_active = max(type(self).most_active, type(self).active)
        try:
            self._answer(body, passage)
        except (BrokenPipeError, ConnectionResetError):
            with self.lock:
                type(self).disconnects.append(passage.split("\n", 1)[0])
        finally:
            with self.lock:
                type(self).active -= 1

    def _answer(self, body: dict, passage: str) -> None:
        fmt = body.get("response_format")
        if fmt is not None and fmt.get("type") not in self.accepts:
            return self.send_json(422, {"detail": "response_format: unsupported type"})
        if "TOOLONG" in passage:
            return self.send_json(400, {"error": "the prompt exceeds the context length"})
        if "ALWAYS429" in passage:
            time.sleep(0.05)
            return self.send_json(429, {"error": "slow down"})
        if "STALL" in passage:
            time.sleep(1.0)
        m = re.search(r"GRADE=(\d)", passage)
        grade = int(m.group(1)) if m else 0
        if fmt is not None:
            content = json.dumps({"grade": grade, "reason": "it says so"})
            if "TRUNC" in passage:
                content = '{"grade": ' + str(grade) + ', "reason": "it goes on and on and'
        else:
            content = f"M: 2, T: 2\n##final score: {grade}"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [content[i : i + 4] for i in range(0, len(content), 4)]
        flaky = False
        if "FLAKY" in passage:
            with self.lock:
                flaky = passage not in self.flaky_seen
                self.flaky_seen.add(passage)
        for n, piece in enumerate(pieces):
            self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
            if flaky and n == 1:
                time.sleep(1.0)
        while "ENDLESS" in passage:
            self._event({"choices": [{"index": 0, "delta": {"content": " and"}}]})
            time.sleep(0.02)
        finish = "length" if "TRUNC" in passage else "stop"
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        self._event({"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 9}})
        self._event("[DONE]")


@pytest.fixture
def server(no_proxy):
    StreamChat.calls, StreamChat.disconnects, StreamChat.flaky_seen = [], [], set()
    StreamChat.accepts = {"json_schema", "json_object"}
    StreamChat.active = StreamChat.most_active = 0
    with serving(StreamChat, "/v1") as url:
        yield url


pytestmark = pytest.mark.usefixtures("no_proxy")


def config(url: str, **kw) -> LLMConfig:
    values = dict(url=url, model="m", timeout_s=5.0, concurrency=2, backoff_s=0.01)
    values.update(kw)
    return LLMConfig(**values)


def pair(n: int, marker: str) -> JudgePair:
    return JudgePair(f"q{n}", f"query {n}", f"d{n}#0", f"d{n}", f"passage {n} {marker}")


def test_json_schema_is_asked_for_capped_and_recorded(server) -> None:
    with LLMJudge(config(server), Scale.default()) as judge:
        report = judge.judge([pair(i, f"GRADE={i}") for i in range(4)])
    assert [j.grade for j in report.judgments] == [0, 1, 2, 3]
    assert report.modes == {"json_schema": 4} and report.refused_modes == ()
    assert "structured output (JSON schema) for 4" in report.summary()
    body = StreamChat.calls[0]
    assert body["stream"] is True and body["max_tokens"] == DEFAULT_MAX_TOKENS
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["grade"]["enum"] == [0, 1, 2, 3] and "stop" not in body
    assert report.tokens_reported and report.completion_tokens == 4 * 9
    assert reply_reason(report.judgments[0].reply) == "it says so"


def test_refused_schema_falls_back_to_json_object_then_text(server) -> None:
    StreamChat.accepts = {"json_object"}
    with LLMJudge(config(server, model="m-object"), Scale.default()) as judge:
        report = judge.judge([pair(i, f"GRADE={i}") for i in range(3)])
    assert [j.grade for j in report.judgments] == [0, 1, 2]
    assert report.modes == {"json_object": 3} and report.refused_modes == ("json_schema",)
    assert "refused json_schema" in report.summary()
    assert StreamChat.calls[-1]["response_format"]["type"] == "json_object"
    StreamChat.accepts = set()
    cache = ReplyCache()
    with LLMJudge(config(server, model="m-text"), Scale.default(), cache=cache) as judge:
        report = judge.judge([pair(i, f"GRADE={i}") for i in range(3)])
        assert [j.grade for j in report.judgments] == [0, 1, 2]
        assert report.modes == {"text": 3} and "the text prompt for 3" in report.summary()
        body = StreamChat.calls[-1]
        assert "response_format" not in body and body["stop"] == list(TEXT_STOP)
        assert "Answer in JSON" not in body["messages"][0]["content"]
        # resumed: the text replies come from the cache, nothing is sent
        n = len(StreamChat.calls)
        again = judge.judge([pair(i, f"GRADE={i}") for i in range(3)])
    assert again.cached == 3 and len(StreamChat.calls) == n and again.modes == {"text": 3}


def test_json_only_judge_stops_when_structured_output_is_refused(server) -> None:
    StreamChat.accepts = set()
    with LLMJudge(config(server, model="m-json", structured="json"), Scale.default()) as judge:
        report = judge.judge([pair(1, "GRADE=1")])
    assert report.gave_up and "refuses structured output" in report.gave_up
    assert "RANKLENS_LLM_STRUCTURED" in report.gave_up
    with LLMJudge(config(server, model="m-json", structured="text"), Scale.default()) as judge:
        report = judge.judge([pair(1, "GRADE=1")])
    assert report.modes == {"text": 1} and "response_format" not in StreamChat.calls[-1]


def test_reply_limit_from_the_environment_and_truncated_json(server) -> None:
    settings = get_settings(
        {"RANKLENS_LLM_URL": server, "RANKLENS_LLM_MODEL": "m", "RANKLENS_LLM_MAX_TOKENS": "7"}
    )
    with LLMJudge(LLMConfig.from_settings(settings), Scale.default()) as judge:
        report = judge.judge([pair(1, "GRADE=2 TRUNC")])
    assert StreamChat.calls[0]["max_tokens"] == 7
    # cut at the limit after the grade was written: the grade counts
    assert report.judgments[0].grade == 2 and not report.judgments[0].reply.endswith("}")
    with pytest.raises(RankLensError, match="RANKLENS_LLM_MAX_TOKENS"):
        get_settings({"RANKLENS_LLM_MAX_TOKENS": "0"})
    with pytest.raises(RankLensError, match="RANKLENS_LLM_STRUCTURED"):
        get_settings({"RANKLENS_LLM_STRUCTURED": "yaml"})


def test_total_limit_closes_the_stream_so_the_server_stops(server) -> None:
    cfg = config(server, timeout_s=0.5, pair_attempts=1, concurrency=1)
    start = time.monotonic()
    with LLMJudge(cfg, Scale.default()) as judge:
        report = judge.judge([pair(1, "ENDLESS"), pair(2, "GRADE=3")])
    assert time.monotonic() - start < 4
    (failed,) = report.failed
    assert "timed out after 0.5 s (RANKLENS_LLM_TIMEOUT)" in failed.error
    assert "connection was closed" in failed.error and report.judgments[1].grade == 3
    deadline = time.monotonic() + 3
    while "passage 1 ENDLESS" not in StreamChat.disconnects and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "passage 1 ENDLESS" in StreamChat.disconnects, "the server kept writing"


def test_first_token_timeout_is_apart_from_the_total(server) -> None:
    cfg = config(server, timeout_s=10, first_token_timeout_s=0.2, pair_attempts=1)
    with LLMJudge(cfg, Scale.default()) as judge:
        report = judge.judge([pair(1, "STALL")])
    assert "no reply within 0.2 s (RANKLENS_LLM_FIRST_TOKEN_TIMEOUT)" in report.failed[0].error
    closed = f"http://127.0.0.1:{_free_port()}/v1"
    with LLMJudge(config(closed, pair_attempts=1, max_failures=1), Scale.default()) as judge:
        report = judge.judge([pair(1, "GRADE=1"), pair(2, "GRADE=1")])
    assert "cannot reach" in report.failed[0].error and "1 pairs in a row failed" in report.gave_up


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_timed_out_pair_is_tried_again_and_concurrency_drops(server) -> None:
    cfg = config(server, timeout_s=5, first_token_timeout_s=0.3, concurrency=4, pair_attempts=2)
    pairs = [pair(1, "FLAKY GRADE=2")] + [pair(i, f"GRADE={i % 4}") for i in range(2, 6)]
    with LLMJudge(cfg, Scale.default()) as judge:
        report = judge.judge(pairs)
    assert report.judgments[0].grade == 2 and not report.failed and report.gave_up is None
    assert report.retried == 1 and report.lowest_concurrency == 2
    assert "sent again after a failure" in report.summary()


def test_429s_lower_concurrency_instead_of_stopping_the_batch(server) -> None:
    cfg = config(server, concurrency=4, attempts=2, max_failures=3, max_backoff_s=0.02)
    pairs = [pair(1, "ALWAYS429"), pair(2, "ALWAYS429")] + [
        pair(i, f"GRADE={i % 4}") for i in range(3, 9)
    ]
    with LLMJudge(cfg, Scale.default()) as judge:
        report = judge.judge(pairs)
    assert report.gave_up is None and len(report.graded) == 6
    assert [j.pair.query_id for j in report.failed] == ["q1", "q2"]
    assert all("HTTP 429 after 2 attempts" in j.error for j in report.failed)
    assert report.lowest_concurrency == 1
    # every 429 pair was tried twice (pair_attempts) with 2 requests each
    assert sum("ALWAYS429" in c["messages"][0]["content"] for c in StreamChat.calls) == 8


def test_cancel_closes_the_requests_under_way(server) -> None:
    started = time.monotonic()
    cache = ReplyCache()
    cfg = config(server, concurrency=2, timeout_s=30)
    with LLMJudge(cfg, Scale.default(), cache=cache) as judge:
        report = judge.judge(
            [pair(1, "ENDLESS"), pair(2, "ENDLESS"), pair(3, "GRADE=1")],
            cancelled=lambda: time.monotonic() - started > 0.4,
        )
    assert time.monotonic() - started < 3
    assert report.gave_up.startswith("cancelled") and report.not_sent == 3 and len(cache) == 0
    deadline = time.monotonic() + 3
    left = {"passage 1 ENDLESS", "passage 2 ENDLESS"}
    while not left <= set(StreamChat.disconnects) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left <= set(StreamChat.disconnects)


def test_parse_reply_by_mode() -> None:
    assert parse_reply('{"grade": 2, "reason": "x"}', 3, "json_schema") == 2
    assert parse_reply('{"grade": 2, "reason": "cut', 3, "json_object") == 2
    assert parse_reply('{"grade": 5, "reason": "x"}', 3, "json_schema") is None
    assert parse_reply('{"grade": true}', 3, "json_schema") is None
    assert parse_reply('{"grade": "2"}', 3, "json_schema") is None  # never coerced
    assert parse_reply("##final score: 1", 3, "json_schema") == 1  # schema ignored by the server
    assert parse_reply('{"grade": 2}', 3, "text") is None
    assert reply_reason("not json") is None


def test_few_shot_examples_render_per_mode_and_change_the_hash() -> None:
    shots = [FewShot("what is x", "x is y", 3, "answers it"), FewShot("q2", "p2", 0)]
    plain = Prompt()
    p = plain.with_examples(shots)
    assert p.hash != plain.hash and p.with_examples([]).hash == plain.hash
    text = p.render("my query", "my passage")
    assert text.index("Query: what is x") < text.index("Query: my query")
    assert "Reason: answers it\n##final score: 3" in text and "##final score: 0" in text
    js = p.render("my query", "my passage", "json_schema")
    assert '{"grade": 3, "reason": "answers it"}' in js and js.endswith("(one short sentence).")
    with pytest.raises(RankLensError, match="0..3"):
        plain.with_examples([FewShot("q", "p", 4)])


def test_response_formats() -> None:
    s = {"type": "object"}
    assert llm_http.response_format("json_schema", s, "n")["json_schema"]["schema"] is s
    assert llm_http.response_format("json_object", s, "n") == {"type": "json_object", "schema": s}
    assert llm_http.response_format("text", s, "n") is None


def test_a_400_about_something_else_stops_without_switching_modes(server) -> None:
    with LLMJudge(config(server, model="m-400"), Scale.default()) as judge:
        report = judge.judge([pair(1, "TOOLONG")])
        assert report.gave_up and "HTTP 400" in report.gave_up and report.refused_modes == ()
        assert judge.mode == "json_schema"
