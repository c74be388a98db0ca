"""The SQL database: engine and session factory, built by create_app, never at import time."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Executable, Row, Table, TextClause, bindparam, create_engine, event, text
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessions, "after_flush", _count_flush)
        event.listen(self.sessions, "do_orm_execute", _count_statement)
        # PostgreSQL in autocommit: one statement is its own transaction, one round trip where
        # BEGIN, the statement and COMMIT take three. Its own pool, whose connections stay in
        # autocommit: switching a pooled connection in and out of it cost ~35 µs a statement.
        # SQLite has no round trips to save.
        self._alone = self.engine if self.is_sqlite else make_engine(url, autocommit=True)
        # Reads outside any transaction (the content revision, checked while a request may hold
        # SQLite's write lock): SQLite without BEGIN IMMEDIATE (WAL readers never wait for the
        # writer), PostgreSQL in autocommit.
        self._reader = make_engine(url, autocommit=True) if self.is_sqlite else self._alone
        self.reads = sessionmaker(self._reader, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session for one unit of work (a CLI command, a job): committed when the block ends,
        rolled back when it raises, closed either way. Services only flush; this commits."""
        with self.session() as session, committed(session):
            yield session

    def execute_alone(self, statement: Executable, params: dict[str, Any] | list[dict[str, Any]]) -> list[Row]:
        """Run one statement (once per parameter set, given a list) in a transaction of its own,
        committed before this returns; the rows it returned (none without RETURNING)."""
        with self._alone.connect() as conn:
            result = conn.execute(statement, params)
            rows = result.all() if result.returns_rows else []
            conn.commit()
        return rows

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine statements go through (for listeners: tests that watch the SQL)."""
        # Not the reader: its one read per process every few seconds belongs to no message.
        return (self.engine,) if self._alone is self.engine else (self.engine, self._alone)

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()
        self._alone.dispose()
        self._reader.dispose()


@contextlib.contextmanager
def committed(session: Session) -> Iterator[Session]:
    """Commit what the block wrote to an open session when it ends, roll it back when it raises;
    the session stays open (Database.transaction, the console's request session)."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def writes(session: Session) -> int:
    """How many writes the session made or holds unflushed: a rule declared pure must make none
    (messages.run checks)."""
    return session.info.get("writes", 0) + bool(session.new or session.dirty or session.deleted)


def _count_flush(session: Session, _flush_context: Any) -> None:
    session.info["writes"] = session.info.get("writes", 0) + 1


def _count_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete or (
            isinstance(statement, TextClause) and not statement.text.lstrip()[:6].upper().startswith("SELECT")):
        state.session.info["writes"] = state.session.info.get("writes", 0) + 1


def make_engine(url: str, *, autocommit: bool = False) -> Engine:
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        if autocommit:  # each statement on its own, taking no lock before it needs one
            return engine
        # pysqlite's own BEGIN handling defers locks; take the write lock at BEGIN instead so that
        # two writers queue up rather than fail with "database is locked" mid-transaction.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    # No pre-ping: it costs a round trip on every checkout. After a PostgreSQL restart the first use
    # of a stale connection fails (that message gets an apology, nothing is acknowledged) and
    # SQLAlchemy then drops every pooled connection, so the pool recovers by itself.
    # No server-side prepared statements (psycopg prepares a statement after its 5th run): PostgreSQL
    # then reuses a generic plan made with the statistics of that moment. A plan made while a table
    # was nearly empty scans it whole, and the pool's connections live for days: quiz answers slowed
    # from 629 to 205 a second over five rounds of the benchmark on one server (issue 9). Planned
    # afresh each time, a statement always sees today's table.
    return create_engine(url, pool_size=10, max_overflow=10, pool_timeout=5, connect_args={"prepare_threshold": None},
                         **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}))


# SQLAlchemy cannot cache its dialects' on-conflict inserts: it compiled one on every quiz answer
# (~0.7 ms, more than the round trips it saves). These are written as SQL that both SQLite and
# PostgreSQL read, built once per model, with parameters typed by the model's columns.

@functools.cache
def insert_unless_present(model: type, columns: tuple[str, ...], returning: str) -> TextClause:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING <returning>`: one round trip where a savepoint
    around a plain INSERT takes three; no row back means it was there already."""
    table = model.__table__  # type: ignore[attr-defined]
    return _typed(f"{_insert(table, columns)} ON CONFLICT DO NOTHING RETURNING {returning}", table, columns).columns(
        table.c[returning])


@functools.cache
def insert_or_update(model: type, columns: tuple[str, ...], key: str, updated: tuple[str, ...],
                     where: str = "") -> TextClause:
    """`INSERT ... ON CONFLICT (<key>) DO UPDATE SET <updated> [WHERE <where>]`: a row created or
    refreshed in one statement, where the ORM reads it, then writes it."""
    table = model.__table__  # type: ignore[attr-defined]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in updated)
    condition = f" WHERE {where}" if where else ""
    return _typed(f"{_insert(table, columns)} ON CONFLICT ({key}) DO UPDATE SET {assignments}{condition}", table,
                  columns)


def _insert(table: Table, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


def _typed(sql: str, table: Table, columns: tuple[str, ...]) -> TextClause:
    return typed_sql(sql, {c: table.c[c] for c in columns})


def typed_sql(sql: str, parameters: Mapping[str, ColumnElement[Any]]) -> TextClause:
    """SQL text whose `:name` parameters are typed like the given columns (e.g. AwareDateTime
    stores times in UTC), as the ORM would type them."""
    return text(sql).bindparams(*(bindparam(name, type_=column.type) for name, column in parameters.items()))


def ensure_sqlite_dir(url: str) -> None:
    database = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" listener issues BEGIN itself
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
