"""Index: staged, resumable ingestion into Chroma + BM25; bad input never touches a corpus."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ranklens.corpus import index, ingest
from ranklens.corpus.chunking import ChunkSettings
from ranklens.errors import InputError, NotFoundError, RankLensError

from .conftest import FAST_MODEL, FakeEncoder, kill_ingest_when_counted, write_jsonl


def corpus_files(settings, name):
    root = settings.corpora_dir / name
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_ingest_builds_ready_corpus(home, small_jsonl, fake_encoder):
    c = ingest.ingest(small_jsonl, "small", ["bm25", "fake-encoder"], home)
    s = c.summary()
    assert (s["documents"], s["passages"], s["status"]) == (5, 6, "ready")
    assert s["models"] == ["bm25", "fake-encoder"]
    col = c.collection("fake-encoder")
    assert col.count() == 6
    assert col.configuration["hnsw"]["space"] == "cosine"
    got = col.get(ids=["py#1"], include=["metadatas"])
    assert got["metadatas"][0] == {"doc_id": "py", "position": 1}
    assert (c.dir / "bm25").is_dir()
    p = c.get_passages(["tea#0"])["tea#0"]
    assert p.doc_id == "tea" and p.title == "Tea" and "Green tea" in p.text
    assert [x.passage_id for x in c.passages_at([2, 0])] == ["rust#0", "py#0"]
    assert index.list_corpora(home)[0]["name"] == "small"


def test_interrupted_ingest_resumes_without_duplicates(home, small_jsonl):
    enc = FakeEncoder("fake-resume")
    from ranklens import models

    models.register_encoder(enc)

    def stop_after_first_batch(p):
        if p.stage == "fake-resume" and p.done >= 2:
            raise KeyboardInterrupt

    home = dataclasses.replace(home, batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        ingest.ingest(
            small_jsonl, "r", ["bm25", "fake-resume"], home, progress=stop_after_first_batch
        )
    c = index.open_corpus("r", home)
    assert c.status == "indexing" and c.models() == ["bm25"]
    assert enc.documents_encoded == 2
    ingest.ingest(small_jsonl, "r", ["bm25", "fake-resume"], home)
    assert c.status == "ready"
    assert enc.documents_encoded == 6  # 2 before the interruption + 4 missing: none twice
    ids = c.collection("fake-resume").get(include=[])["ids"]
    assert sorted(ids) == sorted(c.passage_ids()) and len(ids) == len(set(ids))


def test_adding_a_model_embeds_for_that_model_only(home, small_jsonl, fake_encoder):
    ingest.ingest(small_jsonl, "m", ["bm25", "fake-encoder"], home)
    other = FakeEncoder("fake-two", dim=32)
    from ranklens import models

    models.register_encoder(other)
    before = fake_encoder.documents_encoded
    c = ingest.ingest(None, "m", ["fake-two"], home)
    assert fake_encoder.documents_encoded == before and other.documents_encoded == 6
    assert c.models() == ["bm25", "fake-encoder", "fake-two"]
    # the same again is a no-op
    ingest.ingest(small_jsonl, "m", ["bm25", "fake-encoder", "fake-two"], home)
    assert other.documents_encoded == 6 and fake_encoder.documents_encoded == before


def test_bad_input_leaves_existing_corpus_exactly_as_it_was(home, small_jsonl, tmp_path):
    ingest.ingest(small_jsonl, "keep", ["bm25"], home)
    before = corpus_files(home, "keep")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(InputError, match="duplicate"):
        ingest.ingest(bad, "keep", ["bm25"], home)
    changed = write_jsonl(tmp_path / "other.jsonl", [{"_id": "z", "text": "other text"}])
    with pytest.raises(RankLensError, match="already exists"):
        ingest.ingest(changed, "keep", ["bm25"], home)
    with pytest.raises(InputError, match="no such file"):
        ingest.ingest(tmp_path / "nope.jsonl", "keep", ["bm25"], home)
    assert corpus_files(home, "keep") == before
    assert not list(home.corpora_dir.glob(".staging-*"))
    # a failed first ingest leaves no corpus behind
    with pytest.raises(InputError):
        ingest.ingest(bad, "fresh", ["bm25"], home)
    with pytest.raises(NotFoundError):
        index.open_corpus("fresh", home)


def test_beir_folder_keeps_query_sets_and_labels(home, tmp_path):
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    write_jsonl(
        root / "corpus.jsonl", [{"_id": "d1", "text": "alpha"}, {"_id": "d2", "text": "beta"}]
    )
    write_jsonl(root / "queries.jsonl", [{"_id": "q1", "text": "alpha?"}])
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    c = ingest.ingest(root, "tiny", ["bm25"], home)
    assert [q.text for q in c.query_sets()["test"]] == ["alpha?"]
    assert c.shipped_qrels()["test"][0].doc_id == "d1"
    assert c.summary()["query_sets"] == {"test": 1}


def test_chunking_settings_recorded(home, small_jsonl):
    c = ingest.ingest(small_jsonl, "c", ["bm25"], home, chunking=ChunkSettings(20, 5))
    assert c.manifest["chunking"] == {"max_words": 20, "overlap_words": 5}
    assert c.passages > 6


def test_delete_removes_folder_and_collections(home, small_jsonl, fake_encoder):
    c = ingest.ingest(small_jsonl, "gone", ["bm25", "fake-encoder"], home)
    name = c.indexes()["fake-encoder"]["collection"]
    index.delete_corpus("gone", home)
    assert not (home.corpora_dir / "gone").exists()
    client = index.chroma_client(home)
    assert name not in [col.name for col in client.list_collections()]
    with pytest.raises(NotFoundError):
        index.delete_corpus("gone", home)


def test_names_and_models_validated(home, small_jsonl):
    with pytest.raises(RankLensError, match="invalid corpus name"):
        ingest.ingest(small_jsonl, "../evil", ["bm25"], home)
    with pytest.raises(RankLensError, match="reranker"):
        ingest.ingest(small_jsonl, "x", ["ms-marco-MiniLM-L-12-v2"], home)
    with pytest.raises(NotFoundError):
        ingest.ingest(None, "nothing", ["bm25"], home)


REFUSED_NAMES = [
    "a..b",  # Chroma refuses '..' in a collection name
    "../../x",  # a path out of RANKLENS_HOME
    "..",
    "a/b",
    "",
    "x" * 64,  # too long
    "my corpus",  # white space
    " abc",
    "abc\n",  # a trailing newline ($ in a regex would let it through)
    ".hidden",  # leading dot: a staging folder's shape
    "-rf",  # leading dash: an option to a command
    "abc.",  # trailing dot
    "abc-",
    "ａｂｃ",  # full-width letters
    "pаypal",  # a Cyrillic a
    "ab\u200bc",  # zero-width space
    "abc\u202e",  # right-to-left override
    "café",
    "nul\x00",
]


@pytest.mark.parametrize("bad", REFUSED_NAMES)
def test_refused_names_write_nothing(home, small_jsonl, fake_encoder, bad):
    for call in (
        lambda: ingest.ingest(small_jsonl, bad, ["bm25", "fake-encoder"], home),
        lambda: ingest.ingest(None, bad, ["bm25"], home),
        lambda: index.open_corpus(bad, home),
        lambda: index.delete_corpus(bad, home),
    ):
        with pytest.raises(RankLensError, match="invalid corpus name") as err:
            call()
        assert not isinstance(err.value, NotFoundError)
    assert not home.home.exists()  # nothing written: no folder, no lock, no Chroma
    assert not (home.home.parent / "x").exists()


def test_refused_query_set_name_and_folders_no_store_accepts_are_not_listed(home, small_jsonl):
    from ranklens.types import Query

    c = ingest.ingest(small_jsonl, "named", ["bm25"], home)
    for bad in ("a..b", "../q", ".q", "q q"):
        with pytest.raises(RankLensError, match="invalid query set name"):
            c.add_query_set(bad, [Query("1", "tea")])
    assert c.query_sets() == {}
    # a folder made by hand under a name no store accepts is neither listed nor opened
    import shutil

    shutil.copytree(c.dir, home.corpora_dir / "a..b")
    assert [r["name"] for r in index.list_corpora(home)] == ["named"]


@pytest.mark.parametrize("good", ["a", "A1", "demo.v2", "my_corpus-2", "x" * 63, "1.2.3.4"])
def test_accepted_names_work_in_every_store(home, tmp_path, fake_encoder, good):
    path = write_jsonl(tmp_path / "c.jsonl", [{"_id": "d", "text": "green tea"}])
    c = ingest.ingest(path, good, ["bm25", "fake-encoder"], home)
    assert c.status == "ready" and c.collection("fake-encoder").count() == 1
    index.delete_corpus(good, home)


def test_cli_ingest_corpora_delete(home, small_jsonl, tmp_path, capsys):
    from ranklens.cli import main

    assert main(["ingest", str(small_jsonl), "--corpus", "cli", "--models", "bm25", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["corpora", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] | {} == rows[0]
    assert {k: rows[0][k] for k in ("name", "documents", "passages", "models", "status")} == {
        "name": "cli",
        "documents": 5,
        "passages": 6,
        "models": ["bm25"],
        "status": "ready",
    }
    assert "query_sets" in rows[0]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\n1,a\n2\n")
    assert main(["ingest", str(bad), "--corpus", "cli2", "--models", "bm25", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 3" in err and "Traceback" not in err
    assert main(["delete", "--corpus", "cli", "--yes"]) == 0
    assert main(["delete", "--corpus", "cli", "--yes"]) == 2


def test_real_model_ingest_end_to_end(home, small_jsonl):
    """The fastest real model, on five documents: embeddings are the model's, normalised."""
    import numpy as np

    c = ingest.ingest(small_jsonl, "real", [FAST_MODEL], home)
    got = c.collection(FAST_MODEL).get(ids=["moon#0"], include=["embeddings"])
    v = np.asarray(got["embeddings"][0])
    assert v.shape == (384,) and abs(float(np.linalg.norm(v)) - 1) < 1e-4


