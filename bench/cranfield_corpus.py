"""The Cranfield collection (../shared/datasets/cranfield) as a corpus for the benches that judge
against its labels: ingested once per RANKLENS_HOME (whole documents, one passage each), then opened.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ranklens.config import get_settings  # noqa: E402
from ranklens.corpus.index import Corpus, open_corpus  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "cranfield"
NAME = "cranfield"


def ensure_corpus(home: Path, models: Sequence[str]) -> Corpus:
    """The corpus `cranfield` under `home` (made the RANKLENS_HOME), ingested with `models` when
    it is not there yet."""
    os.environ["RANKLENS_HOME"] = str(home)
    settings = get_settings()
    try:
        return open_corpus(NAME, settings)
    except Exception:  # noqa: BLE001 - not there yet: build it once
        from ranklens.cli import main

        main(["ingest", str(DATA), "--corpus", NAME, "--max-words", "2000", "--overlap", "0",
              "--quiet", "--models", *models])  # fmt: skip
        return open_corpus(NAME, settings)
