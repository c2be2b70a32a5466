"""RankLens core: corpora, models, rankers, judgments and evaluation, with no UI.

Everything here runs headless; the Streamlit app and the CLI are thin faces over it.
"""

__version__ = "0.1.0"
