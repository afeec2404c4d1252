"""Great Expectations (GX Core 1.x) validation of DataFrames against the suites in expectations/.

Suites are plain GX JSON files (`expectations/<table>.json`). Validation runs on in-memory
DataFrames through an ephemeral GX context (GX's SQL datasource does not work on current
DuckDB). Results are requested in SUMMARY format with no unexpected values, so no value
(and so no PII) is ever copied into a result, a log line or a report.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipelines.settings import disable_gx_analytics
from pipelines.storage.audit import CheckOutcome

if TYPE_CHECKING:
    import duckdb
    import great_expectations as gx

# Expectations judged row by row: their outcome on a table is the sum of their outcomes on
# any split of its rows (without `mostly`, which judges a share).
ROW_WISE = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_pair_values_a_to_be_greater_than_b",
}
# Rows validated at a time: a first load of years of sales is validated in parts.
MAX_ROWS_PER_PART = 2_000_000

# Counts only: never a sample of the values that failed.
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
}


def _gx():
    """Import GX on first use: it takes seconds, and loading the Definitions should not."""
    disable_gx_analytics()
    import great_expectations
    from great_expectations.execution_engine import pandas_execution_engine

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # GX fingerprints every DataFrame under this size (an md5 over pandas' row hashes) as a
    # batch marker, which nothing here reads; it was most of the time of validating millions
    # of rows. tests/unit/test_validation.py fails if an upgrade renames the constant.
    pandas_execution_engine.HASH_THRESHOLD = 0
    return great_expectations


def load_suite(path: Path) -> gx.ExpectationSuite:
    """Read a GX suite JSON file."""
    gx = _gx()
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return gx.ExpectationSuite(
        name=raw["name"], expectations=raw["expectations"], meta=raw.get("meta") or {}
    )


def suite_columns(path: Path) -> list[str]:
    """The columns a suite file's expectations name, in order of first mention."""
    columns: list[str] = []
    for expectation in json.loads(Path(path).read_text(encoding="utf-8"))["expectations"]:
        kwargs = expectation.get("kwargs", {})
        named = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
        for name in [*named, *(kwargs.get("column_list") or [])]:
            if name and name not in columns:
                columns.append(name)
    return columns


def _to_pandas(frame: pl.DataFrame):
    # Numbers become NumPy columns (Decimal as float, integers with nulls as float with NaN):
    # GX compares those vectorised, but calls Python per value on Arrow-backed numbers. The
    # other columns stay Arrow-backed (no Python object per string): a first load validates
    # millions of rows, and every expectation of the suites gives the same result on them.
    # (GX's vectorised path takes exactly int64 and float64)
    floats = [c for c, t in frame.schema.items() if t.is_float() or isinstance(t, pl.Decimal)]
    integers = [c for c, t in frame.schema.items() if t.is_integer()]
    frame = frame.with_columns(pl.col(floats).cast(pl.Float64), pl.col(integers).cast(pl.Int64))
    numbers = floats + integers
    pandas = frame.drop(numbers).to_pandas(use_pyarrow_extension_array=True)
    for column in numbers:
        pandas[column] = frame[column].to_numpy()
    return pandas[frame.columns]


def validate_frame(frame: pl.DataFrame, suite_path: Path) -> list[CheckOutcome]:
    """Validate `frame` against the suite file; one outcome per expectation."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    suite = load_suite(suite_path)
    context = _gx().get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(suite)
    batch_definition = (
        context.data_sources.add_pandas("frames")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("whole")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": _to_pandas(frame)})
    result = batch.validate(suite, result_format=RESULT_FORMAT)
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
        details = item.result or {}
        failed_to_run = bool(item.exception_info and item.exception_info.get("raised_exception"))
        outcomes.append(
            CheckOutcome(
                suite_name=suite.name,
                expectation_type=config.type,
                column_name=kwargs.get("column"),
                parameters=json.dumps(kwargs, sort_keys=True, default=str),
                severity=str(getattr(config, "severity", "critical") or "critical")
                .split(".")[-1]
                .lower(),
                passed=bool(item.success) and not failed_to_run,
                element_count=details.get("element_count", frame.height),
                unexpected_count=details.get("unexpected_count"),
            )
        )
    return outcomes


def split_columns(path: Path) -> list[str] | None:
    """Columns by which a table's rows may be split to validate it part by part, the parts'
    outcomes adding up to the whole table's: the columns every uniqueness key of the suite
    shares, so rows with equal keys land in the same part. [] when the suite has no key (any
    split will do); None when it cannot be split (a table-level expectation, `mostly`, or
    keys with no column in common)."""
    shared: set[str] | None = None
    order: list[str] = []
    for expectation in json.loads(Path(path).read_text(encoding="utf-8"))["expectations"]:
        kwargs = expectation.get("kwargs", {})
        if expectation["type"] == "expect_column_values_to_be_unique":
            key = [kwargs["column"]]
        elif expectation["type"] == "expect_compound_columns_to_be_unique":
            key = list(kwargs["column_list"])
        elif expectation["type"] in ROW_WISE and "mostly" not in kwargs:
            continue
        else:
            return None
        order += [c for c in key if c not in order]
        shared = set(key) if shared is None else shared & set(key)
    if shared is None:
        return []
    return [c for c in order if c in shared] or None


def combine(parts: list[list[CheckOutcome]]) -> list[CheckOutcome]:
    """One outcome per expectation from the outcomes of the parts of a table (each part
    validated against the same suite): passed when it passed on every part, counts added."""

    def total(values: list[int | None]) -> int | None:
        return None if all(v is None for v in values) else sum(v or 0 for v in values)

    return [
        replace(
            same[0],
            passed=all(o.passed for o in same),
            element_count=total([o.element_count for o in same]),
            unexpected_count=total([o.unexpected_count for o in same]),
        )
        for same in zip(*parts, strict=True)
    ]


def validate_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    where: str,
    params: list,
    suite_path: Path,
    max_rows: int = MAX_ROWS_PER_PART,
) -> tuple[list[CheckOutcome], int]:
    """(outcomes, rows validated) of the suite on the rows of a DuckDB table matching `where`,
    reading only the columns the suite names. More than `max_rows` rows are validated in
    parts split by hash of `split_columns` (exact for uniqueness too) when the suite allows."""
    select = ", ".join(f'"{c}"' for c in suite_columns(suite_path)) or "*"
    query = f"select {select} from {table} where {where}"
    rows = con.execute(f"select count(*) from {table} where {where}", params).fetchone()[0]
    split = split_columns(suite_path)
    parts = math.ceil(rows / max_rows)
    if parts <= 1 or split is None:
        return validate_frame(con.execute(query, params).pl(), suite_path), rows
    bucket = f"hash({', '.join(split)})" if split else "rowid"
    outcomes = [
        validate_frame(
            con.execute(f"{query} and {bucket} % {parts} = {i}", params).pl(), suite_path
        )
        for i in range(parts)
    ]
    return combine(outcomes), rows
