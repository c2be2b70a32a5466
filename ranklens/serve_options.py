"""The Streamlit server options RankLens's settings decide (scripts/start.sh passes them): the
upload limit from RANKLENS_MAX_UPLOAD_MB, and in team mode the host names from
RANKLENS_ALLOWED_HOSTS. `python -m ranklens.serve_options` prints them, one a line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from .access import allowed_hosts
from .config import get_settings


def streamlit_flags(env: Mapping[str, str] | None = None) -> list[str]:
    """Command-line flags for `streamlit run`: --server.maxUploadSize (MB, as the setting), and
    --server.allowedHosts for each configured host name (Streamlit then refuses a WebSocket
    whose Host header names another, which stops DNS rebinding)."""
    env = dict(os.environ if env is None else env)
    settings = get_settings(env)
    flags = ["--server.maxUploadSize", str(settings.max_upload_mb)]
    for host in allowed_hosts(env):
        flags += ["--server.allowedHosts", host]
    return flags


if __name__ == "__main__":  # pragma: no cover - exercised by scripts/start.sh
    sys.stdout.write("".join(f"{flag}\n" for flag in streamlit_flags()))
