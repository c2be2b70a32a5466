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
# Evaluate page
EVAL_RANKERS = "rl_eval_rankers"
EVAL_MEASURES = "rl_eval_measures"
EVAL_K = "rl_eval_k"
EVAL_LEVEL = "rl_eval_level"
EVAL_LABELS = "rl_eval_labels"  # where labels come from: store, shipped, upload
EVAL_RULE = "rl_eval_rule"  # how annotators' labels become qrels
EVAL_UPLOAD = "rl_eval_upload"
EVAL_CONDENSED = "rl_eval_condensed"
EVAL_TABLE_MEASURE = "rl_eval_table_measure"
EVAL_EXPLAIN_QUERY = "rl_eval_explain_query"
EVAL_EXPLAIN_RANKER = "rl_eval_explain_ranker"
EVAL_DIFF_A = "rl_eval_diff_a"
EVAL_DIFF_B = "rl_eval_diff_b"
EVAL_DIFF_MEASURE = "rl_eval_diff_measure"
EVAL_CURVE_BASE = "rl_eval_curve_base"
EVAL_TEST = "rl_eval_test"
EVAL_ALPHA = "rl_eval_alpha"
EVAL_RANK_MEASURE = "rl_eval_rank_measure"
EVAL_DP_MEASURE = "rl_eval_dp_measure"
EVAL_DP_UNIT = "rl_eval_dp_unit"
EVAL_DP_FRACTION = "rl_eval_dp_fraction"
EVAL_DP_REPEATS = "rl_eval_dp_repeats"
EVAL_SIG_MEASURE = "rl_eval_sig_measure"
EVAL_TAB = "rl_eval_tab"  # the open tab of the dashboard (only it is computed)
# Search page
SEARCH_QID = "rl_search_qid"  # the query id when the query came from a query set
SEARCH_CUSTOM = "rl_search_custom"  # a recipe typed by the user
SEARCH_RESULT = "rl_search_result"  # the last comparison, with the inputs it answers
SEARCH_ORDER = "rl_search_order"  # a query set ordered by disagreement
SEARCH_UP_CLEAN = "rl_search_up_clean"  # start a new query set clean (fresh ids)
SEARCH_ORDER_TABLE = "rl_search_order_table"  # its table (a row opens the query)
SEARCH_POS = "rl_search_pos"  # the position in that order
SEARCH_PAIR = "rl_search_pair"  # the two rankers whose disagreement orders queries
SEARCH_MEASURE = "rl_search_measure"  # rbo or tau_ap
SEARCH_SCORE_RANKER = "rl_search_score_ranker"
SEARCH_THRESHOLD = "rl_search_threshold"
SEARCH_HNSW_MODEL = "rl_search_hnsw_model"
SEARCH_HNSW_EF = "rl_search_hnsw_ef"
SEARCH_HNSW_REPORT = "rl_search_hnsw_report"
SEARCH_DOC_LEVEL = "rl_search_doc_level"  # one hit per document (its best passage)
# Judge page (ANNOTATOR above holds who is judging, kept across pages)
JUDGE_NAME = "rl_judge_name"  # the name input (copied into ANNOTATOR when it changes)
JUDGE_TAB = "rl_judge_tab"  # Set up / Judge / Agreement / Final labels
JUDGE_TAB_NEXT = "rl_judge_tab_next"  # a tab to open on the next run (after building a pool)
JUDGE_RANKERS = "rl_judge_rankers"
JUDGE_DEPTH = "rl_judge_depth"
JUDGE_POOL = "rl_judge_pool"  # the pool id being judged
JUDGE_CURSOR = "rl_judge_cursor"  # (context, unit) of the passage shown; None: the queue's head
JUDGE_FLASH = "rl_judge_flash"  # (kind, message) shown once: "Saved ...", "Undid ..."
JUDGE_NOTE_OPEN = "rl_judge_note_open"  # the unit whose note box is open, or None
JUDGE_NOTE_TEXT = "rl_judge_note_text"
JUDGE_SHOW_SUGGESTIONS = "rl_judge_show_suggestions"
JUDGE_SCALE_GRADES = "rl_judge_scale_grades"
JUDGE_SUGGEST_MODEL = "rl_judge_suggest_model"
JUDGE_SUGGEST_THRESHOLDS = "rl_judge_suggest_thresholds"
JUDGE_SCOPE = "rl_judge_scope"  # agreement / export over the query set or the whole corpus
JUDGE_ADJUDICATE = "rl_judge_adjudicate"  # the disagreement picked for adjudication
JUDGE_SHOW_ADJUDICATED = "rl_judge_show_adjudicated"
JUDGE_RULE = "rl_judge_rule"
JUDGE_LEVEL = "rl_judge_level"
JUDGE_IMPORT_FILE = "rl_judge_import_file"
JUDGE_IMPORT_FORMAT = "rl_judge_import_format"
JUDGE_IMPORT_ANNOTATOR = "rl_judge_import_annotator"
JUDGE_IMPORT_KEEP = "rl_judge_import_keep"
JUDGE_GUIDELINES = "rl_judge_guidelines"  # + ":corpus:query set"
JUDGE_PER_PASSAGE = "rl_judge_per_passage"  # + ":corpus:query set"
JUDGE_ADJ_GRADE = "rl_judge_adj_grade"
JUDGE_ADJ_NOTE = "rl_judge_adj_note"
# Judge page buttons (their keys are also CSS classes: st-key-<key>)
JUDGE_PREV = "rl_judge_prev"  # k
JUDGE_NEXT = "rl_judge_next"  # j
JUDGE_LEFT = "rl_judge_left"  # ArrowLeft (hidden twin of JUDGE_PREV)
JUDGE_RIGHT = "rl_judge_right"  # ArrowRight (hidden twin of JUDGE_NEXT)
JUDGE_SKIP = "rl_judge_skip"  # s
JUDGE_UNDO = "rl_judge_undo"  # u
JUDGE_NOTE = "rl_judge_note"  # n
JUDGE_NOTE_SAVE = "rl_judge_note_save"  # Ctrl+Enter
JUDGE_NOTE_CANCEL = "rl_judge_note_cancel"  # Esc
JUDGE_GRADES = "rl_judge_grades"  # prefix of the grade buttons' keys (one set per passage)
# judges against people, LLM judge, time and reasons per label, queue order (issue 12)
JUDGE_LLM_PROMPT = "rl_judge_llm_prompt"  # + ":corpus:hash of the version being edited"
JUDGE_LLM_DRY = "rl_judge_llm_dry"  # the LLM dry-run button
JUDGE_LLM_BATCH = "rl_judge_llm_batch"  # the LLM batch button
JUDGE_JUDGES_WEIGHTS = "rl_judge_judges_weights"
JUDGE_JUDGES_LEVEL = "rl_judge_judges_level"
JUDGE_JUDGES_RANKERS = "rl_judge_judges_rankers"
JUDGE_ORDER = "rl_judge_order"  # shuffled | pool-rank | cross-encoder
JUDGE_SHOWN = "rl_judge_shown"  # (context, unit, time.time()) of the passage on screen
JUDGE_REASON = "rl_judge_reason"  # the reason box (Tab after a grade, Enter saves)
JUDGE_REASON_FOR = "rl_judge_reason_for"  # (context, unit) of the label the reason goes with
JUDGE_LABELS_JSONL = "rl_judge_labels_jsonl"  # the labels download (JSONL)
JUDGE_ACCEPT = "rl_judge_accept"  # prefix of the "Accept suggestion" buttons' keys
# Learn page
LEARN_TAB = "rl_learn_tab"  # Lessons / Explain a number / Embedding map / What if
LEARN_SET = "rl_learn_set"  # the labelled query set the lessons and what-if use
LEARN_LESSON = "rl_learn_lesson"
LEARN_QUERY = "rl_learn_query"  # the query explained and mapped
LEARN_RANKER = "rl_learn_ranker"
LEARN_RERANK = "rl_learn_rerank"  # run the cross-encoder explanation
LEARN_MAP_MODELS = "rl_learn_map_models"
LEARN_MAP_K = "rl_learn_map_k"
LEARN_WHATIF_QUERY = "rl_learn_whatif_query"
LEARN_WHATIF_DOC = "rl_learn_whatif_doc"
LEARN_WHATIF_K = "rl_learn_whatif_k"
LEARN_WHATIF_GRADE = "rl_learn_whatif_grade"  # + ":query:doc"
INTENDED_PAGE = "rl_intended_page"  # a deep link to follow once app.py has routed
# Evaluate page: fusion tuning, snapshots, the arena beside a measure (issue 13)
EVAL_TUNE_INPUTS = "rl_eval_tune_inputs"
EVAL_TUNE_MEASURE = "rl_eval_tune_measure"
EVAL_TUNE_FOLDS = "rl_eval_tune_folds"
EVAL_TUNE_SEED = "rl_eval_tune_seed"
EVAL_TUNE_GO = "rl_eval_tune_go"  # the Tune button
EVAL_TUNE_RUN = "rl_eval_tune_run"  # the parameters of the last tuning asked for
EVAL_TUNE_ADD = "rl_eval_tune_add"  # "Add to Search"
EVAL_SNAP_FORM = "rl_eval_snap_form"
EVAL_SNAP_NAME = "rl_eval_snap_name"
EVAL_SNAP_FLASH = "rl_eval_snap_flash"  # (kind, message) after saving
EVAL_SNAP_REPLACE = "rl_eval_snap_replace"  # replace a snapshot of the same name
EVAL_SNAP_PICK = "rl_eval_snap_pick"  # the snapshots compared
EVAL_SNAP_RANKER = "rl_eval_snap_ranker"
EVAL_SNAP_MEASURE = "rl_eval_snap_measure"
EVAL_SNAP_DOWNLOAD = "rl_eval_snap_download"
EVAL_ARENA_MEASURE = "rl_eval_arena_measure"
# Judge page, tab Preferences: passages side by side and the blind ranker arena (issue 13)
JUDGE_PREF_MODE = "rl_judge_pref_mode"
JUDGE_PREF_UNDO = "rl_judge_pref_undo"
JUDGE_ARENA_RANKERS = "rl_judge_arena_rankers"
JUDGE_ARENA_ROUND = "rl_judge_arena_round"  # the round on screen (kept until answered)
# Requests one page leaves for another (components/routing.py send / take)
INTENTS = "rl_intents"
INTENT_ADD_RANKER = "add_ranker"  # a recipe to add to the Search page's rankers
