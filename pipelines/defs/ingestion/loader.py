"""Load landed extract files into typed raw tables, exactly once, with row-level quarantine.

Plain functions (no Dagster). `ingest()`:

1. finds every contract file dated on or before the as-of date whose content is new or
   changed: a file whose size and modification time match its current manifest row is not
   read at all; any other is hashed (sha256) and compared with the manifest. Every other
   entry of the landing folder is named with why it is not loaded (or refuses the run);
2. reads each such file (UTF-8 with or without BOM, or GB18030/GBK, detected per file; ERP
   headers mapped to contract columns) and checks it against the contract. A file-level
   problem (unreadable, missing or duplicated column, no rows where rows are required, every
   row dated on another day than the file name, too large a share of bad rows) raises
   `FileRejected` before anything is written;
3. in one transaction, replaces the rows of each re-delivered file (a correction), appends
   the accepted rows to `raw.<extract>`, the bad rows to `raw.rejected_rows` (one row per
   broken rule, with file, line, column and reason) and one manifest row per delivery;
   then quarantines the rows whose key or AR reference breaks the contract against
   everything delivered so far.

`check_landing()` is the dry run of `ingest()`: the same function on a scratch copy of the
working database, which is thrown away; the working database is only read.

Messages name files, lines, columns and rules, never a delivered value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.defs.ingestion.contract import (
    DISTRIBUTION_CENTRE,
    DUCKDB_TYPES,
    EXTRACTS,
    Column,
    Extract,
)
from pipelines.defs.ingestion.pii import KEYED_PII, with_pii_keys

META_COLUMNS = {
    "_file_name": "VARCHAR",
    "_line_number": "INTEGER",
    "_business_date": "DATE",
    "_file_sha256": "VARCHAR",
    "_run_id": "VARCHAR",
}
# ASCII digits only: `\d` would also match full-width and Arabic-Indic digits, which the
# storage types cannot hold
_PATTERNS = {
    "int": r"^-?[0-9]+$",
    "amount": r"^-?[0-9]+(\.[0-9]{1,2})?$",
    "quantity": r"^-?[0-9]+(\.[0-9]{1,3})?$",
    "period": r"^[0-9]{4}-(0[1-9]|1[0-2])$",
}
# What the storage types (contract.DUCKDB_TYPES) hold beyond the pattern: INTEGER's range,
# and the digits before the point of DECIMAL(18,2) and DECIMAL(18,3)
_INT32 = (-(2**31), 2**31 - 1)
_INTEGER_DIGITS = {"amount": 16, "quantity": 15}
_TYPE_WORDS = {
    "int": "a whole number",
    "amount": "an amount with at most 2 decimals",
    "quantity": "a number with at most 3 decimals",
    "period": "a month as YYYY-MM",
    "date": "a date as YYYY-MM-DD",
}
WHOLE_LINE = "*"  # column_name of a problem with the line itself


class FileRejected(Exception):
    """A whole file is refused: nothing from it (or from this run) is loaded. `file_name`
    (extract/file) names the file refused; None when the refusal is the run's own (a landing
    folder that is missing or empty, an extract that has not landed, misnamed entries)."""

    def __init__(self, message: str, file_name: str | None = None) -> None:
        super().__init__(message)
        self.file_name = file_name


@dataclass(frozen=True)
class IngestOptions:
    """How tolerant ingestion is, and how ERP headers map to the contract."""

    header_map: dict[str, dict[str, str]] = field(default_factory=dict)
    max_rejected_share: float = 0.20
    min_rows_for_share: int = 20
    # rows validated and written at a time (a first load of years of files is never held whole)
    chunk_rows: int = 1_000_000
    # secret of the PII join keys (ingestion.pii); None leaves the keys empty
    pii_key: bytes | None = None
    # plausible dates: none before `earliest_date`, none more than this many days after the
    # business date of the file (a due date of 9999-12-31, an onboarding in year 1)
    earliest_date: date = date(1950, 1, 1)
    max_days_after_business_date: int = 1830
    # days a payments file whose documents reference one not delivered yet is read again
    reference_wait_days: int = 7
    # an entry of an extract folder that is not <extract>_YYYYMMDD.csv: "warn" or "refuse"
    unrecognised_files: str = "warn"


@dataclass(frozen=True)
class LandedFile:
    extract: str
    path: Path
    business_date: date
    sha256: str
    size: int
    mtime_ns: int

    @property
    def file_name(self) -> str:
        return f"{self.extract}/{self.path.name}"


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _business_date(extract: Extract, path: Path) -> date | None:
    match = extract.file_pattern().match(path.name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError as exc:
        raise FileRejected(
            f"{extract.name}/{path.name}: the date in the file name is not a valid YYYYMMDD "
            f"date; rename it to {extract.name}_YYYYMMDD.csv with the business date it covers",
            f"{extract.name}/{path.name}",
        ) from exc


def discover(
    landing_dir: Path,
    as_of: date,
    known: dict[str, tuple[str, int, int]] | None = None,
    leave_out: Collection[str] = (),
) -> tuple[list[LandedFile], list[tuple[str, str]]]:
    """(landed, unrecognised): every contract file under `landing_dir` dated on or before
    `as_of`, and every other entry of an extract folder with why it is not loaded.

    `known` maps file names to the (sha256, size, mtime_ns) of their current manifest row: a
    file with the same size and modification time keeps that hash without being read. The
    file names in `leave_out` (extract/file) are passed over as if they had not landed.
    """
    known = known or {}
    found, unrecognised = [], []
    if landing_dir.is_dir():
        for path in sorted(landing_dir.iterdir()):
            if path.name not in EXTRACTS:
                unrecognised.append(
                    (
                        path.name,
                        "not an extract folder, so not read (the folders are "
                        f"{', '.join(EXTRACTS)})",
                    )
                )
    for extract in EXTRACTS.values():
        folder = landing_dir / extract.name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if f"{extract.name}/{path.name}" in leave_out:
                continue
            business_date = _business_date(extract, path)
            if business_date is None or not path.is_file():
                unrecognised.append((f"{extract.name}/{path.name}", _why_not_loaded(extract, path)))
                continue
            if business_date > as_of:
                continue
            stat = path.stat()
            previous = known.get(f"{extract.name}/{path.name}")
            if previous and previous[1:] == (stat.st_size, stat.st_mtime_ns):
                digest = previous[0]
            else:
                digest = sha256_of(path)
            found.append(
                LandedFile(
                    extract.name, path, business_date, digest, stat.st_size, stat.st_mtime_ns
                )
            )
    return found, unrecognised


def _why_not_loaded(extract: Extract, path: Path) -> str:
    """Why an entry of an extract folder is not a delivery, and what to do about it."""
    expected = f"{extract.name}_YYYYMMDD.csv"
    if path.is_dir():
        return f"a folder, not a file: only files named {expected} are loaded"
    if not path.is_file():
        return f"not a regular file: only files named {expected} are loaded"
    day = re.search(
        r"(?<![0-9])(20[0-9]{2}|19[0-9]{2})[-_.]?([01][0-9])[-_.]?([0-3][0-9])", path.name
    )
    hint = (
        f"; if it is the delivery of that day, rename it {extract.name}_{''.join(day.groups())}.csv"
        if day
        else ""
    )
    return f"not named {expected}, so not loaded{hint}"


def _first_landed(landing_dir: Path, extract: Extract) -> date | None:
    """The earliest business date of the extract's files in the landing folder, by name."""
    folder = landing_dir / extract.name
    days = []
    for path in folder.iterdir() if folder.is_dir() else ():
        match = extract.file_pattern().match(path.name)
        if match and path.is_file():
            try:
                days.append(datetime.strptime(match.group(1), "%Y%m%d").date())
            except ValueError:
                continue
    return min(days, default=None)


