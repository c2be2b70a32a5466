"""Tests of ranklens.judges.calibration and few_shot: the seeded split by query, stratified examples within a
token budget, calibrated prompts, and the held-out report against a chat-completions stub on
127.0.0.1 that grades by what its examples taught it (and never sees a calibration query)."""

from __future__ import annotations

import re
import threading

import pytest

from ranklens.errors import InputError
from ranklens.judges import calibration as cal
from ranklens.judges import few_shot as fs
from ranklens.judges import judges
from ranklens.judging import JudgmentStore, PoolItem, Scale, accepted
from ranklens.llm import prompt_versions
from ranklens.llm.judge import LLMConfig, LLMJudge, ReplyCache
from ranklens.llm.prompt import UMBRELA_PROMPT, Prompt
from ranklens.types import Hit, Passage, Query

from .local_http import QuietHandler, chat_reply, serving

KINDS = {"apple": 0, "brick": 1, "cedar": 2, "delta": 3}  # what people grade each kind of passage
QUERIES = [f"q{n}" for n in range(1, 11)]


class LearningChat(QuietHandler):
    """A chat model that knows nothing but its examples: it reads each example's passage kind and
    score, and grades a passage of a kind it was shown the same; anything else gets 1."""

    prompts: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.read_json()
        prompt = body["messages"][0]["content"]
        with self.lock:
            self.prompts.append(prompt)
        learned: dict[str, str] = {}
        target = prompt
        if "End of the examples." in prompt:
            shown, target = prompt.split("End of the examples.", 1)
            for kind, score in re.findall(
                r"Passage: .*?kind-(\w+).*?##final score: (\d)", shown, re.S
            ):
                learned[kind] = score
        m = re.search(r"kind-(\w+)", target.split("Passage: ", 1)[1])
        score = learned.get(m.group(1), "1") if m else "1"
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 4}
        self.send_json(200, chat_reply(f"##final score: {score}", usage))


@pytest.fixture
def chat(no_proxy):
    """The LearningChat server's /v1 URL (with the proxy variables cleared)."""
    LearningChat.prompts = []
    with serving(LearningChat, "/v1") as url:
        yield url


pytestmark = pytest.mark.usefixtures("no_proxy")


class FakeCorpus:
    """Ten queries, each with one passage of every kind (document = passage)."""

    name = "c"

    def __init__(self) -> None:
        self._p = {
            f"{q}-{k}#0": Passage(f"{q}-{k}#0", f"{q}-{k}", f"text of kind-{k} for {q}", "")
            for q in QUERIES
            for k in KINDS
        }

    def query_sets(self):
        return {"set": [Query(q, f"what about {q}?") for q in QUERIES]}

    def get_passages(self, ids):
        return {i: self._p[i] for i in ids if i in self._p}

    def passages_of_doc(self, doc_id):
        return [p for p in self._p.values() if p.doc_id == doc_id]


@pytest.fixture
def store(tmp_path):
    s = JudgmentStore(f"sqlite:///{tmp_path / 'j.sqlite3'}")
    for q in QUERIES:
        for k, g in KINDS.items():
            s.add_label("c", "alice", q, f"{q}-{k}#0", g, doc_id=f"{q}-{k}")
            if k in ("brick", "delta"):
                s.record("note", "c", "alice", q, f"{q}-{k}#0", note=f"{k} passages are grade {g}",
                         doc_id=f"{q}-{k}")  # fmt: skip
    yield s
    s.close()


def runs() -> dict:
    """Three rankers: best kinds first, worst first, and in between."""
    order = {"good": ["delta", "cedar", "brick", "apple"], "bad": ["apple", "brick", "cedar", "delta"],
             "mid": ["cedar", "delta", "apple", "brick"]}  # fmt: skip
    return {
        name: {
            q: [Hit(q, f"{q}-{k}#0", f"{q}-{k}", 1.0 / r, r) for r, k in enumerate(kinds, 1)]
            for q in QUERIES
        }
        for name, kinds in order.items()
    }


def maker(url: str):
    cache = ReplyCache()

    def make(prompt: Prompt) -> LLMJudge:
        cfg = LLMConfig(url=url, model="learner", concurrency=2, backoff_s=0.01)
        return LLMJudge(cfg, Scale.default(), prompt, cache=cache)

    return make


