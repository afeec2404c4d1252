"""Churn risk (F19): customers whose silence is long against their own rhythm of ordering."""

from __future__ import annotations

import polars as pl

from pipelines.config import ChurnConfig


def churn_risk(cfg: ChurnConfig) -> list[pl.Expr]:
    """F19: is_churn_risk and churn_risk_reason. At risk when the days since the last order
    exceed `interval_multiple` x the customer's median gap between order days (or
    `fallback_days` without two order days); never-buyers are not scored (null)."""
    recency = pl.col("days_since_last_order")
    median = pl.col("median_order_interval_days").cast(pl.Float64)
    limit = (
        pl.when(median.is_not_null())
        .then(median * cfg.interval_multiple)
        .otherwise(pl.lit(float(cfg.fallback_days)))
    )
    at_risk = pl.when(recency.is_not_null()).then(recency > limit)
    reason = pl.when(at_risk).then(
        pl.concat_str(
            pl.lit("no order for "),
            recency.cast(pl.String),
            pl.lit(" days, more than "),
            pl.when(median.is_not_null())
            .then(
                pl.lit(f"{cfg.interval_multiple:g} x the median gap of ")
                + median.round(1, mode="half_away_from_zero").cast(pl.String)
                + pl.lit(" days")
            )
            .otherwise(pl.lit(f"{cfg.fallback_days} days (fewer than two order days)")),
        )
    )
    return [at_risk.alias("is_churn_risk"), reason.alias("churn_risk_reason")]
