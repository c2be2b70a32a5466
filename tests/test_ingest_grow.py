"""Corpora that grow: only new passages embedded, BM25 rebuilt, conflicts refused, replace,
all-or-nothing passages and resumable indexes (a SIGKILL leaves no duplicate, no missing passage)."""

from __future__ import annotations

import json

import pytest

from ranklens import models
from ranklens.corpus import index, ingest
from ranklens.errors import InputError
from ranklens.ranking.recipes import make_ranker
from ranklens.types import Query

from .conftest import FAST_MODEL as MODEL
from .conftest import FakeEncoder, kill_ingest_when_counted, write_jsonl

NEW = [
    {"_id": "kite", "title": "Kite", "text": "A kite flies on the wind, held by a long string."},
    {"_id": "owl", "title": "Owl", "text": "Owls hunt at night and turn their heads far round."},
]


def files(c):
    return {
        p.relative_to(c.dir).as_posix(): p.read_bytes() for p in c.dir.rglob("*") if p.is_file()
    }


def stored_ids(c, model):
    ids = c.collection(model).get(include=[])["ids"]
    assert len(ids) == len(set(ids)), "duplicate vectors"
    return set(ids)


@pytest.fixture
def grown(home, small_jsonl, fake_encoder):
    other = FakeEncoder("fake-other", dim=16)
    models.register_encoder(other)
    c = ingest.ingest(small_jsonl, "g", ["bm25", "fake-encoder", "fake-other"], home)
    return c, other


def test_append_embeds_only_new_passages_for_every_model_and_rebuilds_bm25(
    home, tmp_path, grown, fake_encoder
):
    c, other = grown
    before = (fake_encoder.documents_encoded, other.documents_encoded)
    added = ingest.add_documents(write_jsonl(tmp_path / "new.jsonl", NEW), "g", home)
    assert (added.added, added.replaced, added.unchanged, added.passages) == (
        ["kite", "owl"],
        [],
        0,
        2,
    )
    assert fake_encoder.documents_encoded - before[0] == 2
    assert other.documents_encoded - before[1] == 2
    assert (c.documents, c.passages, c.status) == (7, 8, "ready")
    for m in ("fake-encoder", "fake-other"):
        assert stored_ids(c, m) == set(c.passage_ids())
    hits = make_ranker("bm25", c).rank([Query("1", "kite string wind")], 3)["1"]
    assert hits[0].passage_id == "kite#0"
    assert [p.passage_id for p in c.passages_at([7])] == ["owl#0"]  # BM25's numbering holds
    # the same file again: nothing new, nothing embedded
    again = ingest.add_documents(tmp_path / "new.jsonl", "g", home)
    assert again.unchanged == 2 and again.passages == 0
    assert fake_encoder.documents_encoded - before[0] == 2


def test_existing_id_with_other_text_refused_naming_file_and_line(home, tmp_path, grown):
    c, _ = grown
    before = files(c)
    path = write_jsonl(tmp_path / "clash.jsonl", [NEW[0], {"_id": "tea", "text": "Coffee beans."}])
    with pytest.raises(InputError, match=r"clash.jsonl, line 2: document id 'tea' is already"):
        ingest.add_documents(path, "g", home)
    assert files(c) == before and c.status == "ready"


def test_replace_re_embeds_only_that_document(home, tmp_path, grown, fake_encoder):
    c, _ = grown
    assert len(c.passages_of_doc("py")) == 2
    n = fake_encoder.documents_encoded
    path = write_jsonl(
        tmp_path / "fix.jsonl", [{"_id": "py", "title": "Py", "text": "Snakes shed skin."}]
    )
    added = ingest.add_documents(path, "g", home, replace=True)
    assert added.replaced == ["py"] and added.passages == 1
    assert fake_encoder.documents_encoded - n == 1
    assert [p.text for p in c.passages_of_doc("py")] == ["Snakes shed skin."]
    assert c.passages == 5 and stored_ids(c, "fake-encoder") == set(c.passage_ids())
    got = make_ranker("fake-encoder", c).rank([Query("1", "snakes shed skin")], 1)["1"]
    assert got[0].passage_id == "py#0" and got[0].score > 0.8  # "Py" (the title) + the text


