"""SQLite storage of the users: one lock, one transaction per write, faults as 503."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labcode.web._problems import ApiError

__all__ = [
    "Store",
    "collection_etag",
    "db_fault",
    "etag",
    "get_row",
    "revision",
    "to_json",
    "utc_now",
]


def utc_now() -> str:
    return (
        dt.datetime.now(dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def db_fault(exc: sqlite3.Error) -> ApiError:
    """Describe a database failure as a 503 problem; Retry-After when it may pass."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_READONLY"):
        return ApiError(
            503,
            "Service Unavailable",
            "the database is read-only: writes are refused until an operator makes "
            "it writable (reads still work)",
            kind="database-read-only",
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ApiError(
            503,
            "Service Unavailable",
            "the database is locked by another writer; retry shortly",
            kind="database-locked",
            headers={"Retry-After": "1"},
        )
    if name.startswith("SQLITE_FULL"):
        return ApiError(
            503,
            "Service Unavailable",
            "the disk holding the database is full; nothing was written",
            kind="storage-full",
            headers={"Retry-After": "60"},
        )
    return ApiError(
        503,
        "Service Unavailable",
        f"the database failed ({name or type(exc).__name__}); nothing was written",
        kind="database-error",
        headers={"Retry-After": "30"},
    )


class Store:
    """SQLite storage behind one lock; each write is one transaction.

    A ``revision`` row counts the writes: it is the collection's ETag, and it
    lives in the database so that every process serving the file agrees on it.
    """

    def __init__(self, path: str) -> None:
        uri = path.startswith("file:")  # e.g. file:users.db?mode=ro
        if path != ":memory:":
            file = path.removeprefix("file:").partition("?")[0] if uri else path
            folder = Path(file).expanduser().resolve().parent
            if not folder.is_dir():
                msg = f"db {path!r}: the directory {str(folder)!r} does not exist"
                raise ValueError(msg)
        self.lock = threading.Lock()
        try:
            self.db = sqlite3.connect(
                path,
                check_same_thread=False,
                isolation_level=None,
                timeout=2.0,
                uri=uri,
            )
            self.db.row_factory = sqlite3.Row
            self._schema()
        except sqlite3.Error as exc:
            msg = f"db {path!r} cannot be used: {exc}"
            raise ValueError(msg) from None

    def _schema(self) -> None:
        tables = {
            row[0]
            for row in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"
            )
        }
        if {"users", "revision"} <= tables:
            return  # nothing to write: a read-only database still serves reads
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    """CREATE TABLE IF NOT EXISTS users (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL
                    )"""
                )
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS revision "
                    "(id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)"
                )
                self.db.execute("INSERT OR IGNORE INTO revision VALUES (1, 0)")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection (before a fork: it must not be shared)."""
        with self.lock:
            self.db.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a consistent read; database failures become 503."""
        with self.lock:
            try:
                yield self.db
            except sqlite3.Error as exc:
                raise db_fault(exc) from None

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed whole, or rolled back whole on any error."""
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise db_fault(exc) from None
            try:
                yield self.db
                self.db.execute("UPDATE revision SET value = value + 1 WHERE id = 1")
                self.db.execute("COMMIT")
            except BaseException as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise
                if isinstance(exc, sqlite3.Error):
                    raise db_fault(exc) from None
                raise


def revision(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0])


def get_row(db: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    return row


def to_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def etag(row: sqlite3.Row) -> str:
    text = json.dumps(to_json(row), sort_keys=True)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def collection_etag(revision: int) -> str:
    return f'"users-r{revision}"'
