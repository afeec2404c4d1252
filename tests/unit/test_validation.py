"""GX validation of DataFrames: each kind of expectation our suites use fails on the rows
that break it, with the exact count, and passes on rows that keep it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from pipelines.quality.validation import suite_columns, validate_frame

SUITE = {
    "name": "hand_made",
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "net_amount", "min_value": 0},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "status", "value_set": ["posted", "cancelled"]},
        },
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "order_id"}},
        {
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": ["order_id", "line_no"]},
        },
        {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "period", "regex": r"^\d{4}-(?:0[1-9]|1[0-2])$"},
        },
    ],
}


def _outcomes(frame: pl.DataFrame, tmp_path: Path) -> dict[str, tuple[bool, int]]:
    path = tmp_path / "hand_made.json"
    path.write_text(json.dumps(SUITE), encoding="utf-8")
    return {o.expectation_type: (o.passed, o.unexpected_count) for o in validate_frame(frame, path)}


def test_each_expectation_counts_exactly_the_rows_that_break_it(tmp_path: Path):
    frame = pl.DataFrame(
        {
            "order_id": ["A", "B", "B", None],
            "line_no": [1, 2, 2, 3],
            "net_amount": ["1.50", "-5.00", "3.00", None],
            "status": ["posted", "lost", "posted", "cancelled"],
            "period": ["2026-01", "2026-13", "2026-02", None],
        }
    ).with_columns(pl.col("net_amount").cast(pl.Decimal(18, 2)))
    assert _outcomes(frame, tmp_path) == {
        "expect_column_values_to_not_be_null": (False, 1),
        "expect_column_values_to_be_between": (False, 1),  # -5; a null is not counted
        "expect_column_values_to_be_in_set": (False, 1),  # lost
        "expect_column_values_to_be_unique": (False, 2),  # both B rows
        "expect_compound_columns_to_be_unique": (False, 2),  # (B, 2) twice
        "expect_column_values_to_match_regex": (False, 1),  # month 13
    }


def test_rows_that_keep_every_expectation_pass(tmp_path: Path):
    frame = pl.DataFrame(
        {
            "order_id": ["A", "B"],
            "line_no": [1, 1],
            "net_amount": ["1.50", "0.00"],
            "status": ["posted", "cancelled"],
            "period": ["2026-01", "2026-12"],
        }
    ).with_columns(pl.col("net_amount").cast(pl.Decimal(18, 2)))
    assert _outcomes(frame, tmp_path) == {
        name: (True, 0)
        for name in [
            "expect_column_values_to_not_be_null",
            "expect_column_values_to_be_between",
            "expect_column_values_to_be_in_set",
            "expect_column_values_to_be_unique",
            "expect_compound_columns_to_be_unique",
            "expect_column_values_to_match_regex",
        ]
    }


def test_a_suite_names_its_columns_in_order(tmp_path: Path):
    path = tmp_path / "hand_made.json"
    path.write_text(json.dumps(SUITE), encoding="utf-8")
    assert suite_columns(path) == ["order_id", "net_amount", "status", "line_no", "period"]
    pair = {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {"column_A": "last_order_date", "column_B": "first_order_date"},
    }
    assert suite_columns(_suite_file(tmp_path, [pair])) == ["last_order_date", "first_order_date"]


def _suite_file(tmp_path: Path, expectations: list[dict]) -> Path:
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "s", "expectations": expectations}), encoding="utf-8")
    return path


def test_a_suite_splits_by_the_columns_its_keys_share(tmp_path: Path):
    from pipelines.quality.validation import split_columns

    unique = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "doc_id"}}
    rows = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
    mostly = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "doc_id", "mostly": 0.9},
    }
    assert split_columns(_suite_file(tmp_path, SUITE["expectations"])) == ["order_id"]
    assert split_columns(_suite_file(tmp_path, SUITE["expectations"][:3])) == []
    assert split_columns(_suite_file(tmp_path, [SUITE["expectations"][4], unique])) is None
    assert split_columns(_suite_file(tmp_path, [unique, rows])) is None
    assert split_columns(_suite_file(tmp_path, [unique, mostly])) is None


def test_a_table_validated_in_parts_gives_the_whole_tables_outcome(tmp_path: Path):
    """2,000 rows validated 250 at a time: duplicates that the split could separate are
    still found, and every count equals the count over the whole table."""
    import duckdb

    from pipelines.quality.validation import validate_table

    n = 2_000
    frame = pl.DataFrame(
        {
            "order_id": [None if i % 397 == 0 else f"SO{i % 1_900}" for i in range(n)],
            "line_no": [1 + i // 1_900 for i in range(n)],
            "net_amount": [(-1.0 if i % 101 == 0 else 2.5) for i in range(n)],
            "status": ["lost" if i % 233 == 0 else "posted" for i in range(n)],
            "period": ["2026-13" if i % 499 == 0 else "2026-01" for i in range(n)],
            "filter_me": [i % 2 for i in range(n)],
        }
    )
    path = tmp_path / "hand_made.json"
    path.write_text(json.dumps(SUITE), encoding="utf-8")
    con = duckdb.connect()
    con.execute("create table t as select * from frame")
    whole = validate_frame(frame.filter(pl.col("filter_me") == 0), path)
    parts, rows = validate_table(con, "t", "filter_me = ?", [0], path, max_rows=250)
    assert rows == n // 2
    assert parts == whole
    # even rows only: nulls at 0, 794, 1588; SO0..SO98 again from row 1900 (SO0 is null
    # at row 0); the null ids share line 1, so the compound key repeats three times
    assert {o.expectation_type: (o.passed, o.unexpected_count) for o in parts} == {
        "expect_column_values_to_not_be_null": (False, 3),
        "expect_column_values_to_be_between": (False, 10),  # every 202nd row
        "expect_column_values_to_be_in_set": (False, 5),  # every 466th row
        "expect_column_values_to_be_unique": (False, 98),  # 49 ids twice
        "expect_compound_columns_to_be_unique": (False, 3),
        "expect_column_values_to_match_regex": (False, 3),  # 0, 998, 1996
    }
    assert [o.element_count for o in parts] == [n // 2] * 6


def test_numbers_of_every_width_with_nulls_are_checked_like_any_other(tmp_path: Path):
    """Integers and decimals reach GX as NumPy numbers (nulls as NaN): a null is missing,
    not out of range, and values are compared exactly."""
    frame = pl.DataFrame(
        {
            "line_no": pl.Series([1, None, 0, 3], dtype=pl.Int32),
            "net_amount": pl.Series(["0.00", None, "-0.01", "2.50"]).cast(pl.Decimal(18, 2)),
        }
    )
    between = "expect_column_values_to_be_between"
    path = _suite_file(
        tmp_path,
        [
            {"type": between, "kwargs": {"column": "line_no", "min_value": 1}},
            {"type": between, "kwargs": {"column": "net_amount", "min_value": 0}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "line_no"}},
        ],
    )
    outcomes = [(o.column_name, o.unexpected_count) for o in validate_frame(frame, path)]
    assert sorted(outcomes) == [("line_no", 1), ("line_no", 1), ("net_amount", 1)]


def test_the_batch_fingerprint_gx_skips_is_still_where_it_was():
    """Validation turns off GX's fingerprint of each DataFrame through a module constant; if
    an upgrade renames it, the fingerprint would silently cost most of the time again."""
    import inspect

    from great_expectations.execution_engine import pandas_execution_engine

    from pipelines.quality.validation import _gx

    _gx()
    source = inspect.getsource(pandas_execution_engine.PandasExecutionEngine)
    assert "< HASH_THRESHOLD:" in source and "hash_pandas_dataframe(df)" in source
    assert pandas_execution_engine.HASH_THRESHOLD == 0
