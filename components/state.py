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
# Search page
SEARCH_QID = "rl_search_qid"  # the query id when the query came from a query set
SEARCH_CUSTOM = "rl_search_custom"  # a recipe typed by the user
SEARCH_RESULT = "rl_search_result"  # the last comparison, with the inputs it answers
SEARCH_ORDER = "rl_search_order"  # a query set ordered by disagreement
SEARCH_POS = "rl_search_pos"  # the position in that order
SEARCH_PAIR = "rl_search_pair"  # the two rankers whose disagreement orders queries
SEARCH_MEASURE = "rl_search_measure"  # rbo or tau_ap
SEARCH_SCORE_RANKER = "rl_search_score_ranker"
SEARCH_THRESHOLD = "rl_search_threshold"
SEARCH_HNSW_MODEL = "rl_search_hnsw_model"
SEARCH_HNSW_EF = "rl_search_hnsw_ef"
SEARCH_HNSW_REPORT = "rl_search_hnsw_report"
SEARCH_DOC_LEVEL = "rl_search_doc_level"  # one hit per document (its best passage)
