"""The contract's rules applied to delivered rows, and the quarantine of those that break
them. Plain functions (no Dagster).

- On the rows read (values still strings): the column checks (presence, type, range, code
  domain, plausible dates), the rules across columns the contract declares per extract
  (`Extract.row_rules`, conditional requirements, references to master data) and keys
  repeated within what is read: `validate`.
- On whole files: `reject_whole_files` (no rows where rows are required, every row dated on
  another day than the file name, too large a share of bad lines).
- Against everything delivered so far, once a run's rows are appended:
  `quarantine_against_delivered` (keys of delta extracts delivered before, document
  references of `Extract.reference_targets`).

Messages name files, lines, columns and rules, never a delivered value.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from pipelines.contract import (
    EXTRACTS,
    Column,
    ExactlyOneOf,
    Extract,
    LineAmount,
    RowRule,
)
from pipelines.defs.ingestion.landing import LandedFile
from pipelines.defs.ingestion.options import FileRejected, IngestOptions

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
# The reason of a reference to a document not delivered yet: its file is read again at the
# next runs (IngestOptions.reference_wait_days) in case the target arrives late
REFERENCE_PENDING = "references a document not delivered so far"


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


def _row_rule_check(rule: RowRule) -> tuple[pl.Expr, str, str]:
    """(is_bad, column, reason) of a rule across the columns of a row (contract.RowRule)."""
    if isinstance(rule, LineAmount):
        qty, price, disc, net = (
            pl.col(c).cast(pl.Float64, strict=False)
            for c in (rule.quantity, rule.unit_price, rule.discount, rule.net)
        )
        return (
            ((qty * price - disc) - net).abs() > rule.tolerance + 1e-9,
            rule.net,
            f"{rule.net} differs from {rule.quantity} x {rule.unit_price} - {rule.discount} "
            f"by more than {rule.tolerance:g}",
        )
    if isinstance(rule, ExactlyOneOf):
        *first, last = rule.columns
        return (
            pl.sum_horizontal(pl.col(*rule.columns).is_not_null().cast(pl.Int8)) != 1,
            rule.columns[0],
            f"needs exactly one of {', '.join(first)} or {last}",
        )
    raise TypeError(f"not a row rule: {rule!r}")


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
    checks += [_row_rule_check(rule) for rule in extract.row_rules]
    for column, master in extract.references.items():
        value = pl.col(column)
        unknown = value.is_not_null()
        if extract.reference_exempt:
            unknown = unknown & ~value.is_in(list(extract.reference_exempt))
        checks.append(
            (
                unknown & ~value.is_in(sorted(known[master])),
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

    `known` holds the keys of the master data delivered so far (customer and product ids),
    per master extract.
    """
    known = known or {master: set() for master in extract.references.values()}
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


def reject_whole_files(
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
    files: list[dict],
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
    _quarantine(con, extract, problems, files, options, run_id)


def _reference_rounds(targets: dict[str, str]) -> list[list[str]]:
    """The doc_types of `targets` in the order their references are checked: a document
    type after the types it references (receipts before their reversals)."""
    rounds, pending = [], dict(targets)
    while pending:
        ready = [d for d, t in pending.items() if t not in pending] or list(pending)
        rounds.append(ready)
        pending = {d: t for d, t in pending.items() if d not in ready}
    return rounds


def _quarantine_broken_references(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    files: list[dict],
    options: IngestOptions,
    run_id: str,
) -> None:
    """Quarantine the posted documents this run appended whose reference_doc_id does not
    name a posted document of the right type (`extract.reference_targets`) of the same
    customer among everything delivered so far, this run included. A document type is
    checked after the types it references, so a reversal of a receipt quarantined here is
    quarantined too."""
    rules = ", ".join(f"('{d}', '{t}')" for d, t in extract.reference_targets.items())
    for doc_types in _reference_rounds(extract.reference_targets):
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
            from raw.{extract.name} as d
            join (values {rules}) as r(doc_type, target) using (doc_type)
            left join (
                select doc_id, any_value(doc_type) as doc_type,
                    any_value(customer_id) as customer_id
                from raw.{extract.name} where status = 'posted' group by doc_id
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
            _quarantine(con, extract, problems, files, options, run_id)


def _quarantine(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    problems: pl.DataFrame,
    files: list[dict],
    options: IngestOptions,
    run_id: str,
) -> None:
    """Move rows this run appended (`problems`: file_name, line_number, column_name, reason,
    business_date, file_sha256) from raw.<extract> to raw.rejected_rows, recount their
    entries of `files` (IngestReport.files), and refuse a file whose share of bad lines is
    now too large."""
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
    by_file = {f["file_name"]: f for f in files if f["extract"] == extract.name}
    for (file_name,), mine in recounted.group_by("file_name", maintain_order=True):
        entry = by_file[file_name]
        bad_lines = mine["line_number"].n_unique()
        entry["accepted_rows"] = entry["rows_in_file"] - bad_lines
        entry["rejected_rows"] = bad_lines
        _refuse_if_too_many_bad_lines(file_name, entry["rows_in_file"], mine, options)


def quarantine_against_delivered(
    con: duckdb.DuckDBPyConnection,
    extract: Extract,
    files: list[dict],
    options: IngestOptions,
    run_id: str,
) -> None:
    """Once this run's rows of `extract` are all appended (inside its transaction), the
    rules that need everything delivered so far: keys of a delta extract delivered before,
    and the documents' references (`extract.reference_targets`). Recounts the entries of
    `files` (IngestReport.files) and raises FileRejected for a file now too bad."""
    if extract.kind == "delta":
        _quarantine_repeated_keys(con, extract, files, options, run_id)
    if extract.reference_targets:
        _quarantine_broken_references(con, extract, files, options, run_id)


def waiting_for_references(
    con: duckdb.DuckDBPyConnection, as_of: date, options: IngestOptions
) -> set[str]:
    """The files with documents quarantined for a reference not delivered yet, dated within
    `options.reference_wait_days` of `as_of`: read again (their rows replaced) so that a
    document whose target arrives late is accepted then."""
    referencing = [e.name for e in EXTRACTS.values() if e.reference_targets]
    return {
        row[0]
        for row in con.execute(
            "select distinct file_name from raw.rejected_rows where extract in ? "
            "and starts_with(reason, ?) and business_date >= ?::date - ?::integer",
            [referencing, REFERENCE_PENDING, as_of, options.reference_wait_days],
        ).fetchall()
    }
