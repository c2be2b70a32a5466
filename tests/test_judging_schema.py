"""The judgment database's schema: every table is declared in ranklens.schema, and opening
a database written before a table existed creates that table and keeps every row already stored.

Runs on both engines (the store_url fixture; PostgreSQL skips, saying why, without it).
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

import ranklens
from ranklens.evaluation import preferences_store, snapshots_store
from ranklens.judges import judges
from ranklens.judging import JudgmentStore, annotators
from ranklens.llm.prompt import Prompt
from ranklens.schema import SCHEMA_VERSION, label_events, make_engine, meta_table, metadata

from .judging_data import label_row

# tables that modules of their own declared (and made on first use) before they all moved here
LATER_TABLES = {
    "annotator_keys",
    "browser_sign_ins",
    "label_timings",
    "llm_prompts",
    "preference_events",
    "snapshot_runs",
    "snapshots",
}


def test_every_table_is_declared_in_the_schema_module():
    root = Path(ranklens.__file__).parent
    elsewhere = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "schema.py" and re.search(r"\bsa\.Table\(|create_all\(", p.read_text())
    ]
    assert elsewhere == []
    assert LATER_TABLES <= set(metadata.tables)


def test_an_older_database_gains_the_missing_tables_and_keeps_its_rows(store_url):
    older = [t for name, t in metadata.tables.items() if name not in LATER_TABLES]
    engine = make_engine(store_url)
    with engine.connect() as conn, conn.begin():
        metadata.create_all(conn, tables=older)
        conn.execute(sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
        conn.execute(sa.insert(label_events).values(**label_row(grade=2)))
    assert not LATER_TABLES & set(sa.inspect(engine).get_table_names())
    engine.dispose()

    with JudgmentStore(store_url) as store:
        with store.read() as conn:
            present = set(sa.inspect(conn).get_table_names())
        assert set(metadata.tables) <= present
        [label] = store.current_labels("c")
        assert (label.annotator, label.query_id, label.passage_id, label.grade) == (
            "alice",
            "q1",
            "d1#0",
            2,
        )
        # the new tables work at once, with no set-up call of their own
        assert judges.save_prompt(store, "c", Prompt()).version == 1
        annotators.add(store, "bob")
        assert [a.name for a in annotators.list_all(store)] == ["bob"]
        assert preferences_store.preferences(store, "c") == []
        assert snapshots_store.list_snapshots(store) == []
