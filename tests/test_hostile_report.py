"""The HTML report (ranklens.evaluation.report) with hostile ranker names, query ids and context values:
parsed back, it holds no tag, attribute or script of the data's, and shows the data as text.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd

from ranklens.evaluation import measures as ev
from ranklens.evaluation import report, stats

REMOTE = "198.51.100.7"
RANKER = f"</script><script>window.__pwned=1</script><img src=x onerror=alert(1)>![r](http://{REMOTE}/r.png)"
QUERY = f'q1"><svg/onload=alert(2)>\n\n![q](http://{REMOTE}/q.png)'
CONTEXT = f'<a href="http://{REMOTE}/c">corpus</a> [link](http://{REMOTE}/l) {"w" * 100_000}'
ALLOWED = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "table",
    "thead", "tbody", "tr", "th", "td", "details", "summary", "script", "sup", "b", "br", "code",
    "em", "strong", "ul", "ol", "li", "span", "pre", "i",
}  # fmt: skip


class Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def hostile_report() -> str:
    rows = []
    for r, vals in (("good", [1.0, 0.5, 0.8, 0.9]), (RANKER, [0.0, 0.25, 0.1, 0.2])):
        for q, v in zip([QUERY, "q2", "q3", "q4"], vals, strict=True):
            rows.append((r, q, "nDCG@10", v))
    pq = pd.DataFrame(rows, columns=ev.COLUMNS)
    curve = pd.DataFrame(
        [(r, k, 0.1 * k) for r in ("good", RANKER) for k in (1, 2, 3)],
        columns=["ranker", "k", "value"],
    )
    return report.html_report(
        pq,
        title=f"RankLens <script>alert(3)</script> ![t](http://{REMOTE}/t.png)",
        context={"corpus": CONTEXT, RANKER: QUERY},
        significance={"nDCG@10": stats.pairwise_significance(pq, "nDCG@10", "t")},
        judged={"good": 1.0, RANKER: 0.5},
        differences=("nDCG@10", "good", RANKER),
        curve=curve,
    )


def test_report_holds_no_markup_of_the_data():
    text = hostile_report()
    got = Parsed()
    got.feed(text)
    got.close()
    tags = {t for t, _ in got.tags}
    assert tags <= ALLOWED, tags - ALLOWED
    for tag, attrs in got.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
    # every script is plotly's: the data reaches them only as escaped JSON strings
    assert sum(t == "script" for t, _ in got.tags) == len(got.scripts) > 0
    figures = [s for s in got.scripts if "Plotly.newPlot" in s and len(s) < 1_000_000]
    assert len(figures) >= 3  # summary, difference, curve (plotly.js itself inlined once)
    for script in figures:
        assert "__pwned" not in script.replace("&lt;script&gt;window.__pwned", "")
        assert "<img" not in script and "<svg" not in script and "<script" not in script
    shown = "".join(got.text)
    assert RANKER in shown  # the names are shown, as text
    assert 'q1"><svg/onload=alert(2)>' in shown
    assert f"[link](http://{REMOTE}/l)" in shown
    assert f"http://{REMOTE}" not in "".join(str(a) for _, a in got.tags)
