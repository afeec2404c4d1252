"""Blocking asset checks on everything that is published: the GX suites of expectations/
and the reconciliation of published figures with the accepted extract rows (SPEC §5).

Every outcome is appended to audit.data_quality_results; a failed critical check stops the
run before publication, so BI tools never see what failed.
"""

import json

import dagster as dg
import duckdb

from pipelines.defs.ingestion.assets import RAW_KEYS
from pipelines.defs.partitions import as_of_partitions
from pipelines.defs.scoring_assets import (
    CREDIT_FLAGS,
    CREDIT_RATINGS,
    CUSTOMER_TIERS,
    PROSPECT_GRADES,
    SUPPLY_COVER,
)
from pipelines.defs.transform.assets import CUSTOMER_FACTS, MONTHLY_MARTS, PRODUCT_PERFORMANCE
from pipelines.quality.validation import CheckOutcome, validate_table
from pipelines.resources import CrmResource
from pipelines.storage.audit import record

RECONCILE_SALES = "reconcile_net_sales_with_extracts"
RECONCILE_AR = "reconcile_ar_with_extracts"

# Money figures must agree to the cent.
CENT = 0.005


def _gx_check(
    context: dg.AssetCheckExecutionContext,
    crm: CrmResource,
    work_table: str,
    suite: str,
    per_as_of_date: bool = True,
) -> dg.AssetCheckResult:
    as_of = context.partition_key
    where, params = ("as_of_date = ?::date", [as_of]) if per_as_of_date else ("true", [])
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
    return _result(outcomes, rows)


def _result(outcomes: list[CheckOutcome], rows: int) -> dg.AssetCheckResult:
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


def _gx_table_check(
    asset: dg.AssetKey, suite: str, work_table: str, per_as_of_date: bool = True
) -> dg.AssetChecksDefinition:
    """A blocking check running the GX suite expectations/<suite>.json on `work_table` (the
    as-of date's rows, or the whole table for tables rebuilt whole)."""

    @dg.asset_check(
        asset=asset,
        name=f"gx_{suite}",
        blocking=True,
        partitions_def=as_of_partitions,
        description=f"GX suite expectations/{suite}.json on {work_table}"
        + (" for the as-of date." if per_as_of_date else "."),
    )
    def _check(context: dg.AssetCheckExecutionContext, crm: CrmResource) -> dg.AssetCheckResult:
        return _gx_check(context, crm, work_table, suite, per_as_of_date)

    return _check


gx_customer_facts = _gx_table_check(CUSTOMER_FACTS, "customer_facts", "marts.customer_facts")
gx_customer_tiers = _gx_table_check(CUSTOMER_TIERS, "customer_tiers", "scoring.customer_tiers")
gx_credit_flags = _gx_table_check(CREDIT_FLAGS, "credit_flags", "scoring.credit_flags")
gx_supply_cover = _gx_table_check(SUPPLY_COVER, "supply_cover", "scoring.supply_cover")
gx_product_performance = _gx_table_check(
    PRODUCT_PERFORMANCE, "product_performance", "marts.product_performance", per_as_of_date=False
)
# the other published tables, written by the assets above or by dbt
GX_MORE_TABLES = [
    _gx_table_check(CUSTOMER_TIERS, "tier_migrations", "scoring.tier_migrations"),
    _gx_table_check(CUSTOMER_TIERS, "customer_composition", "scoring.customer_composition"),
    _gx_table_check(CREDIT_RATINGS, "credit_scorecard", "scoring.credit_scorecard"),
    _gx_table_check(CREDIT_FLAGS, "credit_flag_changes", "scoring.credit_flag_changes"),
    _gx_table_check(CREDIT_FLAGS, "credit_company_view", "scoring.credit_company_view"),
    _gx_table_check(CREDIT_FLAGS, "credit_watch_list", "scoring.credit_watch_list"),
    _gx_table_check(PROSPECT_GRADES, "prospect_grades", "scoring.prospect_grades"),
    _gx_table_check(SUPPLY_COVER, "key_account_supply_risk", "scoring.key_account_supply_risk"),
    *[
        _gx_table_check(key, key.path[-1], f"marts.{key.path[-1]}", per_as_of_date=False)
        for key in MONTHLY_MARTS
    ],
]


