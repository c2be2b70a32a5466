"""Settings: one frozen object read from RANKLENS_* environment variables and defaults.

Every piece of state RankLens keeps lives under Settings.home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ranklens.errors import RankLensError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = REPO_ROOT / ".ranklens"
DEMO_DIR = REPO_ROOT / "data" / "demo"
DEMO_CORPUS = "python-docs"
BEIR_BASE_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"


class ZipLimits(NamedTuple):
    """Caps on a zip archive read as a corpus (ranklens.corpus.archives enforces them)."""

    max_bytes: int  # total uncompressed size
    max_members: int
    max_ratio: float  # uncompressed / compressed, per member and overall


@dataclass(frozen=True)
class Settings:
    home: Path = DEFAULT_HOME
    chroma_host: str | None = None
    chroma_port: int | None = None
    judgments_url: str | None = None  # SQLAlchemy URL; default SQLite under home
    beir_base_url: str = BEIR_BASE_URL
    batch_size: int = 64
    demo_models: tuple[str, ...] = field(default=("bm25", "all-MiniLM-L6-v2"))
    device: str = "auto"  # auto (a GPU when torch sees one), cpu or cuda
    query_threads: int = 1  # CPU threads for encoding a query, reranking: 1 keeps p95 near p50
    encode_threads: int = 0  # CPU threads for embedding a corpus; 0: every core
    # LLM judge: an OpenAI-compatible endpoint (URL ending in /v1); the key is never in a repr
    llm_url: str | None = None
    llm_model: str | None = None
    llm_key: str | None = field(default=None, repr=False)
    llm_timeout_s: float = 60.0
    llm_concurrency: int = 4
    llm_max_tokens: int | None = None  # None: a reply limit that fits the prompt's answer
    llm_structured: str = "auto"  # auto (JSON schema, text where refused), json or text
    llm_connect_timeout_s: float = 10.0
    llm_first_token_timeout_s: float = 30.0
    llm_pair_attempts: int = 2  # tries per pair (timeouts, lost connections) before it fails
    llm_price: str | None = None  # dollars per million tokens: "IN" or "IN/OUT"
    max_upload_mb: int = 1024  # one uploaded file at most (as .streamlit's server.maxUploadSize)
    # dense search is exact (numpy over the stored vectors, the same in every process) up to this
    # many passages per collection; Chroma's HNSW above (approximate; see ranklens.ranking.ann)
    exact_max: int = 50_000
    # a zip (a BEIR corpus) is extracted under home/tmp within these caps
    zip_max_mb: int = 4096
    zip_max_members: int = 100_000
    zip_max_ratio: int = 200

    @property
    def corpora_dir(self) -> Path:
        return self.home / "corpora"

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def scratch_dir(self) -> Path:
        """Where archives are extracted while they are read (never the system temp folder)."""
        return self.home / "tmp"

    @property
    def zip_limits(self) -> ZipLimits:
        return ZipLimits(self.zip_max_mb * 1024 * 1024, self.zip_max_members, self.zip_max_ratio)

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def db_url(self) -> str:
        return self.judgments_url or f"sqlite:///{self.home / 'judgments.sqlite3'}"

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def document_threads(self) -> int:
        """Threads for embedding a corpus: encode_threads, or every core."""
        return self.encode_threads or max(1, os.cpu_count() or 1)


DEVICES = ("auto", "cpu", "cuda")


def _count(env: dict[str, str], name: str, default: int, least: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < least:
        raise RankLensError(f"{name}={value!r}: expected a whole number >= {least}")
    return int(value)


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise RankLensError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment (or the mapping given), with defaults."""
    env = dict(os.environ if env is None else env)
    device = (env.get("RANKLENS_DEVICE") or "auto").strip().lower()
    if device not in DEVICES:
        raise RankLensError(f"RANKLENS_DEVICE={device!r}: expected one of {', '.join(DEVICES)}")
    port = env.get("RANKLENS_CHROMA_PORT")
    host = env.get("RANKLENS_CHROMA_HOST") or (None if not port else "127.0.0.1")
    models = env.get("RANKLENS_DEMO_MODELS")
    return Settings(
        home=Path(env.get("RANKLENS_HOME") or DEFAULT_HOME).expanduser().resolve(),
        chroma_host=host,
        chroma_port=int(port) if port else (8000 if host else None),
        judgments_url=env.get("RANKLENS_DB_URL") or None,
        beir_base_url=env.get("RANKLENS_BEIR_URL", BEIR_BASE_URL).rstrip("/"),
        batch_size=_count(env, "RANKLENS_BATCH_SIZE", 64, 1),
        demo_models=tuple(models.split()) if models else ("bm25", "all-MiniLM-L6-v2"),
        device=device,
        query_threads=_count(env, "RANKLENS_QUERY_THREADS", 1, 1),
        encode_threads=_count(env, "RANKLENS_ENCODE_THREADS", 0, 0),
        llm_url=(env.get("RANKLENS_LLM_URL") or "").rstrip("/") or None,
        llm_model=env.get("RANKLENS_LLM_MODEL") or None,
        llm_key=env.get("RANKLENS_LLM_KEY") or None,
        llm_timeout_s=float(env.get("RANKLENS_LLM_TIMEOUT", "60")),
        llm_concurrency=int(env.get("RANKLENS_LLM_CONCURRENCY", "4")),
        llm_max_tokens=_count(env, "RANKLENS_LLM_MAX_TOKENS", 0, 1) or None,
        llm_structured=_choice(env, "RANKLENS_LLM_STRUCTURED", ("auto", "json", "text")),
        llm_connect_timeout_s=float(env.get("RANKLENS_LLM_CONNECT_TIMEOUT", "10")),
        llm_first_token_timeout_s=float(env.get("RANKLENS_LLM_FIRST_TOKEN_TIMEOUT", "30")),
        llm_pair_attempts=_count(env, "RANKLENS_LLM_PAIR_ATTEMPTS", 2, 1),
        llm_price=(env.get("RANKLENS_LLM_PRICE") or "").strip() or None,
        max_upload_mb=_count(env, "RANKLENS_MAX_UPLOAD_MB", 1024, 1),
        exact_max=_count(env, "RANKLENS_EXACT_MAX", 50_000, 0),
        zip_max_mb=_count(env, "RANKLENS_ZIP_MAX_MB", 4096, 1),
        zip_max_members=_count(env, "RANKLENS_ZIP_MAX_MEMBERS", 100_000, 1),
        zip_max_ratio=_count(env, "RANKLENS_ZIP_MAX_RATIO", 200, 1),
    )
