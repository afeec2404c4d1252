"""Prospect grades A-D by likelihood to close (F10): plain Polars functions."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.config import ProspectConfig
from pipelines.defs.customer_value.key_accounts import is_key_account

# Referrers whose word counts: key accounts, by their tiers on the same date.
KEY_CUSTOMER = is_key_account("referrer_size_tier", "referrer_abc_class")


def grade_prospects(
    prospects: pl.DataFrame,
    tiers: pl.DataFrame,
    cfg: ProspectConfig,
    as_of: date,
    customers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """prospect_grades rows: points from stage, recency of contact, visits, expected volume
    and a referral by a key customer (VIP, large or A), the grade and the points' breakdown.
    A lost prospect is D whatever its points. A prospect whose name key equals a customer's
    (`customers`: customer_id, customer_name_key) is already that customer."""
    names = pl.DataFrame(schema={"name_key": pl.String, "existing_customer_id": pl.String})
    if customers is not None and not customers.is_empty():
        names = (
            customers.select(
                pl.col("customer_name_key").alias("name_key"),
                pl.col("customer_id").alias("existing_customer_id"),
            )
            .drop_nulls("name_key")
            .group_by("name_key")
            .agg(pl.col("existing_customer_id").min())
        )
    if "name_key" not in prospects.columns:
        prospects = prospects.with_columns(name_key=pl.lit(None, pl.String))
    referrers = tiers.select(
        pl.col("customer_id").alias("referred_by_customer_id"),
        pl.col("size_tier").alias("referrer_size_tier"),
        pl.col("abc_class").alias("referrer_abc_class"),
    )
    days = (pl.lit(as_of) - pl.col("last_contact_date")).dt.total_days()
    volume = pl.col("expected_monthly_volume").cast(pl.Float64).fill_null(0)
    volume_points = pl.lit(0.0)
    for threshold, points in sorted(cfg.volume_points.items()):
        volume_points = pl.when(volume >= threshold).then(pl.lit(points)).otherwise(volume_points)
    parts = {
        "stage_points": pl.col("stage").replace_strict(
            cfg.stage_points, default=0.0, return_dtype=pl.Float64
        ),
        "contact_points": pl.when(days <= 30)
        .then(cfg.contact_within_30_days_points)
        .when(days <= 90)
        .then(cfg.contact_within_90_days_points)
        .otherwise(0.0),
        "visit_points": (pl.col("visit_count").fill_null(0) * cfg.points_per_visit)
        .clip(upper_bound=cfg.max_visit_points)
        .cast(pl.Float64),
        "volume_points": volume_points,
        "referral_points": pl.when(KEY_CUSTOMER.fill_null(False))
        .then(cfg.referral_by_key_customer_points)
        .otherwise(0.0),
    }
    scored = (
        prospects.join(referrers, on="referred_by_customer_id", how="left")
        .join(names, on="name_key", how="left")
        .with_columns(**parts)
        .with_columns(prospect_score=pl.sum_horizontal(*parts))
    )
    grade = (
        pl.when(pl.col("stage") == "lost")
        .then(pl.lit("D"))
        .when(pl.col("prospect_score") >= cfg.a_min)
        .then(pl.lit("A"))
        .when(pl.col("prospect_score") >= cfg.b_min)
        .then(pl.lit("B"))
        .when(pl.col("prospect_score") >= cfg.c_min)
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )
    return scored.select(
        "prospect_id",
        pl.lit(as_of).alias("as_of_date"),
        "customer_type",
        "region",
        "stage",
        "lead_source",
        "referred_by_customer_id",
        *parts,
        "prospect_score",
        grade.alias("prospect_grade"),
        "name_key",
        "existing_customer_id",
    ).sort("prospect_id")
