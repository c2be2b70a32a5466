"""Corpus page: add a corpus (upload, path, BEIR name), add models, list and delete corpora.

All work is done by ranklens.index; this page only gathers choices and shows progress.
"""

import streamlit as st

from components import corpus_view, resources, routing

routing.require_app("pages/1_corpus.py")

st.title("Corpora")
st.caption(f"All state lives under `{resources.settings().home}`.")

corpus_view.corpora_table()
tab_new, tab_models, tab_delete = st.tabs(["Add a corpus", "Add models", "Delete"])
with tab_new:
    corpus_view.new_corpus_form()
with tab_models:
    corpus_view.add_models_form()
with tab_delete:
    corpus_view.delete_form()
