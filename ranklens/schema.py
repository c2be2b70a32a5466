"""The judgment database: its tables (SQLAlchemy Core metadata), the engine for a URL (SQLite
with WAL and BEGIN IMMEDIATE, or PostgreSQL as is) and Database, the base that owns transactions.

Storage decisions (read before changing anything here):

- Engine by URL (SQLAlchemy Core): SQLite under RANKLENS_HOME by default; a PostgreSQL URL works
  as is. SQLite-only statements (the PRAGMAs, BEGIN IMMEDIATE) run only under a dialect check.
- Durability: SQLite runs in WAL mode with synchronous=FULL, so a commit returns after the WAL is
  fsynced. Every write method returns only after its commit, so a label the app shows as saved
  survives a killed process (WAL alone already does) and also a power cut or OS crash (FULL).
  A commit costs about 0.3 ms here, nothing next to a person reading a passage.
- Concurrency: every write is one transaction that SQLite starts with BEGIN IMMEDIATE (it takes
  the write lock at once and waits up to BUSY_TIMEOUT_MS for it, instead of failing half way);
  readers never block writers in WAL mode.
- PostgreSQL behaves the same: a write transaction first takes one transaction-level advisory
  lock (writers one at a time, as on SQLite, so read-then-write methods such as undo never race),
  a read runs in REPEATABLE READ (one snapshot). Text columns (Str) refuse NUL characters and
  values longer than the column on both engines (PostgreSQL would refuse them with its own error,
  SQLite would keep them), as InputError. A server that cannot be reached raises StoreUnavailable.

Adding a table: declare it here, on `metadata` (every table of the judgment database is declared
in this module and nowhere else), and write its methods in a module of its own that works through
`store.write()` and `store.read()`; no module creates tables itself. Database creates every table
of `metadata` that a database lacks when it opens (create_all, checkfirst), so an existing
database gains the new table and keeps its rows.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.types import TypeDecorator

from ranklens.errors import InputError, RankLensError, StoreUnavailable

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
PG_WRITE_LOCK = 0x52414E4B  # the advisory lock every PostgreSQL write transaction takes first
PG_CONNECT_TIMEOUT_S = 10


def _no_nul(value: object) -> object:
    if isinstance(value, str) and "\x00" in value:
        raise InputError(
            None, f"{value[:40]!r}... holds a NUL character (\\x00), which labels cannot keep"
        )
    return value


class _Compared(TypeDecorator):
    """A value compared with a Str column (a filter): NULs refused, any length allowed."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return _no_nul(value)


class Str(TypeDecorator):
    """A string column that keeps the same values on SQLite and PostgreSQL: no NUL, at most
    `length` characters (InputError otherwise, before the database sees the value)."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        value = _no_nul(value)
        limit = getattr(self.impl, "length", None)
        if limit and isinstance(value, str) and len(value) > limit:
            raise InputError(
                None,
                f"{value[:40]!r}... is {len(value):,} characters long; ids and names hold at "
                f"most {limit:,}",
            )
        return value

    def coerce_compared_value(self, op, value):
        return _Compared()


class LongText(Str):
    """Free text (notes, guidelines, JSON): any length, no NUL."""

    impl = sa.Text
    cache_ok = True


metadata = sa.MetaData()


# -- column shapes that many tables share (each call makes a new Column: a Column has one table)
def _str(name: str, length: int = 200, *, key: bool = False, null: bool = False, **kw) -> sa.Column:
    """A Str(length) column: part of the primary key (`key`), else NOT NULL unless `null`."""
    if key:
        return sa.Column(name, Str(length), primary_key=True, **kw)
    return sa.Column(name, Str(length), nullable=null, **kw)


def _text(name: str, *, null: bool = False, **kw) -> sa.Column:
    """A LongText column (free text or JSON), NOT NULL unless `null`."""
    return sa.Column(name, LongText, nullable=null, **kw)


def _int(name: str, kind: type = sa.Integer, *, key: bool = False, null: bool = False) -> sa.Column:
    """An integer column (sa.BigInteger for seeds): part of the primary key, or NOT NULL unless
    `null`."""
    if key:
        return sa.Column(name, kind, primary_key=True)
    return sa.Column(name, kind, nullable=null)


def _float(name: str, *, null: bool = False) -> sa.Column:
    """A Float column (times are seconds since the epoch), NOT NULL unless `null`."""
    return sa.Column(name, sa.Float, nullable=null)


def _of(parent: str, name: str, *, key: bool = True) -> sa.Column:
    """A column naming a row of `parent` by its id: part of the primary key, or NOT NULL."""
    if key:
        return sa.Column(name, sa.Integer, sa.ForeignKey(f"{parent}.id"), primary_key=True)
    return sa.Column(name, sa.Integer, sa.ForeignKey(f"{parent}.id"), nullable=False)


def _unit() -> tuple[sa.Column, sa.Column, sa.Column]:
    """The three ids of a judged unit: its query, its passage and the passage's document."""
    return _str("query_id", 500), _str("passage_id", 500), _str("doc_id", 500)


