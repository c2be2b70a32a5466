"""Query-term highlighting for untrusted passage text: escape first, then mark matching words.

The output is safe HTML: the only tags in it are the <mark> elements added here.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

WORD = re.compile(r"(&(?:amp|lt|gt|quot|#x27);)|(\w\w+)", re.UNICODE)
QUERY_WORD = re.compile(r"\w\w+", re.UNICODE)


@lru_cache(maxsize=4)
def _stemmer(language: str | None):
    if not language:
        return None
    try:
        import Stemmer
    except ImportError:  # pragma: no cover - PyStemmer is a dependency
        return None
    return Stemmer.Stemmer(language)


@lru_cache(maxsize=4)
def _stopwords(lang: str | None) -> frozenset[str]:
    if lang != "en":
        return frozenset()
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def escape(text: str) -> str:
    """Text made safe to place in HTML (quotes too)."""
    return html.escape(text or "", quote=True)


def _norm(word: str, language: str | None) -> str:
    stemmer = _stemmer(language)
    w = word.lower()
    return stemmer.stemWord(w) if stemmer else w


def query_terms(
    query: str, language: str | None = "english", stopwords: str | None = "en"
) -> set[str]:
    """The query's words as matched in passages: lower-cased, stemmed, stopwords left out."""
    stop = _stopwords(stopwords)
    return {_norm(w, language) for w in QUERY_WORD.findall(query) if w.lower() not in stop}


def highlight(
    text: str, query: str, language: str | None = "english", stopwords: str | None = "en"
) -> str:
    """`text` HTML-escaped, with every word that matches a query term wrapped in <mark>.

    Matching is on stems (PyStemmer, `language`), so "sorting" marks "sorted". Escaping comes
    first, and entities made by escaping are never split, so the result holds no markup from
    `text` itself.
    """
    escaped = html.escape(text or "", quote=True)
    terms = query_terms(query, language, stopwords)
    if not terms:
        return escaped

    def wrap(m: re.Match) -> str:
        word = m.group(2)
        if word is not None and _norm(word, language) in terms:
            return f"<mark>{word}</mark>"
        return m.group(0)

    return WORD.sub(wrap, escaped)
