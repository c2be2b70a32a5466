"""An upload whose name holds a NUL byte: Streamlit's own file_uploader (with a `type` list)
raises a raw StreamlitAPIException before any page code runs; the pages' uploader
(components.upload_widget) shows a clear error instead, and a type not taken is refused too."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

NUL_NAME = "corpus\x00.exe.jsonl"
DATA = b'{"_id": "a", "text": "x"}\n'


def _streamlits_own() -> None:
    import streamlit as st

    st.file_uploader("Files", type=["jsonl"], accept_multiple_files=True)


def _the_pages() -> None:
    import streamlit as st

    from components import upload_widget

    got = upload_widget.file_uploader("Files", type=["jsonl"], accept_multiple_files=True)
    st.write(f"files: {len(got)}")


def _upload(script, name: str) -> AppTest:
    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    at.get("file_uploader")[0].set_value([(name, DATA, "application/json")])
    at.run()
    return at


def test_a_nul_byte_in_an_upload_name_is_a_clear_error():
    raw = _upload(_streamlits_own, NUL_NAME)  # the attack, against Streamlit's widget alone
    assert raw.exception and "null bytes" in raw.exception[0].message
    at = _upload(_the_pages, NUL_NAME)
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "Files: the uploaded file's name contains a NUL byte, which no file name may hold; "
        "rename the file and upload it again."
    ]
    assert "files: 0" in [m.value for m in at.markdown]


def test_types_are_still_checked_and_good_names_pass():
    at = _upload(_the_pages, "tool.exe")
    assert [e.value for e in at.error] == [
        "Files: this kind of file is not taken here (expected .jsonl)."
    ]
    at = _upload(_the_pages, "Corpus.JSONL")
    assert not at.error and "files: 1" in [m.value for m in at.markdown]
