"""The Corpus page: page.py (the corpora table and the tabs), one `<what>_tab.py` per tab, and
what the tabs share to act on corpora (corpus_actions)."""
