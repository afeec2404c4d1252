"""One run at a time per warehouse: an OS advisory lock held by the whole run.

The lock is `flock` on `<warehouse dir>/.work/<warehouse stem>.run.lock`. The kernel releases
it when the holder's process ends in any way (a crash, kill -9), so a dead run never blocks
the next one. The holder writes its pid, host, run id and start time into the file, for the
message that refuses a second run, and empties it when it lets go: content found by a run
that got the lock is a holder that died, and is taken over with a log line. On a network
folder whose locks one host does not see from another, a record from another host younger
than STALE_AFTER refuses the run as well (that run may still be going); an older one is
recovered.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

# A run holding the lock on another host for longer than this is taken for dead: many
# times the longest benchmarked run (the README's benchmark table).
STALE_AFTER = timedelta(hours=12)
# How often a run that waits for the lock tries again.
POLL_SECONDS = 5.0


def run_lock_path(warehouse: Path) -> Path:
    """The run lock file of a published warehouse file."""
    return warehouse.parent / ".work" / f"{warehouse.stem}.run.lock"


class RunInProgress(Exception):
    """Another run holds the warehouse's run lock; `holder` is what it wrote in the file."""

    def __init__(self, holder: dict) -> None:
        self.holder = holder
        super().__init__(
            f"another run is in progress since {holder.get('started_at', 'an unknown time')} "
            f"(pid {holder.get('pid', 'unknown')} on {holder.get('host', 'an unknown host')}, "
            f"run {holder.get('run_id', 'unknown')}); this run was refused: start it again "
            "once that one has finished"
        )


def _read(fd: int) -> dict:
    try:
        holder = json.loads(os.pread(fd, 65536, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _may_still_run_elsewhere(holder: dict, now: datetime) -> bool:
    """A record left by a run on another host, recent enough that it may still be going."""
    if not holder or holder.get("host") == socket.gethostname():
        return False  # on this host the kernel's lock is the truth: its holder is gone
    try:
        started = datetime.fromisoformat(str(holder.get("started_at")))
    except ValueError:
        return False
    return now - started < STALE_AFTER


# Lock files this process holds, and the run holding each: a run started inside another
# (the Dagster run of a `crm-pipeline run`) goes on under its lock.
_HELD: dict[Path, str] = {}


@contextmanager
def run_lock(path: Path, run_id: str, wait: timedelta = timedelta(0)) -> Iterator[None]:
    """Hold the run lock at `path` for the block. When another run holds it: RunInProgress,
    at once or, with `wait`, once it has held it that much longer (checked every few
    seconds). Held by this process already: the block runs under that hold. OSError when
    the lock file cannot be created (a read-only folder, ...)."""
    key = path.resolve()
    if key in _HELD:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = datetime.now() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if datetime.now() >= deadline:
                    raise RunInProgress(_read(fd)) from None
                time.sleep(POLL_SECONDS)
        now = datetime.now()
        previous = _read(fd)
        if _may_still_run_elsewhere(previous, now):
            raise RunInProgress(previous)
        if previous:
            log.warning(
                "recovered the run lock %s left by run %s (pid %s on %s, since %s), which "
                "ended without releasing it",
                path,
                previous.get("run_id"),
                previous.get("pid"),
                previous.get("host"),
                previous.get("started_at"),
            )
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_id": run_id,
            "started_at": now.isoformat(timespec="seconds"),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        except OSError as exc:  # a full disk: the kernel's lock holds all the same
            log.warning("could not write the run lock's holder into %s: %s", path, exc)
        _HELD[key] = run_id
        try:
            yield
        finally:
            del _HELD[key]
            try:
                os.ftruncate(fd, 0)  # let go cleanly: the next run finds no holder to recover
            except OSError as exc:
                log.warning("could not clear the run lock %s: %s", path, exc)
    finally:
        os.close(fd)  # releases the kernel's lock
