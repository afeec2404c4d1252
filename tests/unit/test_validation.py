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