def decode(raw: bytes, file_name: str) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM) or GB18030/GBK; returns (text, encoding). A file in
    UTF-16, with or without its byte-order mark, is refused with a word about its encoding."""
    utf16 = (
        f"{file_name}: the file looks like UTF-16 (every other byte is zero); re-export it as "
        "UTF-8 or GB18030"
    )
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileRejected(
            utf16.replace("every other byte is zero", "it starts with its BOM"), file_name
        )
    if raw[:4000].count(0) > len(raw[:4000]) // 4:  # ASCII text in UTF-16 without a BOM
        raise FileRejected(utf16, file_name)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileRejected(
        f"{file_name}: not readable as UTF-8 or GB18030; re-export it in one of those encodings",
        file_name,
    )


def _contract_header(
    header: list[str], extract: Extract, header_map: dict[str, str], file_name: str
) -> list[str]:
    """Map the file's header to contract names; refuse duplicated or missing columns."""
    names = [h.strip().lstrip("\ufeff").strip() for h in header]
    mapped = [header_map.get(n.lower(), n.lower()) for n in names]
    counts = Counter(mapped)
    duplicated = sorted(c for c, n in counts.items() if n > 1 and c in extract.column_names)
    if duplicated:
        sources = {c: [n for n, m in zip(names, mapped, strict=True) if m == c] for c in duplicated}
        detail = "; ".join(f"{c} from {', '.join(v)}" for c, v in sources.items())
        raise FileRejected(
            f"{file_name}: column(s) {', '.join(duplicated)} appear more than once in the "
            f"header ({detail}); keep one of each",
            file_name,
        )
    missing = [c.name for c in extract.columns if c.name not in counts and not c.may_be_absent]
    if missing:
        # only cells that name a contract column are repeated: a file delivered without its
        # header line has a data row there, and its cells may be personal data
        known = [n for n, m in zip(names, mapped, strict=True) if m in extract.column_names]
        others = len(names) - len(known)
        raise FileRejected(
            f"{file_name}: required column(s) {', '.join(missing)} missing from the header "
            f"(recognised: {', '.join(known) or 'none'}; {others} other cell(s), not shown: "
            "if the first line is a data row, the header line is missing); add them, or map "
            "the ERP's names to the contract's in config/header_map.yaml",
            file_name,
        )
    return mapped


