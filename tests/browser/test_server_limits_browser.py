"""Streamlit's own limits follow RankLens's settings (a real `streamlit run` with the flags
scripts/start.sh passes, ranklens.serve_options): an unauthenticated upload over
RANKLENS_MAX_UPLOAD_MB is refused with 413, and in team mode a WebSocket whose Host header is not a
configured name (DNS rebinding) is refused, by Streamlit and by the app's own gate."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.request

import pytest

from ranklens import serve_options

pytestmark = pytest.mark.browser


def _open_session(ws_url: str, host: str | None = None):
    """A websocket with a live session (what a visitor gets before signing in): (ws, id)."""
    import websocket
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ws = websocket.create_connection(
        ws_url, subprotocols=["streamlit"], timeout=30, **({"host": host} if host else {})
    )
    back = BackMsg()
    back.rerun_script.query_string = ""
    ws.send_binary(back.SerializeToString())
    while True:
        msg = ForwardMsg.FromString(ws.recv())
        if msg.WhichOneof("type") == "new_session":
            return ws, msg.new_session.initialize.session_id


def _put(url: str, body: bytes) -> int:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = url.split("/_stcore/")[0]
    opener.open(base + "/_stcore/health").read()  # the XSRF cookie, as the probe got it
    xsrf = next(c.value for c in jar if c.name == "_streamlit_xsrf")
    boundary = "rlboundary"
    data = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        url,
        data=data,
        method="PUT",
        headers={
            "X-Xsrftoken": xsrf,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with opener.open(req, timeout=60) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_upload_limit_and_host_names_follow_the_settings(home, start_app):
    env = {
        "RANKLENS_DEMO": "0",
        "RANKLENS_TEAM": "1",
        "RANKLENS_MAX_UPLOAD_MB": "1",
        "RANKLENS_ALLOWED_HOSTS": "127.0.0.1, ranklens.test",
    }
    flags = serve_options.streamlit_flags(env)
    assert flags[:2] == ["--server.maxUploadSize", "1"]
    assert flags[-2:] == ["--client.showErrorDetails", "type"]  # no traceback (paths) in pages
    app = start_app(env, flags)
    ws_url = app.url.replace("http://", "ws://") + "/_stcore/stream"
    port = app.url.rsplit(":", 1)[1]

    ws, session = _open_session(ws_url)
    try:
        upload = f"{app.url}/_stcore/upload_file/{session}/f1"
        assert _put(upload, b"x" * 1000) in (200, 204)  # a small file is taken
        assert _put(upload, b"x" * (3 * 1024 * 1024)) == 413  # 3 MB > 1 MB: refused
    finally:
        ws.close()

    # a configured name works; a rebinding name is refused by Streamlit before any session
    ws, _ = _open_session(ws_url, host=f"ranklens.test:{port}")
    ws.close()
    import websocket

    with pytest.raises(websocket.WebSocketException):
        _open_session(ws_url, host=f"rebind.attacker.example:{port}")


def test_the_gate_refuses_other_host_names_on_its_own(home, start_app):
    """Started without start.sh's flags: the app itself shows no sign-in to a rebinding name."""
    from .stream_client import run_as

    app = start_app({"RANKLENS_DEMO": "0", "RANKLENS_TEAM": "1"})
    ws_url = app.url.replace("http://", "ws://") + "/_stcore/stream"
    port = app.url.rsplit(":", 1)[1]
    good = run_as(ws_url, None)
    assert "Sign in" in good.all_text
    bad = run_as(ws_url, None, host=f"rebind.attacker.example:{port}")
    assert "Unknown host name" in bad.all_text and "Key" not in bad.all_text
