"""The working database: the one DuckDB file a run's steps read and write (raw tables, dbt
models, scores, the audit trail) before publication."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.settings import duckdb_memory_limit
from pipelines.storage.failures import fail_at_once_if_permanent, permanent_failure


@contextmanager
def connect_work_db(work_db: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working database, closed on exit (dbt needs the file free).

    A run's many short steps each write a little (scores, check results). Their
    connections close without a checkpoint: what they wrote stays in the write-ahead log
    (durable at each commit, replayed by whoever opens the file next, checkpointed by
    DuckDB itself past 16 MiB and by dbt's build) instead of each close rewriting the
    database's metadata (0.2 s a step at M). The run ends with `checkpoint_work_db`.

    A full disk, a folder that is not writable or a corrupted working database, met at
    the opening or inside the block, fail the step at once with the way to recover
    (storage.failures); a lock held by another process stays retryable."""
    with fail_at_once_if_permanent(work_db):
        work_db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(
            str(work_db), read_only=read_only, config={"memory_limit": duckdb_memory_limit()}
        )
        try:
            if not read_only:
                con.execute("pragma disable_checkpoint_on_shutdown")
            yield con
        finally:
            con.close()


def checkpoint_work_db(work_db: Path) -> None:
    """Write what a run's steps left in the write-ahead log (`connect_work_db`) into the
    working database file, so that the file alone holds everything. Skipped when there is
    no file yet, or another process holds it (the log is durable; its next writer
    checkpoints). Any other error is raised (the runner reports it)."""
    if not work_db.exists():
        return
    try:
        con = duckdb.connect(str(work_db), config={"memory_limit": duckdb_memory_limit()})
    except duckdb.IOException as exc:
        if permanent_failure(exc, work_db) is None:
            return  # held by another process
        raise
    try:
        con.execute("checkpoint")
    finally:
        con.close()
