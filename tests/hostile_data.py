"""Hostile text shared by the hostile-input tests (AppTest and chromium): documents, titles,
ids, queries, query ids, guidelines and a name holding markup, remote images and links, blank
lines that would end an HTML block, and a 100,000-character word; a corpus and store built of them.
"""

from __future__ import annotations

from ranklens.corpus import index, ingest
from ranklens.judging import JudgmentStore, pooling
from ranklens.ranking.recipes import make_ranker
from ranklens.types import Query

from .conftest import write_jsonl

REMOTE = "198.51.100.7"  # TEST-NET-2: never a real host
XSS = (
    '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=1;alert(2)</script>'
    f'<svg onload="window.__pwned=1"></svg><iframe src="http://{REMOTE}/frame"></iframe>'
)
MD = (
    f"![pixel](http://{REMOTE}/md.png) [phish](http://{REMOTE}/phish) "
    f"[js](javascript:window.__pwned=1) http://{REMOTE}/auto www.example.com "
    f"<http://{REMOTE}/angle> :red[red] $x^2$ **bold**"
)
BREAK = f"\n\n![after a blank line](http://{REMOTE}/nn.png)\r\r![after CRs](http://{REMOTE}/rr.png)"
LONG = "sourdough" + "x" * 100_000
NAME = f"eve![n](http://{REMOTE}/name.png)<img src=x onerror=alert(3)>"
DOCS = [
    (
        "<img/src=x/onerror=window.__pwned=1>doc",  # ids hold no white space
        XSS + BREAK,
        f"sourdough bread {XSS} {MD}{BREAK} the end",
    ),
    (f"doc![i](http://{REMOTE}/id.png)", MD, "sourdough bread " + LONG),
    ("plain", "Plain", "Sourdough bread rises with wild yeast."),
    (f"[link](http://{REMOTE}/l)", "", "bread " * 400 + MD + " sourdough"),
]
QUERIES = [
    Query(f"q1<svg/onload=alert(4)>![i](http://{REMOTE}/qid.png)", f"sourdough {XSS} {MD}"),
    Query("q2", "bread" + BREAK),
    Query("q3", LONG[:2000] + " bread"),
]
GUIDELINES = f"**Relevant** means it answers.\n\n{XSS}\n\n{MD}{BREAK}"


def setup_corpus(settings, models: tuple[str, ...] = ("bm25",)) -> index.Corpus:
    """Corpus "hostile" with query set "dev", its guidelines, a pool of BM25's top 5 (three
    annotators per passage, so it still waits for a judge) and labels by tester and other."""
    path = write_jsonl(
        settings.home.parent / "hostile.jsonl",
        [{"_id": i, "title": t, "text": x} for i, t, x in DOCS],
    )
    corpus = ingest.ingest(path, "hostile", list(models), settings)
    corpus.add_query_set("dev", QUERIES)
    with JudgmentStore(settings.db_url) as store:
        store.set_judging_settings(  # 3 per passage: the pool still waits for a third judge
            "hostile", "dev", guidelines=GUIDELINES, annotators_per_passage=3
        )
        pool = pooling.make_pool(store, corpus, "dev", [make_ranker("bm25", corpus)], 5)
        for n, item in enumerate(pool.items):
            store.add_label(
                "hostile", "tester", item.query_id, item.passage_id, n % 3, doc_id=item.doc_id
            )
            if n % 2:
                store.add_label(
                    "hostile",
                    "other",
                    item.query_id,
                    item.passage_id,
                    (n + 1) % 3,
                    doc_id=item.doc_id,
                )
    return corpus
