"""Failures of the machine that no retry mends, and the message that says how to recover.

The job retries a failed step (definitions.py), which helps when another process holds the
working database's lock, not when the disk is full, a folder is read-only or the working
database is corrupted: those fail the step at once (`dg.Failure(allow_retries=False)`) with
what to do. Steps open the working database through `CrmResource.connect`, which applies
`fail_at_once_if_permanent`; the publication and the runner's closing steps apply it too.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

_TRANSIENT = ("conflicting lock is held", "could not set lock")
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DISK_FULL = ("no space left on device", "disk quota exceeded", "file too large")
_NOT_WRITABLE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}
_NOT_WRITABLE = ("permission denied", "read-only file system", "operation not permitted")
_CORRUPT = (
    "not a valid duckdb database",
    "corrupt database file",
    "could not read enough bytes",
    "does not match stored checksum",
    "database has been invalidated",
)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def permanent_message(
    text: str, work_db: Path, *, code: int | None = None, filename: str | None = None
) -> str | None:
    """The message of a failure that a retry cannot mend (a full disk, a folder that is not
    writable, a corrupted or truncated working database), from an error's text (and errno
    and file name, for an OSError), naming the way to recover; None for the others, such as
    a lock that another process holds on the working database."""
    detail = _first_line(text)
    lowered = text.lower()
    if any(mark in lowered for mark in _TRANSIENT):
        return None
    if code in _DISK_FULL_ERRNOS or any(mark in lowered for mark in _DISK_FULL):
        return (
            f"the disk is full ({detail}): free space on the disk of {work_db.parent.parent} "
            "(or raise the quota) and run again; nothing was published, the working "
            "database is kept"
        )
    if code in _NOT_WRITABLE_ERRNOS or any(mark in lowered for mark in _NOT_WRITABLE):
        folder = Path(filename).parent if filename else work_db.parent
        return (
            f"a folder is not writable ({detail}): give the pipeline's user write permission "
            f"on {folder} (and on {work_db.parent}, the working folder) and run again"
        )
    if any(mark in lowered for mark in _CORRUPT):
        return (
            f"the working database {work_db} is corrupted or truncated ({detail}): remove it "
            f"(and {work_db.name}.wal beside it, if any) and run again; the next run rebuilds "
            "it from the landing folder, since every landed file is loaded again, and the "
            "dates published before stay in the warehouse"
        )
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it was raised from or while handling, newest first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def permanent_failure(exc: BaseException, work_db: Path) -> str | None:
    """`permanent_message` of a duckdb or OS error, or of the one it was raised while
    handling (a `rollback` that fails after a commit met a full disk hides the disk's
    error); None when none of them is permanent."""
    for error in _chain(exc):
        message = None
        if isinstance(error, OSError):
            text = f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
            message = permanent_message(text, work_db, code=error.errno, filename=error.filename)
        elif isinstance(error, duckdb.Error):
            message = permanent_message(str(error), work_db)
        if message:
            return message
    return None


@contextmanager
def fail_at_once_if_permanent(work_db: Path) -> Iterator[None]:
    """Turn a permanent duckdb or OS error raised in the block into
    `dg.Failure(<how to recover>, allow_retries=False)`; other errors pass unchanged."""
    try:
        yield
    except (duckdb.Error, OSError) as exc:
        message = permanent_failure(exc, work_db)
        if message is None:
            raise
        raise dg.Failure(message, allow_retries=False) from exc
