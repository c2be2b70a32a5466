#!/usr/bin/env bash
# Set everything up, then start RankLens on http://127.0.0.1:8501 (the demo is indexed on first start).
# Streamlit's upload limit follows RANKLENS_MAX_UPLOAD_MB, its host check RANKLENS_ALLOWED_HOSTS.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mapfile -t FLAGS < <(.venv/bin/python -m ranklens.serve_options "$@")
exec .venv/bin/python -m streamlit run app.py "${FLAGS[@]}" "$@"
