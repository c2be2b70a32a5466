#!/usr/bin/env bash
# The whole test suite: set-up, lint, format check, unit + app + browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