def test_split_is_seeded_by_query_and_keeps_both_sides() -> None:
    a = fs.split_queries(QUERIES, seed=3)
    assert a == fs.split_queries(list(reversed(QUERIES)), seed=3)  # order given does not matter
    assert set(a.calibration) | set(a.held_out) == set(QUERIES)
    assert not set(a.calibration) & set(a.held_out) and len(a.calibration) == 5
    assert fs.split_queries(QUERIES, seed=4) != a
    one = fs.split_queries(["x", "y"], fraction=0.9)
    assert len(one.calibration) == 1 and len(one.held_out) == 1
    with pytest.raises(InputError, match="at least two labelled queries"):
        fs.split_queries(["x"])
    with pytest.raises(InputError, match="between 0 and 1"):
        fs.split_queries(QUERIES, fraction=1.0)


def test_examples_are_stratified_reasoned_and_within_budget(store) -> None:
    pairs = fs.labelled_pairs(store, FakeCorpus(), ["q1", "q2", "q3"])
    assert len(pairs) == 12
    assert {p.reason for p in pairs if p.grade == 3} == {"delta passages are grade 3"}
    ex = fs.pick_examples(pairs, 4, Scale.default(), 3, seed=1)
    assert sorted(e.grade for e in ex) == [0, 1, 2, 3]  # one of each grade
    assert fs.pick_examples(pairs, 4, Scale.default(), 3, seed=1) == ex  # seeded
    assert [e.grade for e in fs.pick_examples(pairs, 6, Scale.default(), 3)][:4] == [0, 1, 2, 3]
    one = fs.estimate_tokens(fs.format_example(1, ex[0]))
    small = fs.pick_examples(pairs, 8, Scale.default(), 3, token_budget=one * 2 + 1)
    assert 1 <= len(small) <= 2
    assert fs.pick_examples(pairs, 8, Scale.default(), 3, token_budget=1) == []
    # a 0-4 scale shown on the prompt's 0-3 scale
    assert [fs.to_prompt_score(g, Scale.of(5), 3) for g in range(5)] == [0, 1, 2, 2, 3]


def test_calibrated_prompt_holds_the_examples_before_the_query() -> None:
    ex = fs.Example("q1", "p#0", "p", "a {query} here", "text {passage} x", 2, 2, "because")
    p = fs.calibrated_prompt(Prompt(), [ex])
    assert p.hash != Prompt().hash and p.top == 3
    rendered = p.render("THE QUERY", "THE PASSAGE")
    assert rendered.index("Example 1") < rendered.index("Query: THE QUERY")
    assert "a { query } here" in rendered and "text { passage } x" in rendered  # never filled
    assert "Reason: because\n##final score: 2" in rendered
    slot = Prompt("Grade it.\n{examples}Q: {query}\nP: {passage}")
    assert fs.calibrated_prompt(slot, [ex]).text.startswith("Grade it.\nExamples graded")
    assert fs.calibrated_prompt(Prompt(), []) == Prompt()


