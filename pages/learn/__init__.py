"""The Learn page's tabs, one module each (pages/5_learn.py puts them together)."""
