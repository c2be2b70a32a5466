"""Relevance judging: scales, label events and current labels, pools and judging sessions,
suggestions, agreement and adjudication, final qrels, qrels import and export.

Modules: scale (grades), records (the values passed around), rules (pure: pools, combining
grades, final qrels), schema (every table, engine, transactions), labels (label events and
current labels), pools, suggestions, adjudication (agreement, adjudication, final qrels), qrels_io
(import, export), store (JudgmentStore: those small stores composed over one Database), session
(JudgingSession), pooling (pools and suggestions made by rankers; imported on its own, as it
loads the index and models: `from ranklens.judging import pooling`).
"""

from ranklens.judging.records import (
    DEFAULT_IMPORT_ANNOTATOR,
    DEFAULT_POOL_DEPTH,
    DOC_LEVEL,
    EVENT_KINDS,
    EXPORT_FORMATS,
    LABEL_KINDS,
    MAX_POOL_DEPTH,
    RULES,
    SOURCES,
    UNDOABLE,
    CurrentLabel,
    ImportReport,
    JudgingProgress,
    JudgingSettings,
    LabelEvent,
    PoolInfo,
    PoolItem,
    SessionProgress,
)
from ranklens.judging.rules import (
    build_pool,
    check_name,
    check_rule,
    combine_grades,
    final_qrels_from,
    grades_from_scores,
    pool_order,
    pool_provenance,
    resolve_doc_id,
    round_half_up,
)
from ranklens.judging.session import JudgingSession
from ranklens.judging.store import JudgmentStore
from ranklens.scale import BINARY_GRADES, DEFAULT_GRADES, Grade, Scale
from ranklens.schema import BUSY_TIMEOUT_MS, SCHEMA_VERSION, Database, make_engine, metadata
from ranklens.types import LEVELS

__all__ = [
    "BINARY_GRADES",
    "BUSY_TIMEOUT_MS",
    "DEFAULT_GRADES",
    "DEFAULT_IMPORT_ANNOTATOR",
    "DEFAULT_POOL_DEPTH",
    "DOC_LEVEL",
    "EXPORT_FORMATS",
    "EVENT_KINDS",
    "LABEL_KINDS",
    "LEVELS",
    "MAX_POOL_DEPTH",
    "RULES",
    "SCHEMA_VERSION",
    "SOURCES",
    "UNDOABLE",
    "CurrentLabel",
    "Database",
    "Grade",
    "ImportReport",
    "JudgingProgress",
    "JudgingSession",
    "JudgingSettings",
    "JudgmentStore",
    "LabelEvent",
    "PoolInfo",
    "PoolItem",
    "Scale",
    "SessionProgress",
    "build_pool",
    "check_name",
    "check_rule",
    "combine_grades",
    "final_qrels_from",
    "grades_from_scores",
    "make_engine",
    "metadata",
    "pool_order",
    "pool_provenance",
    "resolve_doc_id",
    "round_half_up",
]
