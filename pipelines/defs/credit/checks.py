"""Blocking checks on the credit tables: their GX suites, and the reconciliation of the
published AR balance with the accepted payment rows."""

import dagster as dg

from pipelines.defs.credit.keys import (
    CREDIT_COMPANY_VIEW,
    CREDIT_FLAG_CHANGES,
    CREDIT_FLAGS,
    CREDIT_SCORECARD,
    CREDIT_WATCH_LIST,
)
from pipelines.defs.partitions import as_of_partitions
from pipelines.quality.checks import gx_table_check, reconcile
from pipelines.resources import CrmResource

RECONCILE_AR = "reconcile_ar_with_extracts"

GX_CHECKS = [
    gx_table_check(key, key.path[-1], f"scoring.{key.path[-1]}", as_of_partitions)
    for key in (
        CREDIT_FLAGS,
        CREDIT_SCORECARD,
        CREDIT_FLAG_CHANGES,
        CREDIT_COMPANY_VIEW,
        CREDIT_WATCH_LIST,
    )
]


@dg.asset_check(
    asset=CREDIT_FLAGS, name=RECONCILE_AR, blocking=True, partitions_def=as_of_partitions
)
def reconcile_ar(context: dg.AssetCheckExecutionContext, crm: CrmResource) -> dg.AssetCheckResult:
    """Published AR balance equals invoices + reversals - receipts - credit notes over the
    accepted, posted payment rows dated on or before the as-of date; buckets add up."""
    with crm.connect() as con:
        return reconcile(
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


CHECKS = [*GX_CHECKS, reconcile_ar]
