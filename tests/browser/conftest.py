"""Browser-test fixtures: a real `streamlit run app.py` on 127.0.0.1 and Debian chromium.

Start an app with `start_app(env)`; get a Playwright page with the `browser_page` fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class App:
    def __init__(self, url: str, proc: subprocess.Popen, log: Path) -> None:
        self.url, self.proc, self.log = url, proc, log


def launch(
    folder: Path, extra_env: dict[str, str] | None = None, flags: list[str] | None = None
) -> App:
    """streamlit on a free port with RANKLENS_HOME = folder/home (and extra command-line
    flags); its log in folder."""
    port = free_port()
    env = {
        **os.environ,
        "RANKLENS_HOME": str(folder / "home"),
        "RANKLENS_DEMO_MODELS": "bm25",
        **(extra_env or {}),
    }
    log = folder / f"streamlit-{port}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            *(flags or []),
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{log.read_text()}") from None
            time.sleep(0.3)
    return App(url, proc, log)


def stop(app: App) -> None:
    app.proc.terminate()
    try:
        app.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        app.proc.kill()


@pytest.fixture
def start_app(tmp_path):
    """start_app(extra_env, flags) -> App: streamlit on a free port with RANKLENS_HOME under
    tmp_path (flags: more `streamlit run` options)."""
    started: list[App] = []

    def start(extra_env: dict[str, str] | None = None, flags: list[str] | None = None) -> App:
        app = launch(tmp_path, extra_env, flags)
        started.append(app)
        return app

    yield start
    for app in started:
        stop(app)


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: scripts/setup.sh --dev installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 2200})
        page.set_default_timeout(60_000)
        yield page
        browser.close()
