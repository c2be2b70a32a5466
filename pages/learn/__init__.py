"""The Learn page: page.py, one `<what>_tab.py` per tab, the labelled query set they share
(labelled_set) and the language-model lesson inside the Lessons tab (tiny_judge_lesson)."""