# What Python's str.strip() removes: the fast reader strips exactly as the csv-module reader.
_WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())


def read_file(landed: LandedFile, extract: Extract, header_map: dict[str, str]) -> pl.DataFrame:
    """Read one file as strings, one row per record, with its line number and field count."""
    text, _ = decode(landed.path.read_bytes(), landed.file_name)
    if not text.strip():
        raise FileRejected(
            f"{landed.file_name}: the file is empty (not even a header line); deliver it again "
            "with the header and its rows",
            landed.file_name,
        )
    header, rows = _split_plain(text) if _is_plain(text) else _split_quoted(text, landed)
    mapped = _contract_header(header, extract, header_map, landed.file_name)
    position = {name: mapped.index(name) for name in extract.column_names if name in mapped}
    fields = pl.col("_fields")
    return (
        rows.with_columns(_field_count=fields.list.len().cast(pl.Int32))
        .select(
            *[
                fields.list.get(position[name], null_on_oob=True)
                .str.strip_chars(_WHITESPACE)
                .alias(name)
                if name in position
                else pl.lit(None, pl.String).alias(name)
                for name in extract.column_names
            ],
            "_field_count",
            pl.lit(landed.file_name).alias("_file_name"),
            "_line_number",
        )
        .with_columns(
            [pl.col(c).replace("", None) for c in extract.column_names],
            _expected_fields=pl.lit(len(mapped), pl.Int32),
            _business_date=pl.lit(landed.business_date),
            _file_sha256=pl.lit(landed.sha256),
        )
    )


def _is_plain(text: str) -> bool:
    """No quoting, no bare carriage return, no NUL: every line is one record split at commas."""
    return '"' not in text and "\x00" not in text and "\r" not in text.replace("\r\n", "")


def _split_plain(text: str) -> tuple[list[str], pl.DataFrame]:
    """(header, rows) of an unquoted file, split by Polars; the same records, fields and
    line numbers as the csv module gives (blank lines are not rows)."""
    lines = pl.DataFrame({"_line": text.replace("\r\n", "\n").split("\n")}).with_row_index(
        "_line_number", offset=1
    )
    records = lines.filter(
        pl.col("_line").str.replace_all(",", "", literal=True).str.strip_chars(_WHITESPACE) != ""
    )
    if records.is_empty():
        return [], _rows([], [])
    header = records["_line"][0].split(",")
    rows = records.slice(1).select(
        pl.col("_line_number").cast(pl.Int32), pl.col("_line").str.split(",").alias("_fields")
    )
    return header, rows


def _split_quoted(text: str, landed: LandedFile) -> tuple[list[str], pl.DataFrame]:
    """(header, rows) of a file with quoted fields (or odd line ends), by the csv module."""
    # strict: a quote opened and never closed is an error, not the rest of the file in one field
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    try:
        last_line = 0
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            if not record or all(not v.strip() for v in record):
                continue  # blank lines are not rows
            if header is None:
                header = record
            else:
                records.append(record)
                lines.append(start)
    except csv.Error as exc:
        raise FileRejected(
            f"{landed.file_name}: cannot be parsed as CSV near line {reader.line_num} ({exc}); "
            "check its quoting",
            landed.file_name,
        ) from exc
    return header or [], _rows(records, lines)


def _rows(records: list[list[str]], lines: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"_line_number": lines, "_fields": records},
        schema={"_line_number": pl.Int32, "_fields": pl.List(pl.String)},
    )


