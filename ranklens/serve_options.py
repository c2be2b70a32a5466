"""The Streamlit server options RankLens's settings decide, which scripts/start.sh passes: the
upload limit, the host names, and in team mode no exception details in pages.

`python -m ranklens.serve_options [start.sh's arguments]` prints them, one a line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from ranklens.access import allowed_hosts
from ranklens.config import get_settings
from ranklens.judging.annotators import team_mode


def _address(argv: Sequence[str]) -> str:
    """The --server.address among start.sh's own arguments (127.0.0.1 when none)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--server.address="):
            return arg.split("=", 1)[1]
        if arg == "--server.address" and i + 1 < len(argv):
            return argv[i + 1]
    return "127.0.0.1"


def streamlit_flags(env: Mapping[str, str] | None = None, argv: Sequence[str] = ()) -> list[str]:
    """Command-line flags for `streamlit run`: --server.maxUploadSize (MB, as the setting), and
    --server.allowedHosts for each configured host name (Streamlit then refuses a WebSocket
    whose Host header names another, which stops DNS rebinding). In team mode an unexpected
    exception shows only its type in the page (its message and traceback, with server paths,
    go to the server's log)."""
    env = dict(os.environ if env is None else env)
    settings = get_settings(env)
    flags = ["--server.maxUploadSize", str(settings.max_upload_mb)]
    for host in allowed_hosts(env):
        flags += ["--server.allowedHosts", host]
    if team_mode(_address(argv), env):
        flags += ["--client.showErrorDetails", "type"]
    return flags


if __name__ == "__main__":  # pragma: no cover - exercised by scripts/start.sh
    sys.stdout.write("".join(f"{flag}\n" for flag in streamlit_flags(argv=sys.argv[1:])))