def _table(name: str, *items: sa.SchemaItem) -> sa.Table:
    """A table of the judgment database, declared on `metadata`."""
    return sa.Table(name, metadata, *items)


def _log(name: str, *items: sa.SchemaItem) -> sa.Table:
    """A table whose rows are numbered by an `id` that SQLite never reuses (sqlite_autoincrement):
    the latest row is the one with the highest id."""
    column = sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)
    return sa.Table(name, metadata, column, *items, sqlite_autoincrement=True)


meta_table = _table("ranklens_meta", _str("key", 100, key=True), _text("value"))

projects = _table(
    "projects",
    _str("corpus", key=True),
    _text("scale"),  # Scale.to_json()
    _float("created_at"),
)

annotators = _table("annotators", _str("name", key=True), _float("created_at"))

# Judging settings of a query set (the corpus owns the queries themselves). The table keeps its
# old name, so a database written before the corpus became the one owner opens as it is; its old
# "queries" table is left untouched and no longer read.
query_sets = _table(
    "query_sets",
    _str("corpus", key=True),
    _str("name", key=True),
    _text("guidelines", default=""),
    sa.Column("annotators_per_passage", sa.Integer, nullable=False, default=1),
    _float("created_at"),
)

label_events = _log(
    "label_events",
    _str("corpus"),
    _str("annotator"),
    _str("query_set", null=True),
    *_unit(),
    _int("grade", null=True),
    _text("note", null=True),
    _float("created_at"),
    _str("source", 20),
    _str("kind", 20),
    _int("target_id", null=True),
    sa.CheckConstraint(
        "source IN ('human', 'import', 'suggestion', 'adjudication')", name="ck_event_source"
    ),
    sa.CheckConstraint(
        "kind IN ('label', 'cant_judge', 'skip', 'note', 'undo')", name="ck_event_kind"
    ),
    sa.CheckConstraint("kind != 'label' OR grade IS NOT NULL", name="ck_label_has_grade"),
    sa.Index("ix_events_unit", "corpus", "query_id", "doc_id", "passage_id"),
    sa.Index("ix_events_annotator", "corpus", "annotator", "id"),
    sa.Index("ix_events_kind", "corpus", "kind", "target_id"),
)

pools_table = _log(
    "pools",
    _str("corpus"),
    _str("query_set"),
    _text("rankers"),  # JSON list
    _int("depth"),
    _float("created_at"),
)

pool_items = _table(
    "pool_items",
    _of("pools", "pool_id"),
    _int("position", key=True),
    *_unit(),
    _text("found_by", default="[]"),  # JSON; never shown to judges
)

pool_seeds = _table(
    "pool_seeds",
    _of("pools", "pool_id"),
    _str("annotator", key=True),
    _int("seed", sa.BigInteger),
    _float("created_at"),
)


# A class (teaching): pairs sampled from a pool, judged by students who joined with a code.
classes_table = _log(
    "classes",
    _str("code", 16, unique=True),
    _str("corpus"),
    _str("query_set"),
    _str("title", default=""),
    _text("guidelines", default=""),
    _text("scale"),  # Scale.to_json()
    _str("state", 12),  # open | paused | revealed | closed
    _int("seed", sa.BigInteger),
    _int("pool_id", null=True),
    _str("created_by", default=""),
    _float("created_at"),
    sa.CheckConstraint("state IN ('open', 'paused', 'revealed', 'closed')", name="ck_class_state"),
)

class_pairs = _table(
    "class_pairs",
    _of("classes", "class_id"),
    _int("position", key=True),
    *_unit(),
    _str("stratum", 12),  # likely | unlikely (how it was sampled)
)

class_students = _table(
    "class_students",
    _of("classes", "class_id"),
    _str("name", key=True),
    _float("joined_at"),
)

