"""A real Chroma server for tests: `chroma run --path DIR --port N` on 127.0.0.1, waited for
until its heartbeat answers, stopped in teardown."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .conftest import free_port


class ChromaServer:
    """`chroma run` on a free port of 127.0.0.1 over a folder; start() waits for its heartbeat,
    stop() ends it. Started again, it serves the same folder on the same port."""

    def __init__(self, path: Path) -> None:
        self.path, self.port, self.proc = path, free_port(), None
        exe = Path(sys.executable).parent / "chroma"
        self.exe = str(exe if exe.exists() else shutil.which("chroma") or "chroma")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "run", "--path", str(self.path), "--port", str(self.port),
             "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=2)
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("chroma server did not start") from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