def test_held_out_report_improves_with_examples_and_never_sees_a_calibration_query(
    store, chat
) -> None:
    corpus = FakeCorpus()
    make = maker(chat)
    report = cal.calibrate(
        store, corpus, "set", make, examples=4, seed=7, runs=runs(), author="alice", resamples=99
    )
    held, calq = set(report.held_out_queries), set(report.calibration_queries)
    assert held and calq and not held & calq and held | calq == set(QUERIES)
    assert {e.query_id for e in report.examples} <= calq and len(report.examples) == 4
    # every prompt sent grades a held-out pair; calibration queries appear only as examples
    assert len(LearningChat.prompts) == 2 * 4 * len(held)
    for prompt in LearningChat.prompts:
        target = prompt.split("End of the examples.")[-1]
        (qid,) = re.findall(r"Query: what about (q\d+)\?", target)
        assert qid in held
        for shown in re.findall(r"Query: what about (q\d+)\?", prompt.split("End of the")[0]):
            assert shown in calq or "End of the examples." not in prompt
    plain, tuned = report.arms
    assert (plain.examples, tuned.examples) == (0, 4)
    assert plain.agreement.queries == tuned.agreement.queries == len(held)
    assert plain.agreement.kappa == pytest.approx(0.0)  # a constant 1 agrees with nothing
    assert tuned.agreement.kappa == pytest.approx(1.0)
    assert tuned.kappa_low is not None and tuned.kappa_low == pytest.approx(1.0)
    assert plain.agreement.tau is None and tuned.agreement.tau == pytest.approx(1.0)
    assert {r.ranker for r in tuned.agreement.rankers} == {"good", "bad", "mid"}
    assert tuned.agreement.confusion == [[len(held), 0, 0, 0], [0, len(held), 0, 0],
                                         [0, 0, len(held), 0], [0, 0, 0, len(held)]]  # fmt: skip
    assert plain.unparseable_share == 0 and plain.prompt_tokens and tuned.completion_tokens
    assert tuned.estimated_prompt_tokens > plain.estimated_prompt_tokens
    # recorded with its examples, reproducible, and usable as a prompt version
    (rec,) = cal.calibrations(store, "c")
    assert rec.id == report.calibration_ids[0] and rec.calibrated_hash == tuned.prompt_hash
    assert rec.prompt.hash == tuned.prompt_hash and len(rec.examples) == 4
    assert rec.report["held_out_queries"] == report.held_out_queries
    v = cal.use_calibration(store, "c", rec.id, "alice")
    assert prompt_versions.current_prompt(store, "c").hash == tuned.prompt_hash and v.version == 1
    # the same seed again: the same split and examples, all replies from the cache; the
    # calibrated prompt (now the latest version) is calibrated from the version it came from
    assert cal.default_prompt(store, "c") == ("UMBRELA's", Prompt())
    n = len(LearningChat.prompts)
    again = cal.calibrate(store, corpus, "set", make, examples=4, seed=7, record=False, resamples=9)
    assert len(LearningChat.prompts) == n and again.arms[1].cached == 4 * len(held)
    assert again.held_out_queries == report.held_out_queries
    assert again.examples == report.examples
    assert "kappa 1.000" in again.summary()


def test_reasons_and_unparseable_replies_are_counted(store, chat) -> None:
    corpus = FakeCorpus()
    # prompt v1 (saved) is used by default; it is the one reported
    judges.save_prompt(store, "c", Prompt(UMBRELA_PROMPT + "\nBe careful."), "bob")
    report = cal.calibrate(
        store, corpus, "set", maker(chat), examples=2, seed=1, record=False, resamples=9
    )
    assert [a.prompt_version for a in report.arms] == ["v1", "v1"]
    assert report.arms[1].examples == 2 and {e.grade for e in report.examples} == {0, 1}
    assert cal.calibrations(store, "c") == []
    with pytest.raises(Exception, match="no query set"):
        cal.calibrate(store, corpus, "nope", maker(chat), record=False)


def test_accepted_labels_are_never_examples(store) -> None:
    store.add_suggestions("c", "ce", [PoolItem("q1", "q1-apple#0", "q1-apple")], [5.0], [0, 1, 2])
    (sugg,) = store.suggestions("c")
    (eid,) = accepted.accept(store, "c", "bob", [sugg])
    assert eid in accepted.accepted_event_ids(store, "c")
    assert store.label_of("c", "bob", "q1", "q1-apple#0").note == "accepted from ce"
    pairs = fs.labelled_pairs(store, FakeCorpus(), ["q1"])
    assert {p.grade for p in pairs if p.passage_id == "q1-apple#0"} == {0}  # alice's alone


def test_kappa_interval_is_seeded_and_holds_the_estimate() -> None:
    human = [0, 1, 2, 3] * 6
    judge = [0, 1, 2, 3] * 4 + [1, 1, 3, 3] * 2
    point = cal.kappa(human, judge, [0, 1, 2, 3], "linear")
    low, high = cal.kappa_interval(human, judge, [0, 1, 2, 3], seed=5, resamples=199)
    assert low < point < high <= 1.0
    assert (low, high) == cal.kappa_interval(human, judge, [0, 1, 2, 3], seed=5, resamples=199)
    assert cal.kappa_interval([1, 1], [1, 1], [0, 1]) == (None, None)  # kappa undefined
    assert cal.kappa_interval([1], [0], [0, 1]) == (None, None)