# Append-only: a student's current grade for a pair is their latest row for it.
class_labels = _log(
    "class_labels",
    _of("classes", "class_id", key=False),
    _str("student"),
    _int("position"),
    _int("grade"),
    _text("reason", default=""),
    _float("seconds", null=True),  # time spent on the pair, when measured
    _str("nonce", 64, null=True),  # the client's id of this save: a retry is one row
    _float("created_at"),
    sa.UniqueConstraint("class_id", "nonce", name="uq_class_label_nonce"),
    sa.Index("ix_class_labels", "class_id", "student", "position", "id"),
)

# -- team mode: annotators' keys (scrypt hashes; judging/annotators.py) and browser sign-ins
annotator_keys = _table(
    "annotator_keys",
    _str("name", key=True),
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    _str("salt", 64),  # hex
    _str("key_hash", 128),  # hex
    _str("params", 60),  # "n,r,p,len"
    _float("created_at"),
    _float("key_set_at"),
)

browser_sign_ins = _table(
    "browser_sign_ins",
    _str("token_hash", 64, key=True),  # sha256 hex of the cookie's secret
    _str("name", index=True),
    _float("key_set_at"),  # the key it was made with
    _float("created_at"),
    _float("expires_at"),
)

# -- LLM judges' prompt versions (judging/judges.py)
llm_prompts = _table(
    "llm_prompts",
    _str("corpus", key=True),
    _int("version", key=True),
    _str("prompt_hash", 64),
    _text("text"),
    _int("top"),
    _str("author"),
    _float("created_at"),
)

# -- how long each passage was shown before its label (judging/timing.py)
label_timings = _table(
    "label_timings",
    _int("event_id", key=True),
    _str("corpus"),
    _float("shown_at"),
    _float("seconds"),
    sa.Index("ix_timings_corpus", "corpus"),
)

# -- pairwise preferences, append-only (preferences_store.py)
preference_events = _log(
    "preference_events",
    _str("corpus"),
    _str("annotator"),
    _str("query_set", null=True),
    _str("query_id", 500),
    _str("kind", 20),  # passage, ranker, undo
    _text("left", null=True),  # passage id or ranker recipe
    _text("right", null=True),
    _str("left_doc", 500, null=True),  # passages: their documents
    _str("right_doc", 500, null=True),
    _str("choice", 10, null=True),
    _text("shown", null=True),  # arena: JSON of the two lists shown
    _int("target_id", null=True),  # undo: the event it takes back
    _float("created_at"),
    sa.CheckConstraint("kind IN ('passage', 'ranker', 'undo')", name="ck_pref_kind"),
    sa.CheckConstraint(
        "kind = 'undo' OR choice IN ('left', 'right', 'tie')", name="ck_pref_choice"
    ),
    sa.Index("ix_pref_query", "corpus", "kind", "query_id"),
    sa.Index("ix_pref_annotator", "corpus", "annotator", "id"),
)

# -- snapshots of evaluations and their runs (snapshots_store.py)
snapshots_table = _log(
    "snapshots",
    _str("corpus"),
    _str("name"),
    _str("query_set"),
    _float("created_at"),
    _str("labels_hash", 64),
    _int("labels_count"),
    _str("corpus_fingerprint"),
    _text("manifest"),  # JSON, see Snapshot.manifest
    sa.Column("per_query", sa.LargeBinary, nullable=False),  # zlib JSON {ranker: {m: {q: v}}}
    sa.UniqueConstraint("corpus", "name", name="uq_snapshot_name"),
)

snapshot_runs = _table(
    "snapshot_runs",
    _of("snapshots", "snapshot_id"),
    _int("position", key=True),
    _text("ranker"),
    sa.Column("run", sa.LargeBinary, nullable=False),  # zlib JSON {qid: [[pid, doc, score]...]}
)


# A label someone accepted from a model's suggestion: which judge (and prompt) it came from.
accepted_labels = _table(
    "accepted_labels",
    _int("event_id", key=True),  # the human label written
    _str("corpus"),
    _str("judge"),  # llm:<model> or a cross-encoder's name
    _str("prompt_hash", 64, null=True),
    _int("suggestion_event_id"),
    _float("created_at"),
    sa.Index("ix_accepted_corpus", "corpus"),
)

# A calibration of an LLM judge on the team's labels: split, examples, calibrated prompt, report.
llm_calibrations = _log(
    "llm_calibrations",
    _str("corpus"),
    _str("query_set"),
    _str("model"),
    _str("base_hash", 64),
    _str("calibrated_hash", 64),
    _text("calibrated_text"),
    _int("top"),
    _int("seed", sa.BigInteger),
    _text("examples"),  # JSON list of Example
    _text("report"),  # JSON of CalibrationReport
    _str("author"),
    _float("created_at"),
)


