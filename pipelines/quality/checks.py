"""Check factories the domains build their asset checks from: a blocking check that runs a
GX suite of expectations/ on a working table, and the reconciliation of published figures
with the accepted extract rows.

Every outcome is appended to audit.data_quality_results; a failed critical check stops the
run before publication, so BI tools never see what failed. The checks reach the working
database through the `crm` resource.
"""

import json
from datetime import date

import dagster as dg
import duckdb

from pipelines.quality.validation import validate_table
from pipelines.storage.audit import CheckOutcome, record

# Money figures must agree to the cent.
CENT = 0.005


def check_result(outcomes: list[CheckOutcome], rows: int) -> dg.AssetCheckResult:
    """The result of a suite: passed unless a critical expectation failed."""
    failed = [o for o in outcomes if not o.passed]
    blocking = [o for o in failed if o.is_blocking_failure]
    return dg.AssetCheckResult(
        passed=not blocking,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len(outcomes) - len(failed)} of {len(outcomes)} expectations passed"
            + (f"; failed: {', '.join(_describe(o) for o in failed)}" if failed else "")
        ),
        metadata={
            "expectations": len(outcomes),
            "failed": len(failed),
            "failed_critical": len(blocking),
            "rows_validated": rows,
        },
    )


def _describe(outcome: CheckOutcome) -> str:
    where = f"({outcome.column_name})" if outcome.column_name else ""
    count = f" {outcome.unexpected_count} rows" if outcome.unexpected_count else ""
    return f"{outcome.expectation_type}{where}{count} [{outcome.severity}]"


def gx_table_check(
    asset: dg.AssetKey,
    suite: str,
    work_table: str,
    partitions_def: dg.PartitionsDefinition,
    per_as_of_date: bool = True,
) -> dg.AssetChecksDefinition:
    """A blocking check `gx_<suite>` running expectations/<suite>.json on `work_table`: the
    as-of date's rows, or the whole table for tables rebuilt whole."""

    @dg.asset_check(
        asset=asset,
        name=f"gx_{suite}",
        blocking=True,
        partitions_def=partitions_def,
        required_resource_keys={"crm"},
        description=f"GX suite expectations/{suite}.json on {work_table}"
        + (" for the as-of date." if per_as_of_date else "."),
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        crm = context.resources.crm
        as_of = date.fromisoformat(context.partition_key)
        where, params = ("as_of_date = ?", [as_of]) if per_as_of_date else ("true", [])
        with crm.connect() as con:
            outcomes, rows = validate_table(con, work_table, where, params, crm.suite_path(suite))
            record(
                con,
                run_id=context.run.run_id,
                as_of=as_of,
                table=suite,
                source="great_expectations",
                outcomes=outcomes,
            )
        return check_result(outcomes, rows)

    return _check


def reconcile(
    con: duckdb.DuckDBPyConnection,
    context: dg.AssetCheckExecutionContext,
    table: str,
    figures: dict[str, tuple[str, str]],
) -> dg.AssetCheckResult:
    """Compare (published, from extracts) SQL figure pairs, each taking the as-of date as $1,
    to the cent; record and return the result."""
    as_of = date.fromisoformat(context.partition_key)
    outcomes, metadata = [], {}
    for name, (published_sql, extract_sql) in figures.items():
        published = float(con.execute(published_sql, [as_of]).fetchone()[0] or 0)
        expected = float(con.execute(extract_sql, [as_of]).fetchone()[0] or 0)
        passed = abs(published - expected) < CENT
        metadata[name] = dg.MetadataValue.json(
            {"published": round(published, 2), "extracts": round(expected, 2)}
        )
        outcomes.append(
            CheckOutcome(
                suite_name=table,
                expectation_type=name,
                column_name=None,
                parameters=json.dumps({"tolerance": 0.01}),
                severity="critical",
                passed=passed,
                element_count=None,
                unexpected_count=None,
                observed_value=json.dumps(
                    {"published": round(published, 2), "extracts": round(expected, 2)}
                ),
            )
        )
    record(
        con,
        run_id=context.run.run_id,
        as_of=as_of,
        table=table,
        source="reconciliation",
        outcomes=outcomes,
    )
    failed = [o.expectation_type for o in outcomes if not o.passed]
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description="all figures reconcile" if not failed else f"not reconciled: {failed}",
    )
