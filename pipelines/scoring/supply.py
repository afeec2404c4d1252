"""Key-account supply assurance (SPEC F18): days of channel stock cover, with a stricter
threshold in the weeks before a peak season. Plain Polars over the dbt cover inputs."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.config import SupplyCoverConfig

KEY_ACCOUNT_SIZE_TIERS = ("vip", "large")

SUPPLY_COVER_COLUMNS = [
    "customer_id",
    "product_id",
    "as_of_date",
    "size_tier",
    "abc_class",
    "stock_snapshot_date",
    "stock_quantity",
    "sell_in_quantity",
    "sell_in_days",
    "avg_daily_sell_in",
    "days_of_cover",
    "peak_season",
    "threshold_days",
    "is_below_threshold",
    "cover_note",
    "config_version",
]


def supply_cover(
    cover: pl.DataFrame,
    tiers: pl.DataFrame,
    cfg: SupplyCoverConfig,
    as_of: date,
    version: str,
) -> pl.DataFrame:
    """Days of cover = stock / average daily sell-in, per key account (VIP, large or ABC A)
    and product it bought in the window or holds on its latest snapshot (if recent);
    flagged below the threshold in force on `as_of`. Where cover cannot be computed (no
    recent snapshot, product not on it, no sell-in) it is null, not flagged, and says why."""
    season = cfg.peak_season(as_of)
    threshold = cfg.peak_min_days_of_cover if season else cfg.min_days_of_cover
    key_accounts = tiers.filter(
        pl.col("size_tier").is_in(KEY_ACCOUNT_SIZE_TIERS) | (pl.col("abc_class") == "A")
    ).select("customer_id", "size_tier", "abc_class")
    stock_age = (pl.lit(as_of) - pl.col("stock_snapshot_date")).dt.total_days()
    stock_known = stock_age.is_not_null() & (stock_age <= cfg.max_stock_age_days)
    daily = pl.col("sell_in_quantity").cast(pl.Float64) / pl.col("sell_in_days")
    on_snapshot = stock_known & pl.col("stock_quantity").is_not_null()
    # in scope: products the key account bought in the window or holds on a recent snapshot
    in_scope = (pl.col("sell_in_quantity") != 0) | on_snapshot
    frame = (
        cover.join(key_accounts, on="customer_id", how="inner")
        .filter(in_scope)
        .with_columns(
            avg_daily_sell_in=daily.round(4, mode="half_away_from_zero"),
            days_of_cover=pl.when(on_snapshot & (daily > 0))
            .then(
                (pl.col("stock_quantity").cast(pl.Float64) / daily).round(
                    1, mode="half_away_from_zero"
                )
            )
            .otherwise(None),
            cover_note=pl.when(pl.col("stock_snapshot_date").is_null())
            .then(pl.lit("no stock snapshot"))
            .when(~stock_known)
            .then(pl.lit(f"latest stock snapshot older than {cfg.max_stock_age_days} days"))
            .when(pl.col("stock_quantity").is_null())
            .then(pl.lit("not on the customer's latest stock snapshot"))
            .when(daily <= 0)
            .then(pl.format("no sell-in in the last {} days", pl.col("sell_in_days")))
            .otherwise(None),
        )
    )
    return (
        frame.with_columns(
            as_of_date=pl.lit(as_of, pl.Date),
            peak_season=pl.lit(season, pl.String),
            threshold_days=pl.lit(threshold, pl.Float64),
            is_below_threshold=pl.col("days_of_cover").fill_null(float("inf")) < threshold,
            config_version=pl.lit(version),
        )
        .select(SUPPLY_COVER_COLUMNS)
        .sort("customer_id", "product_id")
    )
