#!/usr/bin/env bash
# Set everything up, then start RankLens on http://127.0.0.1:8501 (the demo is indexed on first start).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m streamlit run app.py "$@"