def _column_checks(column: Column, options: IngestOptions) -> list[tuple[pl.Expr, str]]:
    """(is_bad, reason) pairs for one column; values are still strings here. What passes
    fits the column's storage type: the cast into raw.<extract> cannot fail."""
    value = pl.col(column.name)
    checks: list[tuple[pl.Expr, str]] = []
    if column.required:
        checks.append((value.is_null(), "missing value"))
    if column.type == "date":
        parsed = value.str.to_date("%Y-%m-%d", strict=False)
        checks.append((value.is_not_null() & parsed.is_null(), f"not {_TYPE_WORDS['date']}"))
        latest = pl.col("_business_date") + pl.duration(days=options.max_days_after_business_date)
        checks.append(
            (
                (parsed < options.earliest_date) | (parsed > latest),
                f"not a plausible date (before {options.earliest_date} or more than "
                f"{options.max_days_after_business_date} days after the file's business date)",
            )
        )
    elif column.type in _PATTERNS:
        well_formed = value.str.contains(_PATTERNS[column.type])
        checks.append((value.is_not_null() & ~well_formed, f"not {_TYPE_WORDS[column.type]}"))
        number = value.cast(pl.Float64, strict=False)
        if column.type == "int":  # exact: whole numbers of this size are exact in a float
            low, high = _INT32
            checks.append(
                (
                    well_formed & ((number < low) | (number > high)),
                    f"beyond the whole numbers the column holds ({low} to {high})",
                )
            )
        elif column.type in _INTEGER_DIGITS:
            digits = _INTEGER_DIGITS[column.type]
            checks.append(
                (
                    well_formed & value.str.contains(rf"^-?0*[1-9][0-9]{{{digits},}}"),
                    f"too large: more than {digits} digits before the decimal point",
                )
            )
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


def _row_checks(
    extract: Extract, known: dict[str, set[str]], options: IngestOptions
) -> list[tuple[pl.Expr, str, str]]:
    """(is_bad, column, reason) for every rule of the extract's contract."""
    checks = [
        (
            pl.col("_field_count") < pl.col("_expected_fields"),
            WHOLE_LINE,
            "line has fewer fields than the header (cut off?)",
        ),
        (
            pl.col("_field_count") > pl.col("_expected_fields"),
            WHOLE_LINE,
            "line has more fields than the header (unquoted separator?)",
        ),
    ]
    checks += [
        (bad, c.name, reason) for c in extract.columns for bad, reason in _column_checks(c, options)
    ]
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
                pl.sum_horizontal(
                    pl.col("customer_id", "region", "product_id").is_not_null().cast(pl.Int8)
                )
                != 1,
                "customer_id",
                "needs exactly one of customer_id, region or product_id",
            )
        )
    for column, master in extract.references.items():
        value = pl.col(column)
        checks.append(
            (
                value.is_not_null()
                & (value != DISTRIBUTION_CENTRE if extract.name == "inventory" else pl.lit(True))
                & ~value.is_in(sorted(known[master])),
                column,
                f"unknown {master[:-1]} (not in any {master} snapshot delivered so far)",
            )
        )
    # Snapshots repeat their keys file after file; deltas must not, across files either.
    scope = ["_file_name", *extract.key] if extract.kind == "snapshot" else list(extract.key)
    checks.append(
        (
            pl.col("_row") != pl.col("_row").min().over(scope),
            ",".join(extract.key),
            "duplicate key (an earlier line has the same key)",
        )
    )
    return checks


