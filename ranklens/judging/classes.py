"""Classes (teaching): a set of sampled pairs that students join with a short code and judge.

Storage and rules only: start, join, label, pause/reveal/close, export. The numbers of the live
board are in class_stats; making a class from a corpus's rankers is in classroom.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa

from ranklens.corpus.trec_files import write_qrels
from ranklens.errors import InputError, NotFoundError, RankLensError
from ranklens.files import write_atomic
from ranklens.judging.rules import check_name, check_rule, combine_grades
from ranklens.scale import Scale
from ranklens.schema import (
    Database,
    class_labels,
    class_pairs,
    class_students,
    classes_table,
    insert_row,
)
from ranklens.types import Qrel

STATES = ("open", "paused", "revealed", "closed")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud, typed on phones
CODE_LENGTH = 6
MAX_PAIRS = 500
MAX_REASON = 2000
STRATA = ("likely", "unlikely")


class ClassError(RankLensError):
    """A join or a label that a class refuses (wrong or closed code, paused class, ...)."""


class ClassPair(NamedTuple):
    """A (query, passage) a class judges; `stratum` says how it was sampled, never shown."""

    position: int
    query_id: str
    passage_id: str
    doc_id: str
    stratum: str


class ClassLabel(NamedTuple):
    """A student's current grade for one pair (their latest save)."""

    student: str
    position: int
    grade: int
    reason: str
    seconds: float | None
    created_at: float


@dataclass
class ClassInfo:
    id: int
    code: str
    corpus: str
    query_set: str
    title: str
    guidelines: str
    scale: Scale
    state: str
    seed: int
    pool_id: int | None
    created_by: str
    created_at: float
    pairs: list[ClassPair]

    @property
    def accepts_labels(self) -> bool:
        return self.state in ("open", "revealed")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "code": self.code,
            "corpus": self.corpus,
            "query_set": self.query_set,
            "title": self.title,
            "state": self.state,
            "seed": self.seed,
            "pool_id": self.pool_id,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "pairs": len(self.pairs),
            "scale": self.scale.describe(),
        }


