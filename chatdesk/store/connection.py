"""The store's connection: opening, closing, transactions and error translation."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import sqlite_utils

    from chatdesk.store.bulk import BulkWriter

from chatdesk.store import backups, errors, schema
from chatdesk.store.errors import DamagedError, DiskFullError, NotFoundError, StoreError

# Extra rounds of the busy timeout a write waits for the lock before it gives up.
BUSY_RETRIES = 1
# SQLite's page cache per connection (its default: 2,000 KiB). Reads go through the OS's
# own cache of the file anyway; imports raise it for their run (bulk.BULK_CACHE_KIB).
CACHE_KIB = 512


class StoreConnection:
    """One SQLite connection to a history file, with the write discipline every method uses."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        readonly: bool,
        backup_path: Path | None = None,
        refusal: StoreError | None = None,
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._changes_at_open = conn.total_changes
        with suppress(sqlite3.Error):
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._depth = 0
        self._db: sqlite_utils.Database | None = None  # noqa: F821 (imported lazily)
        self.path = path
        self.readonly = readonly or refusal is not None
        self.backup_path = backup_path  # the copy made before a migration, if one was
        # Why a file opened for writing is read-only after all (damaged, a full disk): what
        # every write says instead of saving.
        self.refusal = refusal

    @classmethod
    def open(cls, path: Path | str) -> Self:
        """Open for reading and writing, creating or migrating the file as needed.

        A damaged file, or one on a full disk, is opened read-only instead (`refusal` says
        why, and every write raises it); the daily check and backup happen here.
        """
        path = Path(path)
        try:
            conn, backup = schema.connect_writable(path)
        except (DamagedError, DiskFullError) as exc:
            return cls._read_only_because(path, exc)
        problem = backups.check_and_back_up(conn, path)
        if problem is not None:
            conn.close()
            return cls._read_only_because(path, errors.damaged(path, problem))
        return cls(conn, path, readonly=False, backup_path=backup)

    @classmethod
    def _read_only_because(cls, path: Path, refusal: StoreError) -> Self:
        try:
            conn = schema.connect_readonly(path)
        except StoreError:
            raise refusal from None  # not even readable: the first sentence is the one to say
        if isinstance(refusal, DamagedError):
            backups.suspect_marker(path).touch()
        return cls(conn, path, readonly=True, refusal=refusal)

    @classmethod
    def open_readonly(cls, path: Path | str) -> Self:
        """Open with SQLite `mode=ro`: nothing in or beside the file is changed."""
        path = Path(path)
        return cls(schema.connect_readonly(path), path, readonly=True)

    def close(self) -> None:
        if self._conn is None:
            return
        # Statistics can have changed only if this connection wrote: a session that only
        # read (the app opened and closed, a search) leaves the file as it was. (With the
        # bounded analysis, an optimize found the sampled counts "stale" at every close and
        # wrote them again: a write and a checkpoint on each start of the command line.)
        if not self.readonly and self._conn.total_changes > self._changes_at_open:
            with suppress(sqlite3.Error):
                # A bounded analysis: unbounded, it rescans a million-row table on every close.
                self._conn.execute("PRAGMA analysis_limit = 400")
                self._conn.execute("PRAGMA optimize")
        self._conn.close()
        self._conn = None
        self._db = None

    def interrupt(self) -> None:
        """Stop the query running on this connection now; it raises StoreError in its
        thread. The one method that may be called from another thread."""
        conn = self._conn
        if conn is not None:
            conn.interrupt()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.readonly else "read-write"
        return f"<{type(self).__name__} {self.path} {mode}{'' if self._conn else ' closed'}>"

    @property
    def db(self) -> sqlite_utils.Database:
        """A sqlite-utils view of the same connection, for tests and inspection."""
        import sqlite_utils  # only tools need it; the CLI's hot paths do not

        if self._db is None:
            self._db = sqlite_utils.Database(
                self._connection(), recursive_triggers=False, execute_plugins=False
            )
        return self._db

    # -- transactions and error handling -------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path.name} is already closed; open it again.")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Self]:
        """Batch writes into one transaction: committed at the end, rolled back on error."""
        with self._write():
            yield self

    @contextmanager
    def bulk_writer(self) -> Iterator[BulkWriter]:
        """A writer for imports: what it writes is kept when the `with` block ends, all of
        it, or none of it if the block raises (a cancel included). It commits in short
        transactions that readers do not see (see BulkWriter), unless it runs inside
        `transaction()`, which then holds all of it."""
        from chatdesk.store.bulk import bulk_session  # imports only: not on the CLI's path

        if self.readonly:
            raise errors.read_only(self.path.name)
        conn = self._connection()
        try:
            with bulk_session(conn, lambda: self._begin(conn), self._depth > 0,
                              self.path) as writer:
                yield writer
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=True) from exc

    def _translate(self, exc: sqlite3.Error, writing: bool) -> StoreError:
        """The sentence for `exc`; damage makes this connection read-only from then on and
        has the next opening check the whole file."""
        error = errors.translate(exc, self.path.name, writing=writing, path=self.path)
        if isinstance(error, DamagedError) and self.refusal is None:
            self.refusal, self.readonly = error, True
            with suppress(OSError):
                backups.suspect_marker(self.path).touch()
        return error

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.refusal is not None:
            raise type(self.refusal)(str(self.refusal))
        if self.readonly:
            raise errors.read_only(self.path.name)
        conn = self._connection()
        if self._depth:
            self._depth += 1
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self._translate(exc, writing=True) from exc
            finally:
                self._depth -= 1
            return
        self._begin(conn)
        self._depth = 1
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._translate(exc, writing=True) from exc
            raise
        finally:
            self._depth = 0

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE: it takes the write lock up front, so a busy file waits
        (busy_timeout) instead of failing with SQLITE_BUSY when a read would upgrade to a
        write. Nothing is written yet, so a wait that runs out is tried again
        (BUSY_RETRIES times) before the write fails with BusyError."""
        for retry in range(BUSY_RETRIES + 1):
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as exc:
                failure = self._translate(exc, writing=True)
                if not isinstance(failure, errors.BusyError) or retry == BUSY_RETRIES:
                    raise failure from exc

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc, writing=False) from exc

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _update(self, sql: str, params: Sequence[Any], missing: str) -> None:
        with self._write() as conn:
            if conn.execute(sql, params).rowcount == 0:
                raise NotFoundError(missing)


def insert_row(conn: sqlite3.Connection, table: str, row: Any,
               omit_if_none: tuple[str, ...] = ()) -> int:
    """INSERT a row dataclass (all fields but `id`, booleans as 0/1); returns the new id.
    `omit_if_none`: columns left to their default when None (newer columns, so the same
    code writes files of an older schema in the tests that make them)."""
    values = {k: int(v) if isinstance(v, bool) else v for k, v in asdict(row).items()
              if not (k in omit_if_none and v is None)}
    del values["id"]
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cur = conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))
    return int(cur.lastrowid or 0)