def validate(
    frame: pl.DataFrame,
    extract: Extract,
    known: dict[str, set[str]] | None = None,
    options: IngestOptions | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split string rows into (accepted, problems); problems has one row per rule broken.

    `known` holds the customer and product ids of the master data delivered so far.
    """
    known = known or {"customers": set(), "products": set()}
    checks = _row_checks(extract, known, options or IngestOptions())
    # files arrive in date order, so the row index orders lines across files too
    flagged = frame.with_row_index("_row").with_columns(
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
    ).sort("file_name", "line_number", maintain_order=True)
    bad_any = pl.any_horizontal([f"_bad_{i}" for i in range(len(checks))])
    accepted = flagged.filter(~bad_any).select(frame.columns)
    return accepted, problems


def _reject_whole_files(
    extract: Extract,
    files: list[LandedFile],
    frames: list[pl.DataFrame],
    problems: pl.DataFrame,
    options: IngestOptions,
) -> None:
    """File-level rules applied after the row checks; raises FileRejected."""
    for landed, frame in zip(files, frames, strict=True):
        if frame.is_empty():
            if extract.rows_required:
                raise FileRejected(
                    f"{landed.file_name}: has a header but no rows; a {extract.name} snapshot "
                    "must list every row, deliver it again complete",
                    landed.file_name,
                )
            continue
        mine = problems.filter(pl.col("file_name") == landed.file_name)
        if extract.date_column:
            dates = frame[extract.date_column].str.to_date("%Y-%m-%d", strict=False).drop_nulls()
            if dates.len() and (dates != landed.business_date).all():
                shown = ", ".join(str(d) for d in dates.unique().sort().head(3))
                raise FileRejected(
                    f"{landed.file_name}: every row's {extract.date_column} ({shown}) differs "
                    f"from the business date {landed.business_date} in the file name; "
                    "rename the file to the date its rows cover, or re-export it",
                    landed.file_name,
                )
        _refuse_if_too_many_bad_lines(landed.file_name, frame.height, mine, options)


def _refuse_if_too_many_bad_lines(
    file_name: str, height: int, mine: pl.DataFrame, options: IngestOptions
) -> None:
    """Raise FileRejected when the file's problems (`mine`) touch too large a share of its
    `height` lines."""
    bad_lines = mine["line_number"].n_unique()
    share = bad_lines / height
    if height >= options.min_rows_for_share and share > options.max_rejected_share:
        reasons = (
            mine.group_by("column_name", "reason")
            .len()
            .sort(["len", "column_name"], descending=[True, False])
            .head(3)
        )
        top = "; ".join(f"{c}: {r} ({n} rows)" for c, r, n in reasons.iter_rows())
        raise FileRejected(
            f"{file_name}: {bad_lines} of {height} rows ({share:.0%}) break the "
            f"contract, more than the {options.max_rejected_share:.0%} allowed; most "
            f"common: {top}. Fix the export and deliver the file again",
            file_name,
        )


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables, the manifest and the rejected-rows table if absent."""
    con.execute("create schema if not exists raw")
    meta = ", ".join(f"{name} {typ}" for name, typ in META_COLUMNS.items())
    for extract in EXTRACTS.values():
        cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.type]}" for c in extract.columns)
        con.execute(f"create table if not exists raw.{extract.name} ({cols}, {meta})")
        # columns added to the contract later reach older working databases (null before)
        for c in extract.columns:
            con.execute(
                f"alter table raw.{extract.name} add column if not exists {c.name} "
                f"{DUCKDB_TYPES[c.type]}"
            )
        for key_column in KEYED_PII.get(extract.name, {}).values():
            con.execute(
                f"alter table raw.{extract.name} add column if not exists {key_column} varchar"
            )
    con.execute("""
        create table if not exists raw.delivery_manifest (
            extract varchar, file_name varchar, business_date date, file_sha256 varchar,
            file_size bigint, file_mtime_ns bigint, rows_in_file integer, accepted_rows integer,
            rejected_rows integer, run_id varchar, loaded_at timestamp, is_current boolean
        )""")
    # working databases created before these columns existed get them (null: hash again)
    for column in ("file_size", "file_mtime_ns"):
        con.execute(f"alter table raw.delivery_manifest add column if not exists {column} bigint")
    con.execute("""
        create table if not exists raw.unrecognised_files (
            file_name varchar, reason varchar, run_id varchar, seen_at timestamp
        )""")
    con.execute("""
        create table if not exists raw.rejected_rows (
            extract varchar, file_name varchar, line_number integer, column_name varchar,
            reason varchar, business_date date, file_sha256 varchar, run_id varchar
        )""")


def current_manifest(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int, int]]:
    """file name -> (sha256, size, mtime_ns) of its current delivery."""
    rows = con.execute(
        "select file_name, file_sha256, file_size, file_mtime_ns from raw.delivery_manifest "
        "where is_current"
    ).fetchall()
    return {name: (sha, size, mtime) for name, sha, size, mtime in rows}


def _known_ids(con: duckdb.DuckDBPyConnection, replaced: dict[str, list[str]]) -> dict:
    """Customer and product ids of the master snapshots already loaded (minus replaced files)."""
    known = {}
    for master, key in (("customers", "customer_id"), ("products", "product_id")):
        rows = con.execute(
            f"select distinct {key} from raw.{master} where _file_name not in "
            "(select unnest(?::varchar[]))",
            [replaced.get(master, [])],
        ).fetchall()
        known[master] = {r[0] for r in rows}
    return known


