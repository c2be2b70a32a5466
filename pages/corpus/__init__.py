"""The Corpus page's tabs that live in their own modules (pages/1_corpus.py lays them out)."""
