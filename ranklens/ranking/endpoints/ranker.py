"""`endpoint:NAME`, a leaf ranker: a corpus's endpoint asked for each query (through the cache),
its hits made into the corpus's Hit records, the texts of documents the corpus lacks kept aside.

Hits are documents: an id that is a passage id of the corpus is that passage (of its document); a
document id of the corpus stands for its first passage (so its card shows the corpus's text, as
an imported run's document ids do); any other id is a document the corpus lacks (passage_id =
doc_id). A document the corpus
lacks keeps the title and text the endpoint returned in ranklens.corpus.external_docs (source
`endpoint:NAME`), to be shown and judged, never indexed. The engine is asked for 10, 100 or
1000 hits (at most the endpoint's max_k), never for the deeper sizes document-level ranking
asks of passage rankers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from ranklens.corpus import external_docs
from ranklens.ranking.endpoints.client import RawHit, fetch
from ranklens.ranking.endpoints.registry import EndpointStore, ranker_name
from ranklens.ranking.endpoints.spec import PREFIX
from ranklens.ranking.rankers import check_k
from ranklens.types import Doc, Hit, Query, Run

_KEPT_MAX = 200_000
# (corpus folder, endpoint, when it was added, doc id) -> digest of the title and text kept, for
# documents of this process's answers (in the corpus or kept in external_docs)
_kept: dict[tuple, str] = {}


def _digest(hit: RawHit) -> str:
    return hashlib.sha1(f"{hit.title}\x00{hit.text}".encode()).hexdigest()


_TOKEN = re.compile(re.escape(PREFIX) + r"([A-Za-z0-9][A-Za-z0-9._-]*)")


class EndpointRanker:
    """A corpus's live search endpoint as a ranker; `refresh` asks the engine again for every
    query (and caches the new answers) instead of reading the cache."""

    def __init__(
        self,
        corpus: Any,
        endpoint: str,
        *,
        refresh: bool = False,
        store: EndpointStore | None = None,
    ) -> None:
        self.corpus = corpus
        self.endpoint = endpoint
        self.name = ranker_name(endpoint)
        self.store = store or EndpointStore(corpus.dir, corpus.name)
        self.spec = self.store.get(endpoint)
        self.generation = (str(corpus.dir), self.name, self.store.updated(endpoint))
        self.refresh = refresh
        self.fetched = 0  # queries sent to the engine by the last answers() call
        self.cached = 0  # queries answered from the cache by it

    def answers(self, texts: Sequence[str], size: int) -> dict[str, list[RawHit]]:
        """The engine's hits for each distinct query text, from the cache where it has them,
        else asked (at most the endpoint's concurrency at a time) and cached one by one, so an
        error part way keeps what was already answered; the texts of documents the corpus
        lacks are kept in one write for all the answers."""
        out: dict[str, list[RawHit]] = {}
        todo: list[str] = []
        for text in dict.fromkeys(texts):
            hit = None if self.refresh else self.store.cached(self.spec.hash, text, size)
            if hit is None:
                todo.append(text)
            else:
                out[text] = hit
        self.cached, self.fetched = len(out), len(todo)

        def one(text: str) -> list[RawHit]:
            hits = fetch(self.spec, self.name, text, size)
            self.store.put(self.spec.hash, text, size, hits)
            return hits

        fetched: dict[str, list[RawHit]] = {}
        try:
            if len(todo) == 1:
                fetched[todo[0]] = one(todo[0])
            elif todo:
                workers = min(self.spec.concurrency, len(todo))
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    futures = {pool.submit(one, text): text for text in todo}
                    failed: BaseException | None = None
                    for future in as_completed(futures):
                        try:
                            fetched[futures[future]] = future.result()
                        except Exception as exc:  # noqa: BLE001 - raised below, after the rest
                            failed = failed or exc
                    if failed is not None:
                        raise failed
        finally:  # the texts of every answer that came, in one write (even when one failed)
            self._keep_texts([h for hits in fetched.values() for h in hits])
        out.update(fetched)
        return out

    def _keep_texts(self, hits: Sequence[RawHit]) -> None:
        """Keep the title and text of returned documents the corpus lacks (never indexed).

        What this process kept for this endpoint (as added or replaced last) is remembered, so
        an engine that returns the same documents again costs no store access."""
        latest = {h.id: h for h in hits}  # one document returned by several queries: once
        with_text = [
            h
            for h in latest.values()
            if (h.title or h.text) and _kept.get(self._key(h)) != _digest(h)
        ]
        if not with_text:
            return
        known = known_ids(self.corpus, [h.id for h in with_text])
        missing = [h for h in with_text if h.id not in known]
        kept = external_docs.get(self.corpus.dir, [h.id for h in missing], source=self.name)
        changed = [
            Doc(h.id, h.text, h.title, self.name)
            for h in missing
            if h.id not in kept or (kept[h.id].title, kept[h.id].text) != (h.title, h.text)
        ]
        external_docs.put(self.corpus.dir, self.name, changed)  # one durable write, if any
        if len(_kept) > _KEPT_MAX:
            _kept.clear()
        for h in with_text:
            _kept[self._key(h)] = _digest(h)

    def _key(self, hit: RawHit) -> tuple:
        return (*self.generation, hit.id)

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        k = check_k(k)
        if not queries:
            return {}
        found = self.answers([q.text for q in queries], self.spec.request_size(k))
        ids = sorted({h.id for hits in found.values() for h in hits})
        doc_of = self.corpus.doc_id_of(ids)  # ids that are passages of the corpus
        first = self.corpus.first_passage_ids([i for i in ids if i not in doc_of])
        run: Run = {}
        for q in queries:
            hits = found[q.text][:k]
            run[q.query_id] = [
                Hit(q.query_id, first.get(h.id, h.id), doc_of.get(h.id, h.id), h.score, rank)
                for rank, h in enumerate(hits, 1)
            ]
        return run


def known_ids(corpus: Any, ids: Sequence[str]) -> set[str]:
    """The ids among `ids` that the corpus holds, as a document id or as a passage id."""
    ids = list(ids)
    return set(corpus.doc_id_of(ids)) | set(corpus.first_passage_ids(ids))


def test_rows(corpus: Any, hits: Sequence[RawHit]) -> list[dict[str, Any]]:
    """An endpoint's answer to a test query as rows: rank, id, score, whether the corpus holds
    the id (`in_corpus`), and the title and text the system returned."""
    known = known_ids(corpus, [h.id for h in hits])
    return [
        {
            "rank": i,
            "id": h.id,
            "score": h.score,
            "in_corpus": h.id in known,
            "title": h.title,
            "text": h.text,
        }
        for i, h in enumerate(hits, 1)
    ]


def endpoint_rankers(corpus: Any) -> list[str]:
    """`endpoint:NAME` for every endpoint of the corpus (to offer beside its models)."""
    return [ranker_name(n) for n in EndpointStore(corpus.dir, corpus.name).names()]


def snapshot_info(corpus: Any, recipes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What a snapshot records of each endpoint its recipes name: preset, URL and the
    configuration hash its cached answers are filed under (no header values)."""
    named = [name for recipe in recipes for name in _TOKEN.findall(recipe)]
    if not named:
        return {}
    store = EndpointStore(corpus.dir, corpus.name)
    have = set(store.names())
    out: dict[str, dict[str, Any]] = {}
    for name in named:
        if name in have and ranker_name(name) not in out:
            spec = store.get(name)
            out[ranker_name(name)] = {
                "kind": "endpoint",
                "preset": spec.preset,
                "url": spec.url,
                "config_hash": spec.hash,
                "max_k": spec.max_k,
            }
    return out
