"""Session-state keys, as constants in one place, so pages never spell a key twice.

Every page reads and writes st.session_state only through these names.
"""

CORPUS = "rl_corpus"  # the corpus name chosen on any page (shared across pages)
ANNOTATOR = "rl_annotator"  # who is judging
SEARCH_QUERY = "rl_search_query"
SEARCH_RANKERS = "rl_search_rankers"
SEARCH_K = "rl_search_k"
QUERY_SET = "rl_query_set"
DEMO_BOOTSTRAPPED = "rl_demo_bootstrapped"
