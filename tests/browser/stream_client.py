"""A bare Streamlit websocket client for tests: connects to /_stcore/stream the way the page does
(subprotocols "streamlit", an XSRF token, and optionally a session id to reconnect to), asks
for a run, and collects the text of what the server sends back.

It sends no cookie unless told to: it plays a second client that learnt a session id.
"""

from __future__ import annotations

import time

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


class Reply:
    def __init__(self) -> None:
        self.session_id: str | None = None
        self.text: list[str] = []
        self.finished = False

    @property
    def all_text(self) -> str:
        return "\n".join(self.text)


def session_id_of(payload: bytes) -> str | None:
    """The session id in a ForwardMsg's new_session (the page's first message), or None."""
    try:
        msg = ForwardMsg.FromString(payload)
    except Exception:  # noqa: BLE001 - not a ForwardMsg
        return None
    if msg.WhichOneof("type") == "new_session":
        return msg.new_session.initialize.session_id or None
    return None


def run_as(
    ws_url: str,
    session_id: str | None,
    *,
    cookie: str | None = None,
    host: str | None = None,
    timeout: float = 30.0,
    widget_states=None,
) -> Reply:
    """Connect (reconnecting to session_id when given), ask for a run, and read until the run
    ends; returns the session id the server gave and the text it sent."""
    import websocket  # websocket-client

    protocols = ["streamlit", "xsrf-none"] + ([session_id] if session_id else [])
    headers = [f"Cookie: {cookie}"] if cookie else []
    extra = {"host": host} if host else {}
    ws = websocket.create_connection(
        ws_url, subprotocols=protocols, header=headers, timeout=timeout, **extra
    )
    reply = Reply()
    try:
        back = BackMsg()
        back.rerun_script.query_string = ""
        back.rerun_script.page_script_hash = ""
        if widget_states is not None:
            back.rerun_script.widget_states.CopyFrom(widget_states)
        ws.send_binary(back.SerializeToString())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            payload = ws.recv()
            if isinstance(payload, str):
                continue
            msg = ForwardMsg.FromString(payload)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                reply.session_id = msg.new_session.initialize.session_id
            elif kind == "delta":
                reply.text.append(str(msg.delta))
            elif kind == "script_finished":
                reply.finished = True
                break
    finally:
        ws.close()
    return reply
