"""Blocking checks on the customer-value tables (the scores, and the marts dbt builds for
this domain): their GX suites, and the reconciliation of the published 12m sales and margin
with the accepted sales rows."""

import dagster as dg

from pipelines.defs.customer_value.keys import (
    CUSTOMER_COMPOSITION,
    CUSTOMER_TIERS,
    TIER_MIGRATIONS,
)
from pipelines.defs.partitions import as_of_partitions
from pipelines.defs.transform.keys import CUSTOMER_FACTS, MONTHLY_MARTS, PRODUCT_PERFORMANCE
from pipelines.quality.checks import gx_table_check, reconcile
from pipelines.resources import CrmResource

RECONCILE_SALES = "reconcile_net_sales_with_extracts"

GX_CHECKS = [
    gx_table_check(CUSTOMER_FACTS, "customer_facts", "marts.customer_facts", as_of_partitions),
    gx_table_check(
        PRODUCT_PERFORMANCE,
        "product_performance",
        "marts.product_performance",
        as_of_partitions,
        per_as_of_date=False,
    ),
    *[
        gx_table_check(
            key, key.path[-1], f"marts.{key.path[-1]}", as_of_partitions, per_as_of_date=False
        )
        for key in MONTHLY_MARTS
    ],
    gx_table_check(CUSTOMER_TIERS, "customer_tiers", "scoring.customer_tiers", as_of_partitions),
    gx_table_check(TIER_MIGRATIONS, "tier_migrations", "scoring.tier_migrations", as_of_partitions),
    gx_table_check(
        CUSTOMER_COMPOSITION,
        "customer_composition",
        "scoring.customer_composition",
        as_of_partitions,
    ),
]


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
        return reconcile(
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


CHECKS = [*GX_CHECKS, reconcile_net_sales]
