"""Load landed extract files into typed raw tables, exactly once, with row-level quarantine.

Plain functions (no Dagster). `ingest()`:

1. finds every contract file dated on or before the as-of date whose content is new or
   changed (ingestion.landing): a file whose size and modification time match its current
   manifest row is not read at all; any other is hashed (sha256) and compared with the
   manifest. Every other entry of the landing folder is named with why it is not loaded (or
   refuses the run);
2. reads each such file (ingestion.reading: UTF-8 with or without BOM, or GB18030/GBK,
   detected per file; ERP headers mapped to contract columns) and checks it against the
   contract (ingestion.rules). A file-level problem (unreadable, missing or duplicated
   column, no rows where rows are required, every row dated on another day than the file
   name, too large a share of bad rows) raises `FileRejected` before anything is written;
3. in one transaction (ingestion.raw_store), replaces the rows of each re-delivered file (a
   correction), appends the accepted rows to `raw.<extract>`, the bad rows to
   `raw.rejected_rows` (one row per broken rule, with file, line, column and reason) and
   one manifest row per delivery; then quarantines the rows whose key or document reference
   breaks the contract against everything delivered so far.

`check_landing()` is the dry run of `ingest()`: the same function on a scratch copy of the
working database, which is thrown away; the working database is only read.

Messages name files, lines, columns and rules, never a delivered value.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contract import EXTRACTS, Extract
from pipelines.defs.ingestion import raw_store, rules
from pipelines.defs.ingestion.landing import (
    LandedFile,
    discover,
    expected_name,
    first_landed,
    landing_problem,
)
from pipelines.defs.ingestion.options import FileRejected, IngestOptions
from pipelines.defs.ingestion.pii import with_pii_keys
from pipelines.defs.ingestion.reading import read_in_chunks


@dataclass
class IngestReport:
    """What one ingestion did, per extract: files loaded, rows accepted and rejected."""

    files: list[dict] = field(default_factory=list)
    skipped_unchanged: int = 0
    missing_optional: list[str] = field(default_factory=list)
    # (file name, why) of every entry of an extract folder that is not a delivery
    unrecognised: list[tuple[str, str]] = field(default_factory=list)

    def totals(self, extract: str) -> tuple[int, int]:
        rows = [f for f in self.files if f["extract"] == extract]
        return sum(f["accepted_rows"] for f in rows), sum(f["rejected_rows"] for f in rows)


def ingest(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    as_of: date,
    run_id: str,
    options: IngestOptions | None = None,
    leave_out: Collection[str] = (),
) -> IngestReport:
    """Load every new or changed file dated on or before `as_of` (see module docstring).
    The files named in `leave_out` (extract/file) are treated as not landed: `check_landing`
    checks the other files of a folder in which a refused file would stop the load."""
    options = options or IngestOptions()
    raw_store.ensure_schema(con)
    report = IngestReport()
    known_files = raw_store.current_manifest(con)
    if problem := landing_problem(landing_dir):
        raise FileRejected(problem)
    landed, report.unrecognised = discover(landing_dir, as_of, known_files, leave_out)
    if report.unrecognised and options.unrecognised_files == "refuse":
        listed = "; ".join(f"{name}: {why}" for name, why in report.unrecognised)
        raise FileRejected(
            f"{len(report.unrecognised)} entr(ies) of the extract folders are not deliveries "
            f"({listed}); rename or remove them (ingestion.unrecognised_files is 'refuse')"
        )
    present = {f.extract for f in landed}
    for extract in EXTRACTS.values():
        if extract.name in present:
            continue
        if extract.optional:
            report.missing_optional.append(extract.name)
        elif not raw_store.has_rows_up_to(con, extract, as_of):
            first = first_landed(landing_dir, extract.name)
            advice = (
                f"the first has business date {first}: run for that date or later"
                if first
                else f"expected files {landing_dir / extract.name / expected_name(extract.name)}"
            )
            raise FileRejected(
                f"no {extract.name} extract has landed on or before {as_of}; {advice}"
            )
    todo = [f for f in landed if known_files.get(f.file_name, ("",))[0] != f.sha256]
    again = rules.waiting_for_references(con, as_of, options)
    todo = [f for f in landed if f in todo or f.file_name in again]  # in date order
    report.skipped_unchanged = len(landed) - len(todo)
    replaced = {
        e: [f.file_name for f in todo if f.extract == e and f.file_name in known_files]
        for e in EXTRACTS
    }
    known = raw_store.known_ids(con, replaced)

    loaded_at = raw_store.next_loaded_at(con)
    con.execute("begin transaction")  # all of a run's files, or none
    try:
        for extract in EXTRACTS.values():  # master data first: later extracts refer to it
            files = [f for f in todo if f.extract == extract.name]
            if not files:
                continue
            raw_store.remove_files(con, extract, [f.file_name for f in files])
            for chunk_files, frames in read_in_chunks(files, extract, options):
                _load_chunk(con, extract, chunk_files, frames, known, report, options, run_id)
            rules.quarantine_against_delivered(con, extract, report.files, options, run_id)
        raw_store.record_manifest(con, report.files, run_id, loaded_at)
        raw_store.record_unrecognised(con, report.unrecognised, run_id, loaded_at)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return report


def _load_chunk(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    files: list[LandedFile],
    frames: list[pl.DataFrame],
    known: dict[str, set[str]],
    report: IngestReport,
    options: IngestOptions,
    run_id: str,
) -> None:
    """Validate one group of files and append what passed (and the problems) inside the
    run's open transaction; raises FileRejected for a file the contract refuses whole.
    Keys repeated across groups or runs are quarantined once the extract's groups are all
    written (rules.quarantine_against_delivered)."""
    batch = pl.concat(frames)
    accepted, problems = rules.validate(batch, extract, known, options)
    rules.reject_whole_files(extract, files, frames, problems, options)
    if extract.name in known:
        known[extract.name] |= set(accepted[extract.key[0]].to_list())
    accepted = with_pii_keys(accepted, extract.name, options.pii_key)
    raw_store.append_chunk(con, extract, accepted, problems, run_id)
    rejected_by_file = dict(
        problems.group_by("file_name").agg(pl.col("line_number").n_unique()).iter_rows()
    )
    for f, frame in zip(files, frames, strict=True):
        rejected = rejected_by_file.get(f.file_name, 0)
        report.files.append(
            {
                "extract": extract.name,
                "file_name": f.file_name,
                "business_date": f.business_date,
                "file_sha256": f.sha256,
                "file_size": f.size,
                "file_mtime_ns": f.mtime_ns,
                "rows_in_file": frame.height,
                "accepted_rows": frame.height - rejected,
                "rejected_rows": rejected,
            }
        )


class WorkingDatabaseInUse(Exception):
    """Another process has the working database open for writing (a run in progress): DuckDB
    lets no other process read the file meanwhile, and a copy taken while it is being written
    could be torn."""


@dataclass
class CheckReport:
    """What loading the landing folder would do, found by `check_landing`."""

    # deliveries the working database holds (0: nothing loaded yet, every file is checked)
    loaded_before: int
    # (file name, or None when the run as a whole is refused, message), in the order met
    refused: list[tuple[str | None, str]] = field(default_factory=list)
    # what ingest() did with the files that are not refused; None when the run is refused
    ingested: IngestReport | None = None
    # one row per file, column and reason: extract, file_name, column_name, reason, rows
    # (lines quarantined for it) and first_lines (the first few of them, in order)
    quarantined: pl.DataFrame = field(default_factory=pl.DataFrame)
    # unchanged files read again, because documents in them wait for the ones they reference
    read_again: set[str] = field(default_factory=set)

    @property
    def clean(self) -> bool:
        """Every file would load whole: nothing refused, no row quarantined."""
        return not self.refused and self.quarantined.is_empty()


def check_landing(
    work_db: Path,
    landing_dir: Path,
    as_of: date,
    options: IngestOptions | None = None,
    connect_config: dict | None = None,
    first_lines: int = 5,
) -> CheckReport:
    """What `ingest` would do with every new or changed file of `landing_dir` dated on or
    before `as_of`, without loading anything.

    `ingest` itself runs, with the same options, on a scratch copy of `work_db` (an empty
    database when there is none yet) in a temporary folder that is deleted afterwards: the
    same rules, the same manifest of what was loaded before, the same references to earlier
    deliveries. `work_db` is never opened for writing; it is read under DuckDB's read-only
    lock, so that no writer changes it while it is copied. WorkingDatabaseInUse when another
    process has it open for writing.

    A refused file stops a real load whole. Here it is recorded and `ingest` runs again as
    if it had not landed, so that one check names every refused file and what the other
    files would quarantine.
    """
    run_id = f"check-{uuid.uuid4()}"
    with tempfile.TemporaryDirectory(prefix="crm-check-") as scratch_dir:
        scratch = Path(scratch_dir) / work_db.name
        if work_db.exists():
            _copy_working_database(work_db, scratch)
        con = duckdb.connect(str(scratch), config=connect_config or {})
        try:
            raw_store.ensure_schema(con)
            before = raw_store.current_manifest(con)
            report = CheckReport(loaded_before=len(before))
            leave_out: set[str] = set()
            while True:
                try:
                    report.ingested = ingest(con, landing_dir, as_of, run_id, options, leave_out)
                    break
                except FileRejected as exc:  # ingest rolled back: the copy is as it was
                    report.refused.append((exc.file_name, str(exc)))
                    if exc.file_name is None or exc.file_name in leave_out:
                        break
                    leave_out.add(exc.file_name)
            rejected = con.execute(
                "select extract, file_name, line_number, column_name, reason "
                "from raw.rejected_rows where run_id = ?",
                [run_id],
            ).pl()
        finally:
            con.close()
    report.quarantined = (
        rejected.group_by("extract", "file_name", "column_name", "reason")
        .agg(
            rows=pl.col("line_number").n_unique(),
            first_lines=pl.col("line_number").unique().sort().head(first_lines),
            first=pl.col("line_number").min(),
        )
        .sort("file_name", "first", "column_name", "reason")
        .drop("first")
    )
    if report.ingested:
        report.read_again = {
            f["file_name"]
            for f in report.ingested.files
            if before.get(f["file_name"], ("",))[0] == f["file_sha256"]
        }
    return report


def _copy_working_database(work_db: Path, scratch: Path) -> None:
    """Copy the working database and its write-ahead log (what the last steps wrote) to
    `scratch`, holding a read-only connection meanwhile: DuckDB's lock keeps every writer out
    until both are copied. A writer that tries to open the file then fails as it does while
    any other process holds it, and its step is retried."""
    try:
        reader = duckdb.connect(str(work_db), read_only=True)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        holder = re.search(r"\(PID [0-9]+\)", str(exc))
        raise WorkingDatabaseInUse(
            f"the working database {work_db} is open for writing by another process"
            f"{' ' + holder.group(0) if holder else ''}, most likely a run in progress: DuckDB "
            "lets no other process read it until that process closes it, and a copy taken "
            "while it is being written could be torn; check again when the run has finished"
        ) from exc
    try:
        shutil.copyfile(work_db, scratch)
        wal = work_db.with_name(f"{work_db.name}.wal")
        if wal.exists():
            shutil.copyfile(wal, scratch.with_name(f"{scratch.name}.wal"))
    finally:
        reader.close()