def _repeated_keys(
    con: duckdb.DuckDBPyConnection, extract: Extract, run_id: str
) -> pl.DataFrame | None:
    """(_file_name, _line_number, _business_date, _file_sha256, earlier) of each row this run
    appended to a delta extract whose key an earlier row holds; None when there is none.
    Rows of earlier runs come first (the caller has deleted the rows of the files it
    replaces, so what is there stays delivered), then this run's in date, file and line
    order. One pass over the table per run, whatever its number of
    groups: checking each group against the rows appended before it would cost the square
    of a first load of years of history."""
    keys = ", ".join(extract.key)
    order = "_run_id = $run, _business_date, _file_name, _line_number"
    earlier_rows = con.execute(
        f"select exists (select 1 from raw.{extract.name} where _run_id <> ?)", [run_id]
    ).fetchone()[0]
    # a day's rows probe the table by key (its zone maps skip the rest); a first load is
    # grouped whole, without a join of the table with itself
    mine = (
        f"semi join (select {keys} from raw.{extract.name} where _run_id = $run) using ({keys})"
        if earlier_rows
        else ""
    )
    repeated = con.execute(
        f"select {keys} from raw.{extract.name} {mine} group by {keys} having count(*) > 1",
        {"run": run_id} if mine else {},
    ).pl()
    if repeated.is_empty():  # the usual case: no second pass over the table
        return None
    return con.execute(
        f"""
        with holders as (
            select _file_name, _line_number, _business_date, _file_sha256, _run_id,
                row_number() over (partition by {keys} order by {order}) as nth,
                first_value(_file_name) over (partition by {keys} order by {order}) as earlier
            from raw.{extract.name} semi join repeated using ({keys})
        )
        select _file_name, _line_number, _business_date, _file_sha256, earlier from holders
        where nth > 1 and _run_id = $run
        order by _file_name, _line_number
        """,
        {"run": run_id},
    ).pl()


def _quarantine_repeated_keys(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    report: IngestReport,
    options: IngestOptions,
    run_id: str,
) -> None:
    """Quarantine the rows this run appended whose key was already delivered
    (see _repeated_keys)."""
    clashes = _repeated_keys(con, extract, run_id)
    if clashes is None:
        return
    problems = clashes.select(
        pl.col("_file_name").alias("file_name"),
        pl.col("_line_number").alias("line_number"),
        pl.lit(",".join(extract.key)).alias("column_name"),
        (pl.lit("duplicate key (already delivered in ") + pl.col("earlier") + ")").alias("reason"),
        pl.col("_business_date").alias("business_date"),
        pl.col("_file_sha256").alias("file_sha256"),
    )
    _quarantine(con, extract, problems, report, options, run_id)


# What a posted AR document may reference (SPEC's payments contract): doc_type -> the
# doc_type of its target, always a posted document of the same customer
REFERENCE_TARGETS = {
    "receipt": "invoice",
    "credit_note": "invoice",
    "extension": "invoice",
    "reversal": "receipt",
}
# The reason of a reference to a document not delivered yet: its file is read again at the
# next runs (IngestOptions.reference_wait_days) in case the target arrives late
REFERENCE_PENDING = "references a document not delivered so far"


def _quarantine_broken_references(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    report: IngestReport,
    options: IngestOptions,
    run_id: str,
) -> None:
    """Quarantine the posted AR documents this run appended whose reference_doc_id does not
    name a posted document of the right type (REFERENCE_TARGETS) of the same customer among
    everything delivered so far, this run included. Receipts, credit notes and extensions
    are checked first, so a reversal of a receipt quarantined here is quarantined too."""
    for doc_types in (["receipt", "credit_note", "extension"], ["reversal"]):
        rules = ", ".join(f"('{d}', '{t}')" for d, t in REFERENCE_TARGETS.items())
        problems = con.execute(
            f"""
            select d._file_name as file_name, d._line_number as line_number,
                'reference_doc_id' as column_name,
                case
                    when t.doc_id is null then '{REFERENCE_PENDING} (a ' || d.doc_type
                        || ' must reference a posted ' || r.target || ')'
                    when t.customer_id <> d.customer_id then 'references a document of '
                        || 'another customer (a ' || d.doc_type || ' must reference a posted '
                        || r.target || ' of the same customer)'
                    else 'references a ' || t.doc_type || ' (a ' || d.doc_type
                        || ' must reference a posted ' || r.target || ')'
                end as reason,
                d._business_date as business_date, d._file_sha256 as file_sha256
            from raw.payments as d
            join (values {rules}) as r(doc_type, target) using (doc_type)
            left join (
                select doc_id, any_value(doc_type) as doc_type,
                    any_value(customer_id) as customer_id
                from raw.payments where status = 'posted' group by doc_id
            ) as t on t.doc_id = d.reference_doc_id
            where d._run_id = $run and d.status = 'posted' and d.doc_type in $types
                and d.reference_doc_id is not null
                and (t.doc_id is null or t.customer_id <> d.customer_id
                    or t.doc_type <> r.target)
            order by file_name, line_number
            """,
            {"run": run_id, "types": doc_types},
        ).pl()
        if problems.height:
            _quarantine(con, extract, problems, report, options, run_id)