def insert_row(conn: sa.Connection, table: sa.Table, **values: object) -> int:
    """Insert one row into a table numbered by `id` (_log); returns the new row's id."""
    return int(conn.execute(sa.insert(table).values(**values)).inserted_primary_key[0])


class FairLock:
    """A lock that threads acquire in arrival order (threading.Lock promises no order).

    Every browser session of one Streamlit server is a thread of one process; SQLite's busy
    handler wakes waiting writers in no order, so one unlucky writer can wait for seconds.
    Writes of one process queue here first, first come first served; the owner may re-enter.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, timeout: float | None = None) -> bool:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._waiters:
                self._owner, self._depth = me, 1
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            with self._mutex:
                self._owner, self._depth = me, 1
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait timed out
                self._owner, self._depth = me, 1
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("FairLock released by a thread that does not hold it")
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            if self._waiters:
                self._waiters.popleft().set()  # the next in line; it takes ownership on waking
                self._owner = -1  # reserved until it does, so no newcomer jumps the queue

    @contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        if not self.acquire(timeout):
            raise StoreBusy(timeout or 0)
        try:
            yield
        finally:
            self.release()


class StoreBusy(RankLensError):
    """A write waited longer than the busy timeout for its turn."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the judgment database stayed busy for {seconds:.0f} s; nothing was saved by this "
            "action. Try again in a moment."
        )


_WRITE_LOCKS: dict[str, FairLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(url: str) -> FairLock:
    """The one FairLock of this process for a database URL (shared by every store on it)."""
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(url, FairLock())


def make_engine(url: str) -> sa.Engine:
    """An engine for the URL; on SQLite: WAL, synchronous=FULL, busy timeout, BEGIN IMMEDIATE."""
    u = sa.make_url(url)
    if u.get_backend_name() == "postgresql":
        engine = sa.create_engine(
            u, pool_pre_ping=True, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S}
        )

        @sa_event.listens_for(engine, "begin")
        def _pg_begin(conn) -> None:  # pragma: no cover - trivial
            if conn.get_execution_options().get("ranklens_write", False):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")

        return engine
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True)
    database = u.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        u, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover - trivial
        write = conn.get_execution_options().get("ranklens_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# ---------------------------------------------------------------- the store


class Database:
    """One judgment database (an SQLAlchemy URL selects the engine): opening it creates the
    missing tables and checks the schema version; write()/read() are its transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._engine = make_engine(url)
        except sa.exc.ArgumentError as exc:
            raise InputError(None, f"bad database URL {url!r}: {exc}") from None
        self.dialect = self._engine.dialect.name
        self._write_lock = write_lock(url)
        with self.write() as conn:
            metadata.create_all(conn, checkfirst=True)
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(
                    sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif int(row.value) > SCHEMA_VERSION:
                raise RankLensError(
                    f"the judgments database {url} has schema version {row.value}, newer than "
                    f"this RankLens ({SCHEMA_VERSION}); upgrade RankLens"
                )

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _own_errors(self) -> Iterator[None]:
        """Our own errors raised while binding values (Str) come out as they are; a database
        server that cannot be reached becomes StoreUnavailable."""
        try:
            yield
        except sa.exc.StatementError as exc:
            if isinstance(exc.orig, RankLensError):
                raise exc.orig from None
            if self.dialect != "sqlite" and isinstance(
                exc, sa.exc.OperationalError | sa.exc.InterfaceError
            ):
                raise StoreUnavailable(self.url, exc.orig) from exc
            raise
        except sa.exc.DisconnectionError as exc:
            raise StoreUnavailable(self.url, exc) from exc

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite, the advisory write lock on
        PostgreSQL); committed when the block ends. Writers of one process take turns in
        arrival order (FairLock) before they ask the database for its write lock."""
        with (
            self._write_lock.held(BUSY_TIMEOUT_MS / 1000),
            self._own_errors(),
            self._engine.connect() as conn,
        ):
            conn.execution_options(ranklens_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """One read transaction: a consistent snapshot (REPEATABLE READ on PostgreSQL)."""
        with self._own_errors(), self._engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def integrity_check(self) -> str:
        """SQLite's PRAGMA integrity_check ("ok" when sound); "ok" for other engines."""
        if self.dialect != "sqlite":
            return "ok"
        with self.read() as conn:
            rows = conn.exec_driver_sql("PRAGMA integrity_check").all()
        return "\n".join(str(r[0]) for r in rows)
