#!/usr/bin/env bash
# Start the local LLM judge (llama.cpp's server with SmolLM2-135M-Instruct) on 127.0.0.1.
# Usage: scripts/local-judge.sh [PORT]   (default 8089; build it once: scripts/setup.sh --judge)
# A teaching example and a real server for tests: its grades are close to noise.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m ranklens.llm.local_server --port "${1:-8089}" --threads "${RANKLENS_LOCAL_JUDGE_THREADS:-2}"
