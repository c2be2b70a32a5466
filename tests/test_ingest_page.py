"""The Corpus page's Add documents and Import vectors tabs (AppTest): both start a job through
the core (ranklens.jobs.append_job / embeddings_job) and show its outcome or the core's error."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from ranklens import jobs
from ranklens.corpus import ingest

from .conftest import FAST_MODEL, ROOT, write_jsonl

PAGE = str(ROOT / "pages" / "corpus" / "page.py")


def _submit(at: AppTest, button: str, fields: dict[str, str]) -> AppTest:
    for t in [*at.text_input, *at.selectbox]:
        if t.key in fields:
            t.set_value(fields[t.key])
    next(b for b in at.button if b.label == button).click().run()
    assert not at.exception, at.exception
    for job in jobs.list_jobs(active_only=True):
        jobs.wait(job.id, timeout=300)
    return at.run()


def test_add_documents_tab_adds_and_refuses_a_changed_document(home, small_jsonl, tmp_path):
    c = ingest.ingest(small_jsonl, "grown", ["bm25"], home)
    new = write_jsonl(tmp_path / "new.jsonl", [{"_id": "kite", "text": "kites fly"}])
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    _submit(at, "Add documents", {"rl_add_docs_path": str(new)})
    assert c.documents == 6 and c.status == "ready"
    clash = write_jsonl(tmp_path / "clash.jsonl", [{"_id": "tea", "text": "Coffee."}])
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at = _submit(at, "Add documents", {"rl_add_docs_path": str(clash)})
    shown = " ".join(e.value for e in at.error) + " ".join(str(m.value) for m in at.markdown)
    assert "clash.jsonl" in shown and "already in corpus" in shown
    assert c.documents == 6


def test_import_vectors_tab_checks_then_imports(home, small_jsonl, tmp_path):
    c = ingest.ingest(small_jsonl, "vecs", ["bm25"], home)
    rng = np.random.default_rng(0)
    v = rng.standard_normal((c.passages, 384)).astype(np.float32)
    np.save(tmp_path / "v.npy", v / np.linalg.norm(v, axis=1, keepdims=True))
    (tmp_path / "v.ids.txt").write_text("\n".join(c.passage_ids()[1:]))  # one id short
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    fields = {"rl_vectors_path": str(tmp_path / "v.npy"), "rl_vectors_model": FAST_MODEL}
    at = _submit(at, "Import vectors", fields)
    assert FAST_MODEL not in c.indexes()
    (tmp_path / "v.ids.txt").write_text("\n".join(c.passage_ids()))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    _submit(at, "Import vectors", fields)
    assert c.models() == ["bm25", FAST_MODEL]
