"""Blind judging in team mode: whether annotators may see agreement figures (never names, never
others' grades), an admin's choice kept in the judgment store; and the report stripped of names.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from ranklens.access import Actor, require_admin
from ranklens.judging.agreement import AgreementReport
from ranklens.schema import Database, meta_table

REVEAL_KEY = "team.reveal_agreement"  # "1": annotators see agreement figures without names


def reveal_agreement(store: Database) -> bool:
    """Whether an admin chose to show annotators the agreement figures (without names)."""
    with store.read() as conn:
        value = conn.execute(
            sa.select(meta_table.c.value).where(meta_table.c.key == REVEAL_KEY)
        ).scalar_one_or_none()
    return value == "1"


def set_reveal_agreement(store: Database, on: bool, actor: Actor | None = None) -> None:
    """Show annotators the agreement figures without names (on), or nothing (off); admin-only."""
    require_admin(actor, "choose what annotators see of agreement")
    with store.write() as conn:
        conn.execute(sa.delete(meta_table).where(meta_table.c.key == REVEAL_KEY))
        conn.execute(sa.insert(meta_table).values(key=REVEAL_KEY, value="1" if on else "0"))


def without_names(report: AgreementReport) -> AgreementReport:
    """The report with each annotator called "annotator 1", "annotator 2"..., numbered by how
    many units they share with others (not by name, so the numbers do not spell the names)."""
    counts: dict[str, int] = dict.fromkeys(report.annotators, 0)
    for p in report.pairs:
        counts[p.a] = counts.get(p.a, 0) + p.n
        counts[p.b] = counts.get(p.b, 0) + p.n
    order = sorted(counts, key=lambda a: (-counts[a], len(a)))
    alias = {a: f"annotator {i}" for i, a in enumerate(order, 1)}

    def rename(pairs):
        return [dataclasses.replace(p, a=alias[p.a], b=alias[p.b]) for p in pairs]

    per_query = {
        q: dataclasses.replace(agreement, pairs=rename(agreement.pairs))
        for q, agreement in report.per_query.items()
    }
    return dataclasses.replace(
        report,
        annotators=[alias[a] for a in order],
        pairs=rename(report.pairs),
        per_query=per_query,
    )