def _quarantine(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    problems: pl.DataFrame,
    report: IngestReport,
    options: IngestOptions,
    run_id: str,
) -> None:
    """Move rows this run appended (`problems`: file_name, line_number, column_name, reason,
    business_date, file_sha256) from raw.<extract> to raw.rejected_rows, recount their
    files, and refuse a file whose share of bad lines is now too large."""
    problems = problems.select(  # noqa: F841 (read by DuckDB)
        pl.lit(extract.name).alias("extract"),
        "file_name",
        pl.col("line_number").cast(pl.Int32),
        "column_name",
        "reason",
        "business_date",
        "file_sha256",
        pl.lit(run_id).alias("run_id"),
    )
    con.execute("insert into raw.rejected_rows by name select * from problems")
    con.execute(
        f"delete from raw.{extract.name} as loaded using problems "
        "where loaded._run_id = $run and loaded._file_name = problems.file_name "
        "and loaded._line_number = problems.line_number",
        {"run": run_id},
    )
    # every problem of the files concerned, the new ones among them
    recounted = con.execute(
        "select file_name, line_number, column_name, reason from raw.rejected_rows "
        "where run_id = $run and file_name in (select file_name from problems)",
        {"run": run_id},
    ).pl()
    by_file = {f["file_name"]: f for f in report.files if f["extract"] == extract.name}
    for (file_name,), mine in recounted.group_by("file_name", maintain_order=True):
        entry = by_file[file_name]
        bad_lines = mine["line_number"].n_unique()
        entry["accepted_rows"] = entry["rows_in_file"] - bad_lines
        entry["rejected_rows"] = bad_lines
        _refuse_if_too_many_bad_lines(file_name, entry["rows_in_file"], mine, options)


