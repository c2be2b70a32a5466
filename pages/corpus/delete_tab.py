"""The Corpus page's "Delete" tab: delete a corpus (its passages and every index) once its name
is typed; relevance labels stay in the judgment store. Admins only in team mode.
"""

from __future__ import annotations

import streamlit as st

from components import resources, safe
from pages.corpus import corpus_actions
from ranklens.corpus import index
from ranklens.errors import RankLensError


def render() -> None:
    names = corpus_actions.corpora_for("delete a corpus")  # team mode: admins only
    if not names:
        return
    name = st.selectbox("Corpus to delete", names, key="rl_delete_choice")
    st.caption(
        "Deletes the passages and every index. Relevance labels stay in the judgment store "
        "(export them on the Judge page); a new corpus of the same name shows them again."
    )
    confirm = st.text_input(f"Type **{name}** to confirm", key="rl_delete_confirm")
    if st.button("Delete corpus", type="secondary", disabled=confirm != name):
        try:
            index.delete_corpus(name, resources.settings())
        except RankLensError as exc:
            st.error(safe.error(exc))
            return
        st.success(f"Deleted {name}.")
        st.rerun()
