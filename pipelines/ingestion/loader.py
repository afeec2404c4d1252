"""Load landed extract files into typed raw tables, exactly once, with row-level quarantine.

Plain functions (no Dagster): `ingest()` finds every file dated on or before the as-of date
whose content is new or changed (by sha256, against the delivery manifest), checks it
against the contract, and in one transaction writes the accepted rows to `raw.<extract>`,
the bad rows to `raw.rejected_rows` and one manifest row per delivery. A file-level problem
(unreadable, missing column, no data) raises `FileRejected` before anything is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingestion.contract import DUCKDB_TYPES, EXTRACTS, Column, Extract

META_COLUMNS = {
    "_file_name": "VARCHAR",
    "_line_number": "INTEGER",
    "_business_date": "DATE",
    "_file_sha256": "VARCHAR",
    "_run_id": "VARCHAR",
}
_PATTERNS = {
    "int": r"^-?\d+$",
    "amount": r"^-?\d+(\.\d{1,2})?$",
    "quantity": r"^-?\d+(\.\d{1,3})?$",
    "period": r"^\d{4}-(0[1-9]|1[0-2])$",
}
_TYPE_WORDS = {
    "int": "a whole number",
    "amount": "an amount with at most 2 decimals",
    "quantity": "a number with at most 3 decimals",
    "period": "a month as YYYY-MM",
    "date": "a date as YYYY-MM-DD",
}


class FileRejected(Exception):
    """A whole file is refused: nothing from it (or from this run) is loaded."""


@dataclass(frozen=True)
class LandedFile:
    extract: str
    path: Path
    business_date: date
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.extract}/{self.path.name}"


@dataclass
class IngestReport:
    """What one ingestion did, per extract: files loaded, rows accepted and rejected."""

    files: list[dict] = field(default_factory=list)
    skipped_unchanged: int = 0
    missing_optional: list[str] = field(default_factory=list)

    def totals(self, extract: str) -> tuple[int, int]:
        rows = [f for f in self.files if f["extract"] == extract]
        return sum(f["accepted_rows"] for f in rows), sum(f["rejected_rows"] for f in rows)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(landing_dir: Path, as_of: date) -> list[LandedFile]:
    """Every contract file under `landing_dir` whose business date is on or before `as_of`."""
    found = []
    for extract in EXTRACTS.values():
        folder = landing_dir / extract.name
        if not folder.is_dir():
            continue
        pattern = extract.file_pattern()
        for path in sorted(folder.iterdir()):
            match = pattern.match(path.name)
            if not match:
                continue
            try:
                business_date = datetime.strptime(match.group(1), "%Y%m%d").date()
            except ValueError as exc:
                raise FileRejected(
                    f"{extract.name}/{path.name}: the date in the file name is not a valid "
                    f"YYYYMMDD date; rename it to {extract.name}_YYYYMMDD.csv"
                ) from exc
            if business_date <= as_of:
                found.append(LandedFile(extract.name, path, business_date, sha256_of(path)))
    return found


def decode(raw: bytes, file_name: str) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM) or GB18030/GBK; returns (text, encoding)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileRejected(
        f"{file_name}: not readable as UTF-8 or GB18030; re-export it in one of those"
    )


def read_file(landed: LandedFile, extract: Extract) -> pl.DataFrame:
    """Read one file as strings with its line numbers; refuse it if the header is wrong."""
    text, _ = decode(landed.path.read_bytes(), landed.file_name)
    if not text.strip():
        raise FileRejected(
            f"{landed.file_name}: the file is empty (not even a header line); "
            "deliver it again with a header"
        )
    try:
        frame = pl.read_csv(text.encode("utf-8"), infer_schema=False, truncate_ragged_lines=True)
    except Exception as exc:  # polars names the parse problem
        raise FileRejected(f"{landed.file_name}: cannot be parsed as CSV ({exc})") from exc
    header = [c.strip().lower() for c in frame.columns]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise FileRejected(
            f"{landed.file_name}: column(s) {', '.join(duplicated)} appear more than "
            "once in the header; keep one of each"
        )
    missing = [c for c in extract.column_names if c not in header]
    if missing:
        raise FileRejected(
            f"{landed.file_name}: required column(s) {', '.join(missing)} missing from the header "
            f"(found: {', '.join(header)}); add them or map the ERP's names to the contract's"
        )
    frame.columns = header
    return frame.select(
        [pl.col(c).str.strip_chars().replace("", None).alias(c) for c in extract.column_names]
    ).with_columns(
        _file_name=pl.lit(landed.file_name),
        _line_number=pl.int_range(2, pl.len() + 2, dtype=pl.Int32),
        _business_date=pl.lit(landed.business_date),
        _file_sha256=pl.lit(landed.sha256),
    )


def _column_checks(column: Column) -> list[tuple[pl.Expr, str]]:
    """(is_bad, reason) pairs for one column; values are still strings here."""
    value = pl.col(column.name)
    checks: list[tuple[pl.Expr, str]] = []
    if column.required:
        checks.append((value.is_null(), "missing value"))
    if column.type == "date":
        parsed = value.str.to_date("%Y-%m-%d", strict=False)
        checks.append((value.is_not_null() & parsed.is_null(), f"not {_TYPE_WORDS['date']}"))
    elif column.type in _PATTERNS:
        checks.append(
            (
                value.is_not_null() & ~value.str.contains(_PATTERNS[column.type]),
                f"not {_TYPE_WORDS[column.type]}",
            )
        )
        number = value.cast(pl.Float64, strict=False)
        if column.min_value is not None:
            checks.append((number < column.min_value, f"below the minimum {column.min_value:g}"))
        if column.max_value is not None:
            checks.append((number > column.max_value, f"above the maximum {column.max_value:g}"))
    if column.domain is not None:
        checks.append(
            (
                value.is_not_null() & ~value.is_in(list(column.domain)),
                f"code not in ({', '.join(column.domain)})",
            )
        )
    return checks


def _row_checks(extract: Extract) -> list[tuple[pl.Expr, str, str]]:
    """(is_bad, column, reason) for every rule of the extract's contract."""
    checks = [(bad, c.name, reason) for c in extract.columns for bad, reason in _column_checks(c)]
    for column, (discriminator, values) in extract.conditional_required.items():
        checks.append(
            (
                pl.col(discriminator).is_in(list(values)) & pl.col(column).is_null(),
                column,
                f"missing value (required when {discriminator} is {' or '.join(values)})",
            )
        )
    if extract.date_column:
        day = pl.col(extract.date_column).str.to_date("%Y-%m-%d", strict=False)
        checks.append(
            (
                day.is_not_null() & (day != pl.col("_business_date")),
                extract.date_column,
                "date differs from the business date in the file name",
            )
        )
    if extract.name == "sales":
        qty, price, disc, net = (
            pl.col(c).cast(pl.Float64, strict=False)
            for c in ("quantity", "unit_price", "discount_amount", "net_amount")
        )
        checks.append(
            (
                ((qty * price - disc) - net).abs() > 0.01 + 1e-9,
                "net_amount",
                "net_amount differs from quantity x unit_price - discount_amount by more than 0.01",
            )
        )
    if extract.name == "targets":
        checks.append(
            (
                pl.col("customer_id").is_null() == pl.col("region").is_null(),
                "customer_id",
                "needs exactly one of customer_id or region",
            )
        )
    first_seen = pl.col("_line_number").min().over(["_file_name", *extract.key])
    checks.append(
        (
            pl.col("_line_number") != first_seen,
            ",".join(extract.key),
            "duplicate key (an earlier line of the file has the same key)",
        )
    )
    return checks


