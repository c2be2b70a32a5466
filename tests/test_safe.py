"""components.safe: untrusted text read by a real Markdown parser (markdown-it, CommonMark with
GFM tables) and an HTML parser never yields a link, an image or a tag of its own.

GFM autolinks and Streamlit's own Markdown are checked in chromium (test_hostile_browser.py).
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from components import safe

REMOTE = "http://198.51.100.7"
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    f"![pixel]({REMOTE}/pixel.png)",
    f"[click me]({REMOTE}/phish)",
    "[js](javascript:window.__pwned=1)",
    f"<{REMOTE}/auto>",
    f"{REMOTE}/linkify www.example.com mail@example.com",
    f'<a href="{REMOTE}/a">a</a> <iframe src="{REMOTE}/f"></iframe>',
    f"[ref]\n\n[ref]: {REMOTE}/ref",
    f"title\n\n![after a blank line]({REMOTE}/nn.png)",
    f"title\r\r![after a CR blank line]({REMOTE}/rr.png)",
    f"x\r\n\r\n<img src={REMOTE}/crlf.png>",
    "\\![escaped already?](" + REMOTE + "/bs.png)",
    "**bold** _it_ `code` :red[red] $x^2$ # heading\n- item\n1. one\n> quote\n| a | b |\n|---|---|",
    "&lt;script&gt; &#60;img src=x onerror=alert(1)&#62;",
    "w" * 100_000,
]


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tags:
    t = Tags()
    t.feed(html)
    t.close()
    return t


def markdown(text: str, html: bool = True) -> str:
    """How a Markdown renderer with raw HTML allowed (st.markdown unsafe_allow_html) reads it."""
    return MarkdownIt("commonmark", {"html": html}).enable(["table", "strikethrough"]).render(text)


def dangerous(tags: list[tuple[str, dict]]) -> list:
    bad = {"a", "img", "script", "iframe", "svg", "style", "link", "object", "embed", "video"}
    return [
        (t, a)
        for t, a in tags
        if t in bad or any(k.startswith("on") or k in ("src", "href") for k in a)
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_is_literal(payload):
    out = markdown(safe.md(payload))
    got = parse(out)
    assert dangerous(got.tags) == []
    assert {t for t, _ in got.tags} <= {"p"}  # no emphasis, heading, list, code, table either
    shown = "".join(got.text).replace(safe.WJ, "").strip()  # word joiners break autolinks
    assert shown == " ".join(safe.LINE_BREAKS.split(payload)).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_multiline_keeps_lines_and_stays_literal(payload):
    got = parse(markdown(safe.md(payload, multiline=True)))
    assert dangerous(got.tags) == []
    assert {t for t, _ in got.tags} <= {"p", "br"}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_span_is_one_literal_span(payload):
    got = parse(markdown(safe.code(payload)))
    assert [t for t, _ in got.tags] == ["p", "code"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_error_messages_link_and_load_nothing(payload):
    got = parse(markdown(safe.error(f"bad.qrels, line 2: expected 4 columns, got {payload!r}")))
    assert dangerous(got.tags) == []
    assert {t for t, _ in got.tags} <= {"p", "br", "em", "strong"}
    assert "bad.qrels, line 2: expected 4 columns" in "".join(got.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_defanged_markdown_keeps_formatting_without_links(payload):
    got = parse(markdown(safe.md_defanged(payload)))
    assert dangerous(got.tags) == []


def test_defanged_markdown_keeps_emphasis_and_lists():
    got = parse(markdown(safe.md_defanged("**Relevant**: answers it\n\n- one\n- two")))
    assert {"strong", "ul", "li"} <= {t for t, _ in got.tags}
    assert "Relevant: answers it" in "".join(got.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_block_stays_one_raw_block(payload):
    """The fragment a card sends to st.markdown(unsafe_allow_html=True): Markdown must read it
    as one raw HTML block, so no Markdown inside it (an image after a blank line) comes alive."""
    fragment = safe.html_block(
        f'<div class="rl-card"><div>{safe.html_mark(payload, "pixel click")}</div>'
        f"<span>{safe.html_text(payload)}</span></div>"
    )
    assert not safe.LINE_BREAKS.search(fragment)
    got = parse(markdown(fragment))
    assert dangerous(got.tags) == []
    assert {t for t, _ in got.tags} <= {"div", "span", "mark", "br"}
    assert got.tags[0] == ("div", {"class": "rl-card"})


def test_html_block_wraps_a_fragment_not_opened_by_a_div():
    """A fragment opened by an inline tag would be read as a paragraph, with Markdown inside."""
    out = safe.html_block("<span>" + safe.html_text("*x* ![i](http://e/i.png)") + "</span>")
    assert out.startswith("<div>")
    assert dangerous(parse(markdown(out)).tags) == []


def test_excerpt_is_bounded_around_the_first_match():
    text = "filler " * 2000 + "sourdough bread " + "tail " * 2000
    shown, cut = safe.excerpt(text, "bread")
    assert cut and len(shown) <= safe.EXCERPT_CHARS + 4
    assert "bread" in shown and shown.startswith("… ") and shown.endswith(" …")
    assert shown.index("bread") < safe.EXCERPT_CHARS // 2  # a quarter of the window before it


def test_excerpt_of_one_long_word_and_of_short_text():
    word = "x" * 100_000
    shown, cut = safe.excerpt(word, "bread")
    assert cut and shown == "x" * safe.EXCERPT_CHARS + " …"
    assert safe.excerpt("short text", "bread") == ("short text", False)
    assert safe.excerpt("", "bread") == ("", False)


def test_excerpt_without_a_match_starts_at_the_start():
    text = "alpha " * 1000
    shown, cut = safe.excerpt(text, "zebra")
    assert cut and shown.startswith("alpha") and not shown.startswith("…")


def test_autolink_literals_are_broken_by_an_invisible_word_joiner():
    """remark-gfm finds http://, www. and e-mail links in the text after escapes are undone."""
    out = safe.md("see http://198.51.100.7/x www.example.com a@b.example")
    assert "\\:" + safe.WJ + "\\/" in out and "www" + safe.WJ in out and "@" + safe.WJ in out
    assert safe.WJ in safe.md_defanged("https://x.example")


def test_md_limit_cuts_before_escaping():
    out = safe.md("![" + "a" * 50, limit=10)
    assert out == "\\!\\[aaaaaaa…"


def test_inline_is_one_line_and_keeps_a_recipe_readable():
    assert safe.inline("rrf(bm25,all-MiniLM-L6-v2)") == "rrf(bm25,all-MiniLM-L6-v2)"
    out = safe.inline(f"a\n\n![x]({REMOTE}/x.png)")
    assert not safe.LINE_BREAKS.search(out) and dangerous(parse(markdown(out)).tags) == []