def landing_problem(landing_dir: Path) -> str | None:
    """Why `landing_dir` cannot be loaded at all (missing, not a folder, empty), or None."""
    if not landing_dir.is_dir():
        return (
            f"the landing folder {landing_dir} does not exist or is not a folder: point "
            "--landing (or CRM_LANDING_DIR) at the folder the ERP delivers to"
        )
    if not any(landing_dir.iterdir()):
        return (
            f"the landing folder {landing_dir} is empty: no extract has landed there; point "
            "--landing (or CRM_LANDING_DIR) at the folder the ERP delivers to"
        )
    return None


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
    ensure_schema(con)
    report = IngestReport()
    known_files = current_manifest(con)
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
        elif not con.execute(
            f"select count(*) from raw.{extract.name} where _business_date <= ?", [as_of]
        ).fetchone()[0]:
            first = _first_landed(landing_dir, extract)
            advice = (
                f"the first has business date {first}: run for that date or later"
                if first
                else f"expected files {landing_dir / extract.name}/{extract.name}_YYYYMMDD.csv"
            )
            raise FileRejected(
                f"no {extract.name} extract has landed on or before {as_of}; {advice}"
            )
    todo = [f for f in landed if known_files.get(f.file_name, ("",))[0] != f.sha256]
    again = _waiting_for_references(con, todo, as_of, options)
    todo = [f for f in landed if f in todo or f.file_name in again]  # in date order
    report.skipped_unchanged = len(landed) - len(todo)
    replaced = {
        e: [f.file_name for f in todo if f.extract == e and f.file_name in known_files]
        for e in EXTRACTS
    }
    known = _known_ids(con, replaced)

    # strictly after every earlier load even if the clock went back (a DST change, a clock
    # reset): the compact sales facts take "loaded after their last build" from it
    loaded_at = con.execute(
        "select greatest(?::timestamp, max(loaded_at) + interval 1 microsecond) "
        "from raw.delivery_manifest",
        [datetime.now()],
    ).fetchone()[0]
    con.execute("begin transaction")  # all of a run's files, or none
    try:
        for extract in EXTRACTS.values():  # master data first: later extracts refer to it
            files = [f for f in todo if f.extract == extract.name]
            if not files:
                continue
            names = [f.file_name for f in files]
            con.execute(f"delete from raw.{extract.name} where _file_name in ?", [names])
            con.execute("delete from raw.rejected_rows where file_name in ?", [names])
            for chunk_files, frames in _chunks(files, extract, options):
                _load_chunk(con, extract, chunk_files, frames, known, report, options, run_id)
            if extract.kind == "delta":
                _quarantine_repeated_keys(con, extract, report, options, run_id)
            if extract.name == "payments":
                _quarantine_broken_references(con, extract, report, options, run_id)
        _record_manifest(con, report, run_id, loaded_at)
        if report.unrecognised:
            con.executemany(
                "insert into raw.unrecognised_files values (?, ?, ?, ?)",
                [[name, why, run_id, loaded_at] for name, why in report.unrecognised],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return report


def _waiting_for_references(
    con: duckdb.DuckDBPyConnection, todo: list[LandedFile], as_of: date, options: IngestOptions
) -> set[str]:
    """The unchanged payments files with documents quarantined for a reference not delivered
    yet, dated within `options.reference_wait_days` of `as_of`: read again (their rows
    replaced) so that a document whose target arrives late is accepted then."""
    waiting = {
        row[0]
        for row in con.execute(
            "select distinct file_name from raw.rejected_rows where extract = 'payments' "
            "and starts_with(reason, ?) and business_date >= ?::date - ?::integer",
            [REFERENCE_PENDING, as_of, options.reference_wait_days],
        ).fetchall()
    }
    return waiting - {f.file_name for f in todo}


def _chunks(
    files: list[LandedFile], extract: Extract, options: IngestOptions
) -> Iterator[tuple[list[LandedFile], list[pl.DataFrame]]]:
    """The files read in date order, in groups of about `options.chunk_rows` rows: a first
    load of years of history is validated and written a group at a time, never held whole."""
    group: list[LandedFile] = []
    frames: list[pl.DataFrame] = []
    rows = 0
    for landed in files:
        frame = read_file(landed, extract, options.header_map.get(extract.name, {}))
        group.append(landed)
        frames.append(frame)
        rows += frame.height
        if rows >= options.chunk_rows:
            yield group, frames
            group, frames, rows = [], [], 0
    if group:
        yield group, frames


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
    written (_quarantine_repeated_keys)."""
    batch = pl.concat(frames)
    accepted, problems = validate(batch, extract, known, options)
    _reject_whole_files(extract, files, frames, problems, options)
    if extract.name in known:
        known[extract.name] |= set(accepted[extract.key[0]].to_list())
    _append(con, extract, with_pii_keys(accepted, extract.name, options.pii_key), problems, run_id)
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


def _append(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    accepted: pl.DataFrame,
    problems: pl.DataFrame,
    run_id: str,
) -> None:
    """Append accepted rows to raw.<extract> and problems to raw.rejected_rows."""
    casts = ", ".join(f"cast({c.name} as {DUCKDB_TYPES[c.type]})" for c in extract.columns)
    keys = list(KEYED_PII.get(extract.name, {}).values())
    names_in_order = ", ".join([*extract.column_names, *META_COLUMNS, *keys])
    # DuckDB reads the local frames by name (a replacement scan): a view registered on the
    # connection would keep every group's rows in memory until the run's transaction ends
    batch = accepted.with_columns(_run_id=pl.lit(run_id))  # noqa: F841
    rejected = problems.with_columns(run_id=pl.lit(run_id))  # noqa: F841
    con.execute(
        f"insert into raw.{extract.name} ({names_in_order}) select {casts}, _file_name, "
        f"_line_number, _business_date, _file_sha256, _run_id{''.join(', ' + k for k in keys)} "
        "from batch"
    )
    con.execute("insert into raw.rejected_rows by name select * from rejected")


def _record_manifest(
    con: duckdb.DuckDBPyConnection, report: IngestReport, run_id: str, loaded_at: datetime
) -> None:
    """Mark earlier versions of the loaded files superseded and record the new ones."""
    if not report.files:
        return
    manifest = pl.DataFrame(report.files).with_columns(  # noqa: F841 (read by DuckDB)
        run_id=pl.lit(run_id), loaded_at=pl.lit(loaded_at), is_current=pl.lit(True)
    )
    con.execute(
        "update raw.delivery_manifest set is_current = false where file_name in "
        "(select file_name from manifest)"
    )
    con.execute("insert into raw.delivery_manifest by name select * from manifest")


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
            ensure_schema(con)
            before = current_manifest(con)
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