def test_killed_after_the_journal_the_next_run_finishes(home, tmp_path, grown, monkeypatch):
    c, _ = grown
    real = ingest.recover
    calls = []

    def killed(store):
        calls.append(1)
        if len(calls) == 2:  # the call that swaps the new passage store in
            raise SystemExit("killed")
        real(store)

    monkeypatch.setattr(ingest, "recover", killed)
    path = write_jsonl(tmp_path / "new.jsonl", NEW)
    with pytest.raises(SystemExit):
        ingest.add_documents(path, "g", home)
    monkeypatch.setattr(ingest, "recover", real)
    assert c.passages == 6 and "pending" in c.manifest  # journaled, not yet swapped
    ingest.ingest(None, "g", ["bm25", "fake-encoder", "fake-other"], home)  # any run recovers
    assert c.passages == 8 and c.status == "ready" and "pending" not in c.manifest
    assert stored_ids(c, "fake-other") == set(c.passage_ids())


def test_append_killed_with_sigkill_resumes_exactly(home, tmp_path, monkeypatch):
    first = [{"_id": f"a{i}", "text": f"first batch document {i}"} for i in range(20)]
    models.register_encoder(FakeEncoder("fake-killed"))
    c = ingest.ingest(
        write_jsonl(tmp_path / "a.jsonl", first), "grow", ["bm25", "fake-killed"], home
    )
    more = [
        {"_id": f"b{i}", "text": f"second batch item code{i} on topic {i % 5}"} for i in range(300)
    ]
    path = write_jsonl(tmp_path / "b.jsonl", more)
    monkeypatch.setenv("RANKLENS_BATCH_SIZE", "4")
    call = f"ingest.add_documents({str(path)!r}, 'grow', get_settings(), progress=report)"
    done = kill_ingest_when_counted(call, 40)
    assert 40 <= done < 300
    assert c.passages == 320 and c.status == "indexing"  # the passages changed all at once
    enc = FakeEncoder("fake-killed")
    models.register_encoder(enc)
    again = ingest.add_documents(path, "grow", index.get_settings())  # the same call resumes
    assert again.unchanged == 300 and c.status == "ready"
    assert enc.documents_encoded <= 300 - done  # what was stored before the kill is not redone
    assert stored_ids(c, "fake-killed") == set(c.passage_ids()) and c.passages == 320
    hits = make_ranker("bm25", c).rank([Query("1", "second batch item code7")], 1)["1"]
    assert hits[0].doc_id == "b7"


def test_cli_append_and_replace(home, tmp_path, small_jsonl, capsys):
    from ranklens.cli import main

    ingest.ingest(small_jsonl, "cg", ["bm25"], home)
    path = write_jsonl(tmp_path / "new.jsonl", NEW)
    assert main(["ingest", str(path), "--corpus", "cg", "--append", "--quiet", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["added"], out["documents"], out["status"]) == (2, 7, "ready")
    clash = write_jsonl(tmp_path / "clash.jsonl", [{"_id": "owl", "text": "Owls are birds."}])
    assert main(["ingest", str(clash), "--corpus", "cg", "--append", "--quiet"]) == 2
    assert "clash.jsonl, line 1" in capsys.readouterr().err
    assert main(["ingest", str(clash), "--corpus", "cg", "--append", "--replace", "--quiet"]) == 0
    assert "replaced 1" in capsys.readouterr().out
    assert main(["ingest", str(path), "--corpus", "cg", "--quiet"]) == 2
    assert "--append" in capsys.readouterr().err


def test_append_and_embeddings_jobs_run_in_a_worker(home, tmp_path, small_jsonl):
    """The jobs the Corpus page starts: adding documents, importing vectors (a real model, since
    the worker is its own process: the one that loads fastest)."""
    import numpy as np

    from ranklens import jobs

    c = ingest.ingest(small_jsonl, "jobbed", ["bm25"], home)
    path = write_jsonl(tmp_path / "new.jsonl", NEW)
    done = jobs.wait(jobs.append_job("jobbed", path, settings=home).id, home, timeout=120)
    assert done.state == jobs.DONE and done.result["added"] == 2 and c.documents == 7
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((c.passages, 384)).astype(np.float32)
    np.save(tmp_path / "v.npy", vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
    (tmp_path / "v.ids.txt").write_text("\n".join(c.passage_ids()))
    job = jobs.embeddings_job("jobbed", MODEL, tmp_path / "v.npy", settings=home)
    done = jobs.wait(job.id, home, timeout=300)
    assert done.state == jobs.DONE, done.error
    assert c.models() == ["bm25", MODEL]
    bad = jobs.append_job(
        "jobbed", write_jsonl(tmp_path / "x.jsonl", [{"_id": "owl", "text": "x"}]), settings=home
    )
    failed = jobs.wait(bad.id, home, timeout=120)
    assert failed.state == jobs.FAILED and "x.jsonl, line 1" in failed.error
