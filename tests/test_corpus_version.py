"""Corpus.version(): the one fingerprint every cache keys on to tell whether a corpus changed
(passages, indexes, query sets, imported runs); pages never read the corpus's folder."""

from __future__ import annotations

from pathlib import Path

from ranklens.corpus import index, ingest
from ranklens.ranking.imported_runs import import_run
from ranklens.types import Query

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_changes_with_what_changes_results(home, small_jsonl, tmp_path):
    corpus = ingest.ingest(small_jsonl, "v", ["bm25"], home)
    first = corpus.version()
    assert index.open_corpus("v", home).version() == first  # reading changes nothing
    corpus.add_query_set("s", [Query("q1", "tea")])
    with_set = corpus.version()
    assert with_set != first
    corpus.add_query_set("s", [Query("q1", "green tea")], replace=True)
    assert corpus.version() != with_set
    before_run = corpus.version()
    doc = next(corpus.iter_passages()).doc_id
    run = tmp_path / "r.trec"
    run.write_text(f"q1 Q0 {doc} 1 2.0 mine\n")
    import_run(corpus, run, "mine", query_set="s")
    assert corpus.version() != before_run
    # the same data made again is another corpus (another uid): caches of the old one go
    again_before = corpus.version()
    index.delete_corpus("v", home)
    assert ingest.ingest(small_jsonl, "v", ["bm25"], home).version() != again_before


def test_no_page_reads_the_corpus_folder():
    pages = [*ROOT.glob("pages/**/*.py"), *ROOT.glob("components/*.py"), ROOT / "app.py"]
    readers = [str(p.relative_to(ROOT)) for p in pages if "corpus.dir" in p.read_text()]
    assert readers == []
