"""What the Judge page's AppTest files share: a small corpus with a query set (one query holds
markup, shown literally), the store, opening the page with a name, building a pool, grading."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from pages.judge import header
from ranklens.corpus import ingest
from ranklens.judging import JudgmentStore
from ranklens.types import Query

from .conftest import ROOT

PAGE = str(ROOT / "pages" / "judge" / "page.py")
QUERIES = [Query("q1", "sort a python list"), Query("q2", "<b>green</b> tea temperature")]
PASSAGE = re.compile(r'<div class="rl-jmeta">passage (\S+) · (\d+) of (\d+)')


@pytest.fixture
def corpus(home, fake_encoder, small_jsonl):
    """Corpus "j" (BM25 and the fake encoder) with query set "dev"."""
    c = ingest.ingest(small_jsonl, "j", ["bm25", "fake-encoder"], home)
    c.add_query_set("dev", QUERIES)
    return c


@pytest.fixture
def store(home) -> JudgmentStore:
    return JudgmentStore(home.db_url)


@pytest.fixture
def no_proxy(monkeypatch):
    """Requests to a local endpoint go straight to it."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def check(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def open_page(name: str | None = "alice") -> AppTest:
    at = check(AppTest.from_file(PAGE, default_timeout=60).run())
    if name:
        check(at.text_input(key=state.JUDGE_NAME).set_value(name).run())
    return at


def button(at: AppTest, label: str):
    found = [b for b in at.button if label in (b.label, b.label.removeprefix("✓ "))]
    found = found or [b for b in at.button if b.label.startswith(label)]
    assert found, f"no button {label!r} in {[b.label for b in at.button]}"
    return found[0]


def build_pool(at: AppTest, rankers: list[str] | None = None, depth: int = 10) -> AppTest:
    at.session_state[state.JUDGE_TAB] = header.SET_UP
    check(at.run())
    if rankers is not None:
        at.multiselect(key=state.JUDGE_RANKERS).set_value(rankers)
    at.number_input(key=state.JUDGE_DEPTH).set_value(depth)
    return check(button(at, "Build pool").click().run())


def shown(at: AppTest) -> tuple[str, int, int] | None:
    """(passage id, position, of) of the passage on screen, from its caption."""
    for m in at.markdown:
        found = PASSAGE.search(m.value)
        if found:
            return found.group(1), int(found.group(2)), int(found.group(3))
    return None


def grade(at: AppTest, g: int) -> AppTest:
    return check(button(at, f"{g} · " + ["Not relevant", "Related", "Relevant"][g]).click().run())


def texts(at: AppTest) -> str:
    """Everything readable on the page, as one text."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [x.value for kind in (at.success, at.info, at.warning, at.error) for x in kind]
    parts += [str(o) for s in at.selectbox for o in s.options]
    return "\n".join(parts)
