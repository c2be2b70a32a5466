"""The Streamlit options scripts/start.sh passes (ranklens.serve_options): the upload limit from
RANKLENS_MAX_UPLOAD_MB, host names from RANKLENS_ALLOWED_HOSTS, and in team mode no exception
details (server paths) in the page. The real server is tested in tests/browser."""

from __future__ import annotations

import subprocess
import sys

from ranklens.serve_options import streamlit_flags

from .conftest import ROOT


def test_flags_follow_the_settings():
    assert streamlit_flags({}) == ["--server.maxUploadSize", "1024"]
    flags = streamlit_flags(
        {"RANKLENS_MAX_UPLOAD_MB": "50", "RANKLENS_ALLOWED_HOSTS": "a.org, *.b.org"}
    )
    assert flags == [
        "--server.maxUploadSize",
        "50",
        "--server.allowedHosts",
        "a.org",
        "--server.allowedHosts",
        "*.b.org",
    ]
    assert streamlit_flags({"RANKLENS_TEAM": "1"})[-2:] == ["--client.showErrorDetails", "type"]
    beyond = streamlit_flags({}, ["--server.port", "1", "--server.address", "0.0.0.0"])
    assert beyond[-2:] == ["--client.showErrorDetails", "type"]  # listening beyond: team mode


def test_start_sh_passes_them():
    out = subprocess.run(
        [sys.executable, "-m", "ranklens.serve_options", "--server.address=0.0.0.0"],
        cwd=ROOT,
        env={"RANKLENS_MAX_UPLOAD_MB": "7", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines()[:2] == ["--server.maxUploadSize", "7"]
    script = (ROOT / "scripts" / "start.sh").read_text()
    assert '< <(.venv/bin/python -m ranklens.serve_options "$@")' in script
    assert 'streamlit run app.py "${FLAGS[@]}" "$@"' in script
