"""Judge page: pooled, blind relevance judging by keyboard, agreement, adjudication, qrels files.

All storage is ranklens.judgments (through components.resources.judgment_store()).
"""

from components import judge_view, routing

routing.require_app("pages/3_judge.py")

judge_view.page()