def validate(frame: pl.DataFrame, extract: Extract) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split string rows into (accepted, problems); problems has one row per rule broken."""
    checks = _row_checks(extract)
    flagged = frame.with_columns(
        [bad.fill_null(False).alias(f"_bad_{i}") for i, (bad, _, _) in enumerate(checks)]
    )
    problems = pl.concat(
        [
            flagged.filter(pl.col(f"_bad_{i}")).select(
                pl.lit(extract.name).alias("extract"),
                pl.col("_file_name").alias("file_name"),
                pl.col("_line_number").alias("line_number"),
                pl.lit(column).alias("column_name"),
                pl.lit(reason).alias("reason"),
                pl.col("_business_date").alias("business_date"),
                pl.col("_file_sha256").alias("file_sha256"),
            )
            for i, (_, column, reason) in enumerate(checks)
        ]
    )
    bad_any = pl.any_horizontal([f"_bad_{i}" for i in range(len(checks))])
    accepted = flagged.filter(~bad_any).select(frame.columns)
    return accepted, problems


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables, the manifest and the rejected-rows table if absent."""
    con.execute("create schema if not exists raw")
    meta = ", ".join(f"{name} {typ}" for name, typ in META_COLUMNS.items())
    for extract in EXTRACTS.values():
        cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.type]}" for c in extract.columns)
        con.execute(f"create table if not exists raw.{extract.name} ({cols}, {meta})")
    con.execute("""
        create table if not exists raw.delivery_manifest (
            extract varchar, file_name varchar, business_date date, file_sha256 varchar,
            rows_in_file integer, accepted_rows integer, rejected_rows integer,
            run_id varchar, loaded_at timestamp, is_current boolean
        )""")
    con.execute("""
        create table if not exists raw.rejected_rows (
            extract varchar, file_name varchar, line_number integer, column_name varchar,
            reason varchar, business_date date, file_sha256 varchar, run_id varchar
        )""")


