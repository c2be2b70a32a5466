"""run:NAME, an imported run file as a leaf ranker: it answers the queries of its query set, in
trec_eval's order (score descending, then document id descending), and never deeper than the file.

A query is the run's when its id and text are a query of the set, or (a query typed on the
Search page) when its text equals one; any other query gets no hits. Ids the corpus lacks are
kept (hit doc_id = the id): pages show them as "not in the corpus", evaluation as unjudged.
"""

from __future__ import annotations

from collections.abc import Sequence

from ranklens.corpus.index import Corpus
from ranklens.errors import NotFoundError
from ranklens.ranking import imported_runs
from ranklens.ranking.rankers import RankerSpecError, check_k
from ranklens.ranking.runfiles import trec_order
from ranklens.types import Hit, Query, Run


def _norm(text: str) -> str:
    return " ".join((text or "").split())


class RunRanker:
    """The hits of an imported run (imported_runs), as a Ranker named run:NAME.

    A document-level run's hit is the document's first passage in the corpus (its id when the
    corpus lacks it); a passage-level run's hit takes the document id stored with the passage.
    """

    def __init__(self, corpus: Corpus, name: str) -> None:
        try:
            info = imported_runs.show_run(corpus, name)
        except NotFoundError as exc:
            raise RankerSpecError(str(exc)) from None
        self.corpus = corpus
        self.run = name
        self.name = imported_runs.ranker_name(name)
        self.level = info["level"]
        self.query_set = info["query_set"]
        self._version: int | None = None  # the version the texts below were read from
        self._texts: dict[str, set[str]] = {}
        self._by_text: dict[str, str] = {}

    def _refresh(self, con, manifest: dict) -> None:
        """Read the query texts (and level) of the version in use, once per version: a ranker
        kept by a page goes on ranking the new version after a --replace."""
        if manifest["version"] == self._version:
            return
        texts: dict[str, set[str]] = {}
        for qid, text in con.execute("SELECT qid, text FROM queries"):
            texts.setdefault(qid, set()).add(_norm(text))
        self.level, self.query_set = manifest["level"], manifest["query_set"]
        for q in self.corpus.query_sets().get(self.query_set, []):  # as the corpus holds it now
            if q.query_id in texts:
                texts[q.query_id].add(_norm(q.text))
        by_text: dict[str, str] = {}
        for qid, known in texts.items():  # a typed text: the first query of the set with it
            for t in known:
                by_text.setdefault(t, qid)
        self._texts, self._by_text, self._version = texts, by_text, manifest["version"]

    def query_id(self, query: Query) -> str | None:
        """The run's query id for a query (its own id, or the id of the set's query with its text)."""
        if self._version is None:
            with imported_runs.open_data(self.corpus, self.run) as (con, manifest):
                self._refresh(con, manifest)
        text = _norm(query.text)
        if text in self._texts.get(query.query_id, ()):
            return query.query_id
        return self._by_text.get(text)

    def rank(self, queries: Sequence[Query], k: int) -> Run:
        k = check_k(k)
        if not queries:
            return {}
        found: dict[str, list[tuple[str, float]]] = {}
        with imported_runs.open_data(self.corpus, self.run) as (con, manifest):
            self._refresh(con, manifest)
            for q in queries:
                qid = self.query_id(q)
                rows = con.execute("SELECT doc, score FROM hits WHERE qid = ?", (qid,))
                found[q.query_id] = trec_order(dict(rows.fetchall()))[:k] if qid else []
        ids = sorted({i for hits in found.values() for i, _ in hits})
        if self.level == "passage":
            docs = self.corpus.doc_id_of(ids)
            pairs = {i: (i, docs.get(i, i)) for i in ids}
        else:
            first = self.corpus.first_passage_ids(ids)
            pairs = {i: (first.get(i, i), i) for i in ids}
        return {
            qid: [Hit(qid, *pairs[i], score, r) for r, (i, score) in enumerate(hits, 1)]
            for qid, hits in found.items()
        }
