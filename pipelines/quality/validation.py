"""Great Expectations (GX Core 1.x) validation of DataFrames against the suites in expectations/.

Suites are plain GX JSON files (`expectations/<table>.json`). Validation runs on in-memory
DataFrames through an ephemeral GX context (GX's SQL datasource does not work on current
DuckDB). Results are requested in SUMMARY format with no unexpected values, so no value
(and so no PII) is ever copied into a result, a log line or a report.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import great_expectations as gx

# Counts only: never a sample of the values that failed.
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
}


@dataclass(frozen=True)
class CheckOutcome:
    """One expectation's result, as recorded in data_quality_results."""

    suite_name: str
    expectation_type: str
    column_name: str | None
    parameters: str
    severity: str
    passed: bool
    element_count: int | None
    unexpected_count: int | None
    observed_value: str | None = None

    @property
    def is_blocking_failure(self) -> bool:
        return not self.passed and self.severity == "critical"


def _gx():
    """Import GX on first use: it takes seconds, and loading the Definitions should not."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
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
        for name in [kwargs.get("column"), *(kwargs.get("column_list") or [])]:
            if name and name not in columns:
                columns.append(name)
    return columns


def _to_pandas(frame: pl.DataFrame):
    # Decimal columns become floats: range and null checks need numbers, not Decimal objects.
    # Columns stay Arrow-backed (no Python object per string): a first load validates
    # millions of rows, and every expectation of the suites gives the same result on them.
    decimals = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.Float64)).to_pandas(
        use_pyarrow_extension_array=True
    )


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
