"""/corpus as the first address a new server is asked for (Streamlit's legacy pages/ mode runs
this file then): run app.py, which opens the Corpus page. See components/page_files.py."""

from components import page_files

page_files.run_app()
