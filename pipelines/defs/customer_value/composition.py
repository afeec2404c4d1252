"""Customer composition (F3): sales and share by customer type, by region, and by ABC
class within each type, for one as-of date."""

from __future__ import annotations

import polars as pl

GROUPINGS = {
    "customer_type": ["customer_type"],
    "region": ["region"],
    "customer_type_abc": ["customer_type", "abc_class"],
}


def customer_composition(tiers: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """One row per dimension and segment: customers, 12m net sales and margin, and the share
    of the company's 12m net sales (share within the type as well for type x ABC)."""
    frame = (
        tiers.select("customer_id", "as_of_date", "customer_type", "region", "abc_class")
        .join(facts.select("customer_id", "net_sales_12m", "gross_margin_12m"), on="customer_id")
        .with_columns(
            pl.col("customer_type", "region").fill_null("unknown"),
            pl.col("net_sales_12m", "gross_margin_12m").cast(pl.Float64),
        )
    )
    total = frame["net_sales_12m"].sum()
    parts = []
    for dimension, keys in GROUPINGS.items():
        grouped = frame.group_by("as_of_date", *keys).agg(
            pl.len().alias("customers"),
            (pl.col("net_sales_12m") > 0).sum().alias("transacting_customers"),
            pl.col("net_sales_12m")
            .sum()
            .round(2, mode="half_away_from_zero")
            .alias("net_sales_12m"),
            pl.col("gross_margin_12m")
            .sum()
            .round(2, mode="half_away_from_zero")
            .alias("gross_margin_12m"),
        )
        within = (
            pl.col("net_sales_12m") / pl.col("net_sales_12m").sum().over("customer_type")
            if len(keys) > 1
            else pl.lit(None, pl.Float64)
        )
        parts.append(
            grouped.select(
                "as_of_date",
                pl.lit(dimension).alias("dimension"),
                pl.concat_str([pl.col(k) for k in keys], separator="/").alias("segment"),
                "customers",
                "transacting_customers",
                "net_sales_12m",
                "gross_margin_12m",
                (pl.col("net_sales_12m") / total if total else pl.lit(None, pl.Float64))
                .round(6, mode="half_away_from_zero")
                .alias("share_of_company_12m"),
                within.round(6, mode="half_away_from_zero").alias("share_within_type_12m"),
            )
        )
    return pl.concat(parts).sort("dimension", "segment")
