"""Reproduction on Cranfield (BEIR layout): ingest a BEIR folder, evaluate, match the reference.

Reference figures (DESIGN.md, ../shared/datasets/README.md; pytrec_eval over all 225 judged
queries): BM25 nDCG@10 0.332 / R@100 0.687, with a Snowball stemmer 0.352 / 0.726;
all-MiniLM-L6-v2 exact cosine 0.382 / 0.772. Skipped when the dataset is absent.
"""

from __future__ import annotations

import json

import pytest

from ranklens.cli import main
from ranklens.corpus import index, ingest
from ranklens.corpus.chunking import ChunkSettings
from ranklens.evaluation import measures as ev
from ranklens.ranking.exact import exact_search
from ranklens.ranking.recipes import make_ranker
from ranklens.types import Hit

from .conftest import SHARED, module_home

CRANFIELD = SHARED / "cranfield"
ONE_PASSAGE = ChunkSettings(max_words=2000, overlap_words=0)
TOLERANCE = 0.01

pytestmark = pytest.mark.skipif(
    not (CRANFIELD / "corpus.jsonl").exists(), reason="Cranfield not at ../shared/datasets"
)


@pytest.fixture(scope="module")
def cran_home(tmp_path_factory):
    """One RANKLENS_HOME for the module: Cranfield with and without a stemmer (BM25 only)."""
    with module_home(tmp_path_factory.mktemp("cran")) as settings:
        plain = index.BM25Settings(k1=0.9, b=0.4, stopwords="en", stemmer=None)
        stemmed = index.BM25Settings(k1=0.9, b=0.4, stopwords="en", stemmer="english")
        for name, bm25 in (("cran", plain), ("cran-stem", stemmed)):
            ingest.ingest(CRANFIELD, name, ["bm25"], settings, chunking=ONE_PASSAGE, bm25=bm25)
        yield settings


def cli_means(capsys, corpus: str, *extra: str) -> dict:
    rc = main(["evaluate", "--corpus", corpus, "--measures", "nDCG@10", "R@100", "--json", *extra])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def test_beir_folder_gives_one_passage_per_document_and_its_own_labels(cran_home):
    corpus = index.open_corpus("cran", cran_home)
    assert corpus.passages == corpus.documents >= 1398  # two documents are empty
    assert set(corpus.query_sets()) == {"test"}
    assert len(corpus.query_sets()["test"]) == 225
    assert len(corpus.shipped_qrels()["test"]) == 1837


@pytest.mark.parametrize(
    "corpus, ndcg, recall", [("cran", 0.332, 0.687), ("cran-stem", 0.352, 0.726)]
)
def test_bm25_matches_the_reference(cran_home, capsys, corpus, ndcg, recall):
    means = cli_means(capsys, corpus, "--rankers", "bm25")["bm25"]
    assert means["nDCG@10"] == pytest.approx(ndcg, abs=TOLERANCE)
    assert means["R@100"] == pytest.approx(recall, abs=TOLERANCE)


@pytest.mark.slow
def test_minilm_exact_cosine_matches_the_reference(cran_home):
    """~150 s: encodes the 1,400 documents with all-MiniLM-L6-v2 on the CPU."""
    model = "all-MiniLM-L6-v2"
    corpus = ingest.ingest(None, "cran", [model], cran_home)
    queries = corpus.query_sets()["test"]
    dense = make_ranker(model, corpus)
    vectors = dense.encode(queries)
    exact = exact_search(corpus, model, vectors, 100)  # brute force, not HNSW
    run = {
        q.query_id: [
            Hit(q.query_id, pid, pid.rpartition("#")[0], score, rank)
            for rank, (pid, score) in enumerate(hits, 1)
        ]
        for q, hits in zip(queries, exact, strict=True)
    }
    per_query = ev.evaluate_runs({model: run}, corpus.shipped_qrels()["test"], ["nDCG@10", "R@100"])
    means = ev.mean_scores(per_query)[model]
    assert per_query["query_id"].nunique() == 225
    assert means["nDCG@10"] == pytest.approx(0.382, abs=TOLERANCE)
    assert means["R@100"] == pytest.approx(0.772, abs=TOLERANCE)
