"""Downloads of labels (team mode: admins only): the file is made only when an admin clicks,
never sent ahead in the page, and made only if that browser is still an admin's then.

Streamlit runs a download's callable outside the script, where no cookie can be read: the
callable re-checks the sign-in this browser had when the button was drawn (auth.admin_recheck).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components import auth


def button(
    label: str,
    make: Callable[[], bytes | str],
    *,
    file_name: str,
    mime: str,
    key: str,
    what: str = "download labels",
    disabled: bool = False,
) -> None:
    """A download button whose file `make()` builds on click; in team mode shown to admins only
    (others read "Only an admin can WHAT.")."""
    if not auth.admin_only(what):
        return
    still_admin = auth.admin_recheck()

    def data() -> bytes | str:
        if not still_admin():
            raise PermissionError("only a signed-in admin can download labels")
        return make()

    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
        disabled=disabled,
    )
