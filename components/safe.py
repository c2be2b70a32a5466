"""Untrusted text (corpus, queries, ids, titles, names, guidelines, error messages) made inert
for each kind of output: Markdown (captions, labels, help), HTML for st.markdown, excerpts.

One helper per kind; a page never builds markup out of untrusted text in any other way.
Markdown: ASCII punctuation is backslash-escaped (CommonMark lets any of it be) and GFM
autolinks get a word joiner, so no link, image, emphasis, HTML, math or directive can form.
HTML: html.escape (quotes too) and no line break left, since st.markdown parses its text as
Markdown first and a blank line (\\n\\n or \\r\\r) would end the HTML block and let the rest be
read as Markdown (a remote image).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from ranklens.access import redact_paths
from ranklens.ranking.highlight import QUERY_WORD, _norm, highlight, query_terms

# CommonMark line endings (\r\n, \r, \n) and the other characters a renderer may break on
LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
MD_PUNCT = re.compile(r"([!-/:-?\[-`{-~])")  # ASCII punctuation but @ (an e-mail: see WJ)
# GFM autolink literals (http://, www., a@b.c) are found in the parsed text, after escapes are
# undone: a word joiner (U+2060, invisible) after "http:", "www" and "@" keeps them plain text
WJ = "\u2060"
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(www)(?=\.)|(@)(?=[-\w]+\.[-\w])")
EXCERPT_CHARS = 1200  # a card shows at most this many characters of a passage
JUDGE_EXCERPT_CHARS = 3000  # the Judge page's one passage: more, still bounded
SNAP = 80  # an excerpt's ends move to a space at most this far away
# styles for boxes that hold untrusted text: a 100,000-character word wraps inside its box
WRAP_CSS = "overflow-wrap:anywhere; word-break:break-word; min-width:0;"


def md(text: object, *, multiline: bool = False, limit: int | None = None) -> str:
    """`text` shown literally by Markdown (st.markdown, st.caption, st.info, labels, help).

    Line breaks become spaces, or (multiline) hard line breaks. `limit` cuts the text (with …)
    before escaping, for labels and captions that must stay short.
    """
    s = "" if text is None else str(text)
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    s = MD_PUNCT.sub(r"\\\1", _unlink(s))
    if multiline:
        return "  \n".join(LINE_BREAKS.split(s))
    return LINE_BREAKS.sub(" ", s)


def _unlink(s: str) -> str:
    return _AUTOLINK.sub(lambda m: m.group(0) + WJ, s)


def code(text: object, *, limit: int | None = None) -> str:
    """`text` as a Markdown code span: shown literally, in a monospace font, on one line."""
    s = LINE_BREAKS.sub(" ", "" if text is None else str(text)).replace("`", "'")
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return f"`{s}`" if s.strip() else "`''`"


_LOADERS = re.compile(r"([\\<>\[\]$`])")  # what links, loads, embeds HTML or math


def error(exc: object) -> str:
    """A message (it may quote a bad line of a file) for st.error / st.success / st.info: no
    link, image, raw HTML, code span or math can form (backslash, <, >, [, ], $ and backticks
    are escaped, autolinks broken), while its own punctuation (file.txt, line 2: ...) reads as
    written. Emphasis may still form: it loads and links nothing."""
    s = _LOADERS.sub(r"\\\1", _unlink(for_viewer("" if exc is None else str(exc))))
    return "  \n".join(LINE_BREAKS.split(s))


_admin_check: Callable[[], bool] | None = None  # components.auth's is_admin, set when it loads


def set_admin_check(check: Callable[[], bool]) -> None:
    """Who may read server paths (components.auth registers is_admin: it builds on this module,
    so this module never imports it). Until one is set, nobody may: paths are cut."""
    global _admin_check
    _admin_check = check


def for_viewer(text: str) -> str:
    """TEXT as this visitor may read it: in team mode a non-admin reads no server path (each
    is cut to its last part, ranklens.access.redact_paths); everyone else reads it whole."""
    try:
        admin = _admin_check() if _admin_check is not None else False
    except Exception:  # noqa: BLE001 - no store or session to ask: show the least
        admin = False
    return text if admin else redact_paths(text)


def inline(text: object) -> str:
    """Like error(), on one line: for a name the app composed (a ranker's recipe) in Markdown."""
    return LINE_BREAKS.sub(" ", error(text).replace("  \n", " "))


_DEFANG = re.compile(r"([\\<>\[\]!$:@])")


def md_defanged(markdown: str) -> str:
    """Markdown typed by a user (guidelines) with its formatting kept (emphasis, lists, headings,
    code) but nothing that can load or link: backslash, brackets, <, >, !, $, : and @ are
    escaped and autolinks broken by a word joiner, so no image, link, reference, raw HTML,
    autolink, math or directive forms."""
    out = _DEFANG.sub(r"\\\1", _unlink(markdown or ""))
    return out.replace("\r\n", "\n").replace("\r", "\n")


def html_text(text: object) -> str:
    """Plain text as HTML: escaped (quotes too), line breaks as <br>, on one line."""
    return LINE_BREAKS.sub("<br>", html.escape("" if text is None else str(text), quote=True))


def html_mark(text: str, query: str) -> str:
    """Text as HTML with the query's terms marked (ranklens.ranking.highlight), on one line."""
    return LINE_BREAKS.sub("<br>", highlight(text or "", query))


def html_block(fragment: str) -> str:
    """An HTML fragment made of escaped pieces, ready for st.markdown(unsafe_allow_html=True):
    on one line and opened by a <div>, so Markdown reads it as one raw HTML block."""
    one = LINE_BREAKS.sub(" ", fragment)
    return one if one.startswith("<div") else f"<div>{one}</div>"


def marked_block(text: str, query: str, cls: str) -> str:
    """A passage as one raw HTML block: escaped, query terms marked, long words wrapped."""
    return html_block(f'<div class="{cls}" style="{WRAP_CSS}">{html_mark(text, query)}</div>')


def excerpt_bounds(text: str, query: str, limit: int = EXCERPT_CHARS) -> tuple[int, int]:
    """(start, end) of at most `limit` characters of `text`: around the first word that matches
    a query term (a quarter of the window before it), else the start; ends moved to a space
    when one is near."""
    n = len(text)
    if n <= limit:
        return 0, n
    at = 0
    terms = query_terms(query) if query else set()
    if terms:
        for m in QUERY_WORD.finditer(text):
            if _norm(m.group(0), "english") in terms:
                at = m.start()
                break
    start = max(0, min(at - limit // 4, n - limit))
    if start > 0:
        space = text.find(" ", start, start + SNAP)
        if space != -1:
            start = space + 1
    end = min(n, start + limit)
    if end < n:
        space = text.rfind(" ", max(start, end - SNAP), end)
        if space > start:
            end = space
    return start, end


def excerpt(text: str, query: str, limit: int = EXCERPT_CHARS) -> tuple[str, bool]:
    """(excerpt, cut): the bounded part of `text` a card shows, with … where it was cut."""
    start, end = excerpt_bounds(text or "", query, limit)
    if start == 0 and end == len(text or ""):
        return text or "", False
    return ("… " if start else "") + text[start:end] + (" …" if end < len(text) else ""), True
