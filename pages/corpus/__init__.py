"""The Corpus page's tabs that live in their own module (pages/1_corpus.py lays them out)."""
