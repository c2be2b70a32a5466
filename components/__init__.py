"""Streamlit pieces shared by the pages: cached resources, session-state keys, widgets.

The only place besides pages/ and app.py that imports streamlit.
"""
