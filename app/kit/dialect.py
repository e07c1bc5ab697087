"""PostgreSQL and SQLite differences, one helper each, so services never branch on the dialect.

SQLite takes its single write lock at BEGIN (app.db), so every transaction there is serialised:
locks that order concurrent work on PostgreSQL are simply not needed on SQLite. PostgreSQL is the
production database and keeps its row-level concurrency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

# First keys of the two-int advisory locks, one per purpose, so locks of different purposes never collide.
LOCK_EVENT_QUOTA = 0x45_56_51  # "EVQ"
LOCK_SWEEP_JOB = 0x53_57_50  # "SWP"


def dialect_of(db: Any) -> str:
    bind = getattr(db, "bind", None) or db
    return bind.dialect.name


def is_postgres(db: Any) -> bool:
    return dialect_of(db) == "postgresql"


def insert_for(db: Any) -> Any:
    """The dialect's INSERT construct, with ``on_conflict_do_nothing/update`` on both databases."""
    if is_postgres(db):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


async def advisory_lock(db: Any, purpose: int, key: int, *, shared: bool = False) -> None:
    """A transaction-scoped advisory lock on PostgreSQL (released at commit or rollback)."""
    if is_postgres(db):
        fn = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
        await db.execute(select(fn(purpose, key)))


async def try_advisory_lock(db: Any, purpose: int, key: int) -> bool:
    """Take the transaction-scoped lock if nobody holds it; always True on SQLite."""
    if not is_postgres(db):
        return True
    return bool((await db.execute(select(func.pg_try_advisory_xact_lock(purpose, key)))).scalar_one())


def skip_locked(stmt: Select[Any], db: Any) -> Select[Any]:
    """``FOR UPDATE SKIP LOCKED`` on PostgreSQL: concurrent claimers take different rows. SQLAlchemy
    drops it silently on SQLite, where the transaction already holds the only write lock."""
    return stmt.with_for_update(skip_locked=True) if is_postgres(db) else stmt


class greatest(FunctionElement[Any]):
    """The largest of its arguments: ``greatest()`` on PostgreSQL, scalar ``max()`` on SQLite. NULLs
    differ (PostgreSQL skips them, SQLite answers NULL): wrap nullable arguments in ``coalesce``.
    Typed as its first argument, so a UTC datetime stays one."""

    inherit_cache = True
    name = "greatest"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.type = args[0].type


@compiles(greatest)
def _greatest(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


def one_of(db: Any, column: Any, name: str) -> Any:
    """``column`` is one of the list bound as ``name``. On PostgreSQL ``= ANY(:name)``, one array
    parameter: an expanding ``IN`` is re-rendered with one placeholder per value on every execution
    (a notable share of a busy read's CPU) and is another statement per list length. SQLite has no
    arrays: an expanding ``IN`` there. Build statements with it once per dialect."""
    from sqlalchemy import ARRAY, any_, bindparam

    if is_postgres(db):
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))
