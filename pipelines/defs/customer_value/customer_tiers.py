"""All customer tiers of one as-of date (F4-F9, F11, F12), applied in one place. The classes
by cumulative share (ABC, F4; revenue and profit grades, F6) come computed from dbt
(int_customer_pareto_classes, by the rule products are classified by too); the other tiers
are computed here."""

from __future__ import annotations

import polars as pl

from pipelines.config import CrmConfig
from pipelines.defs.customer_value.churn import churn_risk
from pipelines.defs.customer_value.clv import score_clv
from pipelines.defs.customer_value.rfm import rfm
from pipelines.defs.customer_value.size_tiers import size_tiers
from pipelines.defs.customer_value.value_classes import (
    development_class,
    dimension_classes,
    recommended_treatment,
    value_classes,
)

TIER_COLUMNS = [
    "customer_id",
    "as_of_date",
    "customer_type",
    "region",
    "customer_status",
    "abc_class",
    "abc_rank",
    "abc_cumulative_share",
    "size_tier",
    "revenue_grade",
    "profit_grade",
    "recency_days",
    "frequency_12m",
    "monetary_12m",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_code",
    "rfm_segment",
    "p_alive",
    "expected_purchases_365d",
    "expected_spend",
    "clv_12m",
    "clv_null_reason",
    "cost_to_serve_12m",
    "net_value_12m",
    "value_class",
    "development_class",
    "need_category",
    "frequency_band",
    "cooperation_band",
    "satisfaction_band",
    "median_order_interval_days",
    "is_churn_risk",
    "churn_risk_reason",
    "credit_class",
    "recommended_treatment",
    "config_version",
]

# the columns of int_customer_pareto_classes the tiers publish as they are
PARETO_COLUMNS = ["abc_class", "abc_rank", "abc_cumulative_share", "revenue_grade", "profit_grade"]


def score_customers(
    facts: pl.DataFrame,
    pareto: pl.DataFrame,
    ar: pl.DataFrame,
    config: CrmConfig,
    complaints_landed: bool,
    ratings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """customer_tiers rows for one as-of date from that date's customer facts, classes by
    cumulative share (int_customer_pareto_classes), AR and credit ratings (the credit class
    feeds the recommended treatment)."""
    ratings = (
        ratings.select("customer_id", "credit_class")
        if ratings is not None and not ratings.is_empty()
        else pl.DataFrame(schema={"customer_id": pl.String, "credit_class": pl.String})
    )
    frame = (
        facts.join(pareto.select("customer_id", *PARETO_COLUMNS), on="customer_id", how="left")
        .join(
            ar.select(
                "customer_id",
                "ar_balance",
                "overdue_amount",
                "ar_61_90",
                "ar_91_180",
                "ar_over_180",
            ),
            on="customer_id",
            how="left",
        )
        .join(ratings, on="customer_id", how="left")
        .with_columns(
            recency_days=pl.col("days_since_last_order"),
            frequency_12m=pl.col("order_days_12m"),
            monetary_12m=pl.col("net_sales_12m"),
        )
    )
    frame = size_tiers(frame, config.size_tier)
    frame = rfm(frame, config.rfm)
    frame = frame.join(score_clv(facts, config.clv), on="customer_id", how="left")
    frame = value_classes(frame.with_columns(*churn_risk(config.churn)), config.value_classes)
    return (
        frame.with_columns(
            *dimension_classes(config.dimensions, complaints_landed),
            development_class=development_class(),
            config_version=pl.lit(config.version),
        )
        .with_columns(recommended_treatment=recommended_treatment())
        .select(TIER_COLUMNS)
        .sort("customer_id")
    )