def test_ingest_killed_with_sigkill_resumes_exactly(home, tmp_path, monkeypatch):
    from ranklens import models

    records = [
        {"_id": f"d{i}", "text": f"document number {i} about topic {i % 7}"} for i in range(400)
    ]
    path = write_jsonl(tmp_path / "many.jsonl", records)
    monkeypatch.setenv("RANKLENS_BATCH_SIZE", "4")
    models_ = ["bm25", "fake-killed"]
    call = f"ingest.ingest({str(path)!r}, 'killed', {models_!r}, get_settings(), progress=report)"
    done = kill_ingest_when_counted(call, 40)
    assert 40 <= done < 400
    c = index.open_corpus("killed", index.get_settings())
    assert c.status == "indexing"
    enc = FakeEncoder("fake-killed")
    models.register_encoder(enc)
    ingest.ingest(None, "killed", ["fake-killed"], index.get_settings())
    assert c.status == "ready"
    assert enc.documents_encoded <= 400 - done  # what was stored before the kill is not redone
    ids = c.collection("fake-killed").get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == 400 and set(ids) == set(c.passage_ids())


def test_left_behind_collection_is_never_reused_for_other_passages(home, tmp_path, fake_encoder):
    """A corpus folder removed by hand (or a delete killed half way) leaves its collection."""
    import shutil

    import numpy as np

    a = write_jsonl(tmp_path / "a.jsonl", [{"_id": "d0", "text": "green tea leaves"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"_id": "d0", "text": "rocket engines burn fuel"}])
    ingest.ingest(a, "same", ["fake-encoder"], home)
    shutil.rmtree(home.corpora_dir / "same")
    c = ingest.ingest(b, "same", ["fake-encoder"], home)
    got = c.collection("fake-encoder").get(ids=["d0#0"], include=["embeddings"])
    expected = fake_encoder.encode_documents(["rocket engines burn fuel"])[0]
    assert np.allclose(np.asarray(got["embeddings"][0]), expected, atol=1e-6)


def test_stale_staging_of_another_corpus_is_left_alone(home, small_jsonl):
    home.corpora_dir.mkdir(parents=True)
    other = home.corpora_dir / ".staging-docs-v2-4242"
    mine = home.corpora_dir / ".staging-docs-4242"
    other.mkdir()
    mine.mkdir()
    ingest.ingest(small_jsonl, "docs", ["bm25"], home)
    assert other.exists() and not mine.exists()


def test_missing_collection_is_a_clear_error(home, small_jsonl, fake_encoder):
    c = ingest.ingest(small_jsonl, "lost", ["fake-encoder"], home)
    index.chroma_client(home).delete_collection(c.indexes()["fake-encoder"]["collection"])
    with pytest.raises(NotFoundError, match="ingest --corpus lost --models fake-encoder"):
        c.collection("fake-encoder")


@pytest.mark.parametrize("bad", ["my model", "rrf(x)", "a,b", "w:1"])
def test_model_names_that_recipes_cannot_hold_are_refused(home, small_jsonl, bad):
    with pytest.raises(RankLensError, match="recipes"):
        ingest.ingest(small_jsonl, "names", [bad], home)
