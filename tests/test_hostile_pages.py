"""Hostile text on every page and tab in Streamlit's AppTest (fast; chromium does the same in
tests/browser/test_hostile_browser.py): every Markdown the app sends (bodies, captions, alerts,
labels, options, help), read by a CommonMark parser as Streamlit would (raw HTML only where the
app allows it), forms no link, image, script or event handler from the data.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from components import safe, state
from pages.judge import header as judge_header

from .conftest import ROOT
from .hostile_data import NAME, REMOTE, XSS, setup_corpus

TEXT_TYPES = {"markdown", "caption", "error", "warning", "info", "success", "title", "header"}
TEXT_TYPES |= {"subheader", "toast", "exception"}
BAD_TAGS = {"a", "img", "script", "iframe", "svg", "object", "embed", "video", "audio", "link"}
# a GFM autolink literal forms in Markdown text unless a word joiner breaks it
AUTOLINK = re.compile(r"(https?:(?!\u2060)\\?/\\?/|www(?!\u2060)\\?\.)" + re.escape(REMOTE[:6]))


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def live(markdown: str, allow_html: bool) -> list:
    """What a Markdown renderer would make of it that loads, links or runs."""
    html = MarkdownIt("commonmark", {"html": allow_html}).enable("table").render(markdown)
    t = Tags()
    t.feed(html)
    found = [
        (tag, attrs)
        for tag, attrs in t.tags
        if tag in BAD_TAGS or any(k.startswith("on") or k in ("src", "href") for k in attrs)
    ]
    if not allow_html and AUTOLINK.search(markdown):
        found.append(("autolink", markdown[:200]))
    return found


def texts(at: AppTest) -> list[tuple[str, str, bool]]:
    """(where, Markdown, raw HTML allowed) for every text element and widget label."""
    out = []

    def walk(node) -> None:
        for child in getattr(node, "children", {}).values():
            kind = getattr(child, "type", "")
            proto = getattr(child, "proto", None)
            if kind in TEXT_TYPES and proto is not None:
                body = getattr(proto, "body", None) or getattr(proto, "message", "") or ""
                out.append((kind, str(body), bool(getattr(proto, "allow_html", False))))
            for attr in ("label", "help"):
                value = getattr(child, attr, None) if kind not in TEXT_TYPES else None
                if isinstance(value, str) and value:
                    out.append((f"{kind}.{attr}", value, False))
            if kind == "radio":
                out.extend((f"radio option of {child.label}", str(o), False) for o in child.options)
            walk(child)

    walk(at._tree)
    return out


def assert_inert(at: AppTest, where: str) -> int:
    assert not at.exception, (where, at.exception)
    found = [(w, live(body, html)) for w, body, html in texts(at)]
    bad = [(w, f) for w, f in found if f]
    assert bad == [], f"{where}: {bad[:5]}"
    return len(found)


@pytest.fixture
def hostile(home):
    return setup_corpus(home)


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)


def test_search_page(hostile):
    at = page("search/page.py").run()
    at.session_state[state.SEARCH_QUERY] = hostile.query_sets()["dev"][0].text
    at.session_state[state.SEARCH_QID] = (
        hostile.query_sets()["dev"][0].query_id,
        hostile.query_sets()["dev"][0].text,
    )
    at.session_state[state.ANNOTATOR] = NAME
    at.run()
    assert at.session_state[state.SEARCH_QUERY].startswith("sourdough")
    assert assert_inert(at, "Search") > 10
    cards = [m.value for m in at.markdown if m.value.startswith('<div class="rl-card"')]
    full = [e for e in at.expander if e.label.startswith("Full passage (")]
    assert any(e.label.startswith("Full passage (100,") for e in full)
    # a card holds a bounded excerpt; only the expanders hold a whole long passage
    assert cards and sum(len(c) > 20_000 for c in cards) <= len(full)
    assert any(len(m.value) > 100_000 for e in full for m in e.markdown)


@pytest.mark.parametrize("tab", judge_header.TABS)
def test_judge_page_every_tab(hostile, tab):
    at = page("judge/page.py")
    at.session_state[state.ANNOTATOR] = NAME if tab != judge_header.JUDGE else "kbd"
    at.session_state[state.JUDGE_TAB] = tab
    at.run()
    assert_inert(at, f"Judge / {tab}")
    if tab == judge_header.JUDGE:
        assert any("rl-jp" in m.value for m in at.markdown)  # a passage is shown


def test_evaluate_page_every_tab(hostile):
    at = page("evaluate/page.py").run()
    assert_inert(at, "Evaluate")
    names = [t.label for t in at.tabs]
    assert len(names) >= 5
    for name in names:
        at.session_state[state.EVAL_TAB] = name
        at.run()
        assert_inert(at, f"Evaluate / {name}")


def test_learn_page_every_tab(hostile):
    at = page("learn/page.py").run()
    names = [t.label for t in at.tabs]
    assert len(names) >= 3
    for name in names:
        at.session_state[state.LEARN_TAB] = name
        at.run()
        assert_inert(at, f"Learn / {name}")
        queries = [s for s in at.selectbox if s.label == "A query of the corpus"]
        if queries:
            pick = next(o for o in queries[0].options if o.startswith("q1<svg"))
            queries[0].set_value(pick).run()
            assert_inert(at, f"Learn / {name} / q1")


def test_the_checker_sees_what_it_must():
    """The test's own parser flags the payloads when they are not escaped."""
    assert live(f"![p](http://{REMOTE}/p.png)", False)
    assert live(f"see http://{REMOTE}/x", False)
    assert live(f"<div>{XSS}</div>", True)
    assert live(f"<div>x</div>\n\n![p](http://{REMOTE}/p.png)", True)
    assert not live(safe.md(f"![p](http://{REMOTE}/p.png) see http://{REMOTE}/x"), False)
    assert not live(
        safe.html_block(f"<div>{safe.html_text(XSS + chr(10) * 2 + '![p](x)')}</div>"), True
    )