def normalise_code(code: str) -> str:
    """A join code as stored: upper case, spaces and dashes dropped (people type 'abc-d2f')."""
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def sample_pairs(
    candidates: Sequence[tuple[str, str, str, bool]], n: int, seed: int
) -> list[tuple[str, str, str, str]]:
    """n pairs from (query_id, passage_id, doc_id, likely) candidates, stratified: as many
    likely-relevant as likely-not pairs (the rest from the other stratum when one runs short),
    seeded; returns (query_id, passage_id, doc_id, stratum) in a seeded shuffled order."""
    if not 1 <= n <= MAX_PAIRS:
        raise InputError(None, f"a class takes 1 to {MAX_PAIRS} pairs, got {n}")
    import random

    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    strata: dict[str, list[tuple[str, str, str, str]]] = {s: [] for s in STRATA}
    for qid, pid, did, likely in candidates:
        if (qid, pid) in seen:
            continue
        seen.add((qid, pid))
        stratum = "likely" if likely else "unlikely"
        strata[stratum].append((qid, pid, did, stratum))
    if sum(len(v) for v in strata.values()) < n:
        raise InputError(
            None,
            f"the pool holds {len(seen)} pairs; a class of {n} pairs needs at least that many",
        )
    for items in strata.values():
        rng.shuffle(items)
    want_likely = min(len(strata["likely"]), (n + 1) // 2)
    want_unlikely = min(len(strata["unlikely"]), n - want_likely)
    want_likely = n - want_unlikely
    chosen = strata["likely"][:want_likely] + strata["unlikely"][:want_unlikely]
    rng.shuffle(chosen)
    return chosen


def student_order(pairs: Sequence[ClassPair], student: str, seed: int) -> list[ClassPair]:
    """The order one student sees the pairs in: shuffled per student, the same on every visit."""
    import random

    rng = random.Random(f"{seed}:{student}")
    out = list(pairs)
    rng.shuffle(out)
    return out


class JoinLimiter:
    """Join attempts per client: a few wrong codes, then a wait that doubles (in-process)."""

    def __init__(self, free: int = 5, base_wait: float = 2.0, max_wait: float = 300.0) -> None:
        self.free, self.base_wait, self.max_wait = free, base_wait, max_wait
        self._fails: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_left(self, client: str, now: float | None = None) -> float:
        """Seconds this client must still wait before trying again (0: go ahead)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            fails, last = self._fails.get(client, (0, 0.0))
        if fails < self.free:
            return 0.0
        wait = min(self.max_wait, self.base_wait * 2 ** (fails - self.free))
        return max(0.0, last + wait - now)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            fails, _ = self._fails.get(client, (0, 0.0))
            self._fails[client] = (fails + 1, now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._fails.pop(client, None)


class ClassStore:
    """The classes of one judgment database (composed over its Database: one engine, its
    transactions and its fair write queue)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- teacher

    def create(
        self,
        corpus: str,
        query_set: str,
        pairs: Sequence[tuple[str, str, str, str]],
        *,
        scale: Scale,
        seed: int,
        title: str = "",
        guidelines: str = "",
        pool_id: int | None = None,
        created_by: str = "",
    ) -> ClassInfo:
        """Store a class with its pairs (query_id, passage_id, doc_id, stratum); a fresh code."""
        if not pairs:
            raise InputError(None, "a class needs at least one pair")
        title = title.strip()[:200]
        with self.db.write() as conn:
            for _ in range(20):
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                taken = conn.execute(
                    sa.select(classes_table.c.id).where(classes_table.c.code == code)
                ).first()
                if not taken:
                    break
            else:  # pragma: no cover - 31**6 codes
                raise RankLensError("could not find a free class code; try again")
            class_id = insert_row(
                conn,
                classes_table,
                code=code,
                corpus=corpus,
                query_set=query_set,
                title=title,
                guidelines=guidelines,
                scale=scale.to_json(),
                state="open",
                seed=int(seed),
                pool_id=pool_id,
                created_by=created_by,
                created_at=time.time(),
            )
            conn.execute(
                sa.insert(class_pairs),
                [
                    dict(
                        class_id=class_id,
                        position=i,
                        query_id=q,
                        passage_id=p,
                        doc_id=d,
                        stratum=s,
                    )
                    for i, (q, p, d, s) in enumerate(pairs)
                ],
            )
        return self.get(class_id)

    def _info(self, conn: sa.Connection, row) -> ClassInfo:
        pairs = [
            ClassPair(r.position, r.query_id, r.passage_id, r.doc_id, r.stratum)
            for r in conn.execute(
                sa.select(class_pairs)
                .where(class_pairs.c.class_id == row.id)
                .order_by(class_pairs.c.position)
            )
        ]
        return ClassInfo(
            id=row.id,
            code=row.code,
            corpus=row.corpus,
            query_set=row.query_set,
            title=row.title,
            guidelines=row.guidelines,
            scale=Scale.from_json(row.scale),
            state=row.state,
            seed=int(row.seed),
            pool_id=row.pool_id,
            created_by=row.created_by,
            created_at=row.created_at,
            pairs=pairs,
        )

    def get(self, class_id: int) -> ClassInfo:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(classes_table).where(classes_table.c.id == int(class_id))
            ).first()
            if row is None:
                raise NotFoundError(f"no class with id {class_id}")
            return self._info(conn, row)

    def by_code(self, code: str) -> ClassInfo:
        """The class with this join code (any state); NotFoundError otherwise."""
        code = normalise_code(code)
        with self.db.read() as conn:
            row = conn.execute(sa.select(classes_table).where(classes_table.c.code == code)).first()
            if row is None:
                raise NotFoundError("no class has this code")
            return self._info(conn, row)

    def find(self, ref: str | int) -> ClassInfo:
        """A class by id (digits) or by code."""
        text = str(ref).strip()
        return self.get(int(text)) if text.isdigit() else self.by_code(text)

    def list(self, corpus: str | None = None) -> list[ClassInfo]:
        with self.db.read() as conn:
            q = sa.select(classes_table).order_by(classes_table.c.id)
            if corpus is not None:
                q = q.where(classes_table.c.corpus == corpus)
            return [self._info(conn, row) for row in conn.execute(q).all()]

    def set_state(self, class_id: int, state: str) -> ClassInfo:
        """open, paused, revealed or closed; a closed class stays closed."""
        if state not in STATES:
            raise InputError(None, f"unknown class state {state!r}; expected one of {STATES}")
        with self.db.write() as conn:
            current = conn.execute(
                sa.select(classes_table.c.state).where(classes_table.c.id == int(class_id))
            ).scalar_one_or_none()
            if current is None:
                raise NotFoundError(f"no class with id {class_id}")
            if current == "closed" and state != "closed":
                raise ClassError(f"class {class_id} is closed; a closed class cannot reopen")
            conn.execute(
                sa.update(classes_table)
                .where(classes_table.c.id == int(class_id))
                .values(state=state)
            )
        return self.get(class_id)

    # -- students

    def join(self, code: str, name: str) -> tuple[ClassInfo, str]:
        """A student joins by code with a display name (a returning name resumes); refused for
        a wrong or closed code. Returns the class and the cleaned name."""
        name = check_name(name, "display")
        try:
            info = self.by_code(code)
        except NotFoundError:
            raise ClassError("no open class has this code; check it with your teacher") from None
        if info.state == "closed":
            raise ClassError("no open class has this code; check it with your teacher")
        with self.db.write() as conn:
            exists = conn.execute(
                sa.select(class_students.c.name).where(
                    class_students.c.class_id == info.id, class_students.c.name == name
                )
            ).first()
            if not exists:
                conn.execute(
                    sa.insert(class_students).values(
                        class_id=info.id, name=name, joined_at=time.time()
                    )
                )
        return info, name

    def students(self, class_id: int) -> list[str]:
        with self.db.read() as conn:
            return list(
                conn.execute(
                    sa.select(class_students.c.name)
                    .where(class_students.c.class_id == int(class_id))
                    .order_by(class_students.c.joined_at, class_students.c.name)
                ).scalars()
            )

    def save_label(
        self,
        class_id: int,
        student: str,
        position: int,
        grade: int,
        *,
        reason: str = "",
        seconds: float | None = None,
        nonce: str | None = None,
    ) -> bool:
        """Store a student's grade for a pair (their latest counts). Refused when the class does
        not take labels (paused or closed), the student has not joined, the pair or the grade is
        not the class's. A save repeated with the same nonce is stored once; returns whether this
        call stored a row."""
        reason = (reason or "").strip()
        if len(reason) > MAX_REASON:
            raise InputError(None, f"a reason holds at most {MAX_REASON} characters")
        if seconds is not None and not (0 <= float(seconds) < 86_400):
            seconds = None
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(classes_table.c.state, classes_table.c.scale).where(
                    classes_table.c.id == int(class_id)
                )
            ).first()
            if row is None:
                raise NotFoundError(f"no class with id {class_id}")
            if row.state not in ("open", "revealed"):
                raise ClassError(f"the class is {row.state}; labels are not taken now")
            Scale.from_json(row.scale).check(grade)
            joined = conn.execute(
                sa.select(class_students.c.name).where(
                    class_students.c.class_id == int(class_id), class_students.c.name == student
                )
            ).first()
            if not joined:
                raise ClassError(f"{student!r} has not joined this class")
            pair = conn.execute(
                sa.select(class_pairs.c.position).where(
                    class_pairs.c.class_id == int(class_id),
                    class_pairs.c.position == int(position),
                )
            ).first()
            if pair is None:
                raise InputError(None, f"the class has no pair {position}")
            if nonce is not None:
                done = conn.execute(
                    sa.select(class_labels.c.id).where(
                        class_labels.c.class_id == int(class_id), class_labels.c.nonce == nonce
                    )
                ).first()
                if done:
                    return False
            conn.execute(
                sa.insert(class_labels).values(
                    class_id=int(class_id),
                    student=student,
                    position=int(position),
                    grade=int(grade),
                    reason=reason,
                    seconds=None if seconds is None else float(seconds),
                    nonce=nonce,
                    created_at=time.time(),
                )
            )
        return True

    def labels(self, class_id: int, student: str | None = None) -> list[ClassLabel]:
        """Current labels (each student's latest per pair), by student then pair."""
        with self.db.read() as conn:
            q = (
                sa.select(class_labels)
                .where(class_labels.c.class_id == int(class_id))
                .order_by(class_labels.c.id)
            )
            if student is not None:
                q = q.where(class_labels.c.student == student)
            latest: dict[tuple[str, int], ClassLabel] = {}
            for r in conn.execute(q):
                latest[(r.student, r.position)] = ClassLabel(
                    r.student, r.position, r.grade, r.reason, r.seconds, r.created_at
                )
        return [latest[k] for k in sorted(latest)]

    def label_rows(self, class_id: int) -> int:
        """How many label rows the class holds (every save, not only the latest)."""
        with self.db.read() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(class_labels)
                    .where(class_labels.c.class_id == int(class_id))
                ).scalar_one()
            )

    def visible_labels(self, class_id: int, student: str) -> list[ClassLabel]:
        """What a student may see: their own labels, and everyone's once the class is revealed."""
        info = self.get(class_id)
        if info.state == "revealed":
            return self.labels(class_id)
        return self.labels(class_id, student)

    # -- export

    def export_jsonl(self, class_id: int, path: Path) -> int:
        """Every current label as JSON lines (student, query, passage, doc, grade, reason,
        seconds, time); written whole, then renamed into place. Returns the line count."""
        info = self.get(class_id)
        by_pos = {p.position: p for p in info.pairs}
        rows = []
        for lab in self.labels(class_id):
            p = by_pos[lab.position]
            rows.append(
                {
                    "class": info.code,
                    "pair": lab.position,
                    "student": lab.student,
                    "query_id": p.query_id,
                    "passage_id": p.passage_id,
                    "doc_id": p.doc_id,
                    "grade": lab.grade,
                    "reason": lab.reason,
                    "seconds": lab.seconds,
                    "created_at": lab.created_at,
                }
            )
        _write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return len(rows)

    def final_qrels(self, class_id: int, rule: str = "majority") -> list[Qrel]:
        """One grade per pair from the students' labels under a rule (majority, mean, max,
        min), at passage level (the passage id is the qrels' document id)."""
        check_rule(rule)
        if rule.startswith("annotator:"):
            raise InputError(
                None, "a class's qrels combine all students: majority, mean, max or min"
            )
        info = self.get(class_id)
        grades: dict[int, list[int]] = defaultdict(list)
        for lab in self.labels(class_id):
            grades[lab.position].append(lab.grade)
        out = []
        for p in info.pairs:
            if grades.get(p.position):
                out.append(Qrel(p.query_id, p.passage_id, combine_grades(grades[p.position], rule)))
        return out

    def export_qrels(self, class_id: int, path: Path, rule: str = "majority") -> int:
        qrels = self.final_qrels(class_id, rule)
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        write_qrels(qrels, tmp)
        tmp.replace(path)
        return len(qrels)


def _write_atomic(path: Path, text: str) -> None:
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