def _current_manifest(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "select file_name, file_sha256 from raw.delivery_manifest where is_current"
    ).fetchall()
    return dict(rows)


def ingest(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, as_of: date, run_id: str
) -> IngestReport:
    """Load every new or changed file dated on or before `as_of` (see module docstring)."""
    ensure_schema(con)
    report = IngestReport()
    landed = discover(landing_dir, as_of)
    present = {f.extract for f in landed}
    for extract in EXTRACTS.values():
        if extract.name in present:
            continue
        if extract.optional:
            report.missing_optional.append(extract.name)
        elif not con.execute(f"select count(*) from raw.{extract.name}").fetchone()[0]:
            raise FileRejected(
                f"no {extract.name} extract has landed on or before {as_of}: expected files "
                f"{landing_dir / extract.name}/{extract.name}_YYYYMMDD.csv"
            )
    known = _current_manifest(con)
    todo = [f for f in landed if known.get(f.file_name) != f.sha256]
    report.skipped_unchanged = len(landed) - len(todo)

    staged: list[tuple[Extract, list[LandedFile], pl.DataFrame, pl.DataFrame]] = []
    for extract in EXTRACTS.values():
        files = [f for f in todo if f.extract == extract.name]
        if not files:
            continue
        frames = [read_file(f, extract) for f in files]
        for f, frame in zip(files, frames, strict=True):
            if frame.is_empty() and not extract.optional:
                raise FileRejected(
                    f"{f.file_name}: has a header but no rows; an {extract.kind} "
                    f"of {extract.name} must carry rows"
                )
        accepted, problems = validate(pl.concat(frames), extract)
        staged.append((extract, files, accepted, problems))
        rejected_lines = problems.group_by("file_name").agg(pl.col("line_number").n_unique())
        rejected_by_file = dict(rejected_lines.iter_rows())
        for f, frame in zip(files, frames, strict=True):
            rejected = rejected_by_file.get(f.file_name, 0)
            report.files.append(
                {
                    "extract": extract.name,
                    "file_name": f.file_name,
                    "business_date": f.business_date,
                    "file_sha256": f.sha256,
                    "rows_in_file": frame.height,
                    "accepted_rows": frame.height - rejected,
                    "rejected_rows": rejected,
                }
            )

    loaded_at = datetime.now()
    con.execute("begin transaction")
    try:
        for extract, files, accepted, problems in staged:
            names = [f.file_name for f in files]
            con.execute(f"delete from raw.{extract.name} where _file_name in ?", [names])
            con.execute("delete from raw.rejected_rows where file_name in ?", [names])
            casts = ", ".join(f"cast({c.name} as {DUCKDB_TYPES[c.type]})" for c in extract.columns)
            con.register("batch", accepted.with_columns(_run_id=pl.lit(run_id)).to_arrow())
            con.execute(
                f"insert into raw.{extract.name} select {casts}, _file_name, _line_number, "
                "_business_date, _file_sha256, _run_id from batch"
            )
            con.register("rejected", problems.with_columns(run_id=pl.lit(run_id)).to_arrow())
            con.execute("insert into raw.rejected_rows select * from rejected")
        if report.files:
            manifest = pl.DataFrame(report.files).with_columns(
                run_id=pl.lit(run_id), loaded_at=pl.lit(loaded_at), is_current=pl.lit(True)
            )
            con.register("manifest", manifest.to_arrow())
            con.execute(
                "update raw.delivery_manifest set is_current = false where file_name in "
                "(select file_name from manifest)"
            )
            con.execute(
                "insert into raw.delivery_manifest select extract, file_name, business_date, "
                "file_sha256, rows_in_file, accepted_rows, rejected_rows, run_id, loaded_at, "
                "is_current from manifest"
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        for view in ("batch", "rejected", "manifest"):
            con.unregister(view)
    return report