def _reconcile(
    con: duckdb.DuckDBPyConnection,
    context: dg.AssetCheckExecutionContext,
    table: str,
    figures: dict[str, tuple[str, str]],
) -> dg.AssetCheckResult:
    """Compare (published, from extracts) SQL figure pairs; record and return the result."""
    as_of = context.partition_key
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


@dg.asset_check(
    asset=CUSTOMER_TIERS,
    name=RECONCILE_SALES,
    blocking=True,
    partitions_def=as_of_partitions,
    additional_deps=[CUSTOMER_FACTS],
)
def reconcile_net_sales(
    context: dg.AssetCheckExecutionContext, crm: CrmResource
) -> dg.AssetCheckResult:
    """Published 12m net sales and margin equal the accepted sales rows of the trailing 365
    days; every customer of the facts is tiered exactly once."""
    with crm.connect() as con:
        return _reconcile(
            con,
            context,
            "customer_tiers",
            {
                "net_sales_12m_total": (
                    "select sum(monetary_12m) from scoring.customer_tiers where as_of_date = $1::date",
                    "select sum(net_amount) from raw.sales "
                    "where order_date <= $1::date and order_date > $1::date - 365",
                ),
                "gross_margin_12m_total": (
                    "select sum(gross_margin_12m) from marts.customer_facts where as_of_date = $1::date",
                    "select sum(net_amount - coalesce(cost_amount, 0)) from raw.sales "
                    "where order_date <= $1::date and order_date > $1::date - 365",
                ),
                "customers_tiered_more_than_once": (
                    "select count(*) - count(distinct customer_id) from scoring.customer_tiers "
                    "where as_of_date = $1::date",
                    "select 0 where $1::date is not null",
                ),
                "customers_tiered": (
                    "select count(*) from scoring.customer_tiers where as_of_date = $1::date",
                    "select count(*) from marts.customer_facts where as_of_date = $1::date",
                ),
            },
        )


@dg.asset_check(
    asset=CREDIT_FLAGS, name=RECONCILE_AR, blocking=True, partitions_def=as_of_partitions
)
def reconcile_ar(context: dg.AssetCheckExecutionContext, crm: CrmResource) -> dg.AssetCheckResult:
    """Published AR balance equals invoices + reversals - receipts - credit notes over the
    accepted, posted payment rows dated on or before the as-of date; buckets add up."""
    with crm.connect() as con:
        return _reconcile(
            con,
            context,
            "credit_flags",
            {
                "ar_balance_total": (
                    "select sum(ar_balance) from scoring.credit_flags where as_of_date = $1::date",
                    "select sum(case when doc_type in ('invoice', 'reversal') then amount "
                    "when doc_type in ('receipt', 'credit_note') then -amount else 0 end) "
                    "from raw.payments where status = 'posted' and doc_date <= $1::date",
                ),
                "buckets_minus_unapplied_total": (
                    "select sum(ar_current + ar_1_30 + ar_31_60 + ar_61_90 + ar_91_180 + ar_over_180 "
                    "- unapplied_credit) from scoring.credit_flags where as_of_date = $1::date",
                    "select sum(ar_balance) from scoring.credit_flags where as_of_date = $1::date",
                ),
            },
        )


def _raw_extract_check(extract: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=RAW_KEYS[extract],
        name=f"gx_raw_{extract}",
        blocking=True,
        partitions_def=as_of_partitions,
        description=f"GX suite expectations/raw_{extract}.json on the {extract} rows this run loaded.",
    )
    def _check(context: dg.AssetCheckExecutionContext, crm: CrmResource) -> dg.AssetCheckResult:
        run_id = context.run.run_id
        suite = crm.suite_path(f"raw_{extract}")
        with crm.connect() as con:
            query = f"select count(*) from raw.{extract} where _run_id = ?"
            if not con.execute(query, [run_id]).fetchone()[0]:
                return dg.AssetCheckResult(
                    passed=True, description="no new rows in this run", metadata={"rows": 0}
                )
            # a first load holds every row of the history: validated in parts
            outcomes, rows = validate_table(con, f"raw.{extract}", "_run_id = ?", [run_id], suite)
            record(
                con,
                run_id=run_id,
                as_of=context.partition_key,
                table=f"raw.{extract}",
                source="great_expectations",
                outcomes=outcomes,
            )
        return _result(outcomes, rows)

    return _check


RAW_EXTRACT_CHECKS = [_raw_extract_check(name) for name in RAW_KEYS]
