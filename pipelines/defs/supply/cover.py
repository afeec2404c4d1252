"""Key-account supply assurance (F18): days of channel stock cover, with a stricter
threshold in the weeks before a peak season, and per key account the products at risk,
ranked by the sell-in they carry. Plain Polars over the dbt cover inputs."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.config import SupplyCoverConfig
from pipelines.defs.customer_value.key_accounts import is_key_account

SUPPLY_COVER_COLUMNS = [
    "customer_id",
    "product_id",
    "as_of_date",
    "size_tier",
    "abc_class",
    "stock_snapshot_date",
    "stock_quantity",
    "stock_counted_as_zero",
    "sell_in_quantity",
    "sell_in_value",
    "last_purchase_date",
    "sell_in_days",
    "avg_daily_sell_in",
    "days_of_cover",
    "peak_season",
    "threshold_days",
    "has_min_sell_in",
    "is_below_threshold",
    "cover_note",
    "config_version",
]

SUPPLY_RISK_COLUMNS = [
    "customer_id",
    "as_of_date",
    "size_tier",
    "abc_class",
    "stock_snapshot_date",
    "products_in_scope",
    "products_with_min_sell_in",
    "products_at_risk",
    "stock_outs",
    "stock_outs_not_on_snapshot",
    "products_cover_unknown",
    "min_days_of_cover",
    "sell_in_value",
    "sell_in_value_at_risk",
    "threshold_days",
    "peak_season",
    "risk_rank",
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
    and product it bought in the window or holds on its latest snapshot (if recent).

    When the ERP omits zero-stock lines (`cfg.erp_omits_zero_stock_lines`), a product absent
    from a recent snapshot held none: stock 0, `stock_counted_as_zero`, and 0 days of cover
    when it was bought, unless it was last bought after the snapshot (a delivery the
    snapshot cannot show: its stock is unknown). A product is flagged below the threshold
    in force on `as_of` only when its sell-in value over the window reaches
    `cfg.min_sell_in_value_cny`. Where cover cannot be computed (no recent snapshot, product
    not on it while zero lines are listed or bought since, no sell-in) it is null and not
    flagged; `cover_note` says why, and says when a product short of the threshold is not
    flagged for its small sell-in."""
    season = cfg.peak_season(as_of)
    threshold = cfg.peak_min_days_of_cover if season else cfg.min_days_of_cover
    key_accounts = tiers.filter(is_key_account()).select("customer_id", "size_tier", "abc_class")
    stock_age = (pl.lit(as_of) - pl.col("stock_snapshot_date")).dt.total_days()
    stock_known = stock_age.is_not_null() & (stock_age <= cfg.max_stock_age_days)
    missing = pl.col("stock_quantity").is_null()
    # delivered after the snapshot was taken: its absence from it says nothing of today
    bought_after = (pl.col("last_purchase_date") > pl.col("stock_snapshot_date")).fill_null(False)
    # the ERP lists only what is in stock: absent from a recent snapshot means none held
    omits_zero_lines = pl.lit(cfg.erp_omits_zero_stock_lines)
    counted_as_zero = stock_known & missing & ~bought_after & omits_zero_lines
    daily = pl.col("sell_in_quantity").cast(pl.Float64) / pl.col("sell_in_days")
    on_snapshot = stock_known & pl.col("stock_quantity").is_not_null()
    has_min = pl.col("sell_in_value").cast(pl.Float64) >= cfg.min_sell_in_value_cny
    # in scope: products the key account bought in the window or holds on a recent snapshot
    in_scope = (pl.col("sell_in_quantity") != 0) | (stock_known & ~missing)
    why_unknown = (
        pl.when(pl.col("stock_snapshot_date").is_null())
        .then(pl.lit("no stock snapshot"))
        .when(~stock_known)
        .then(pl.lit(f"latest stock snapshot older than {cfg.max_stock_age_days} days"))
        .when(pl.col("stock_counted_as_zero"))
        .then(pl.lit("not on the latest stock snapshot: counted as zero stock"))
        .when(pl.col("stock_quantity").is_null() & bought_after & omits_zero_lines)
        .then(pl.lit("bought after the latest stock snapshot, not on it: stock unknown"))
        .when(pl.col("stock_quantity").is_null())
        .then(pl.lit("not on the customer's latest stock snapshot"))
    )
    no_sell_in = pl.when(on_snapshot & (daily <= 0)).then(
        pl.format("no sell-in in the last {} days", pl.col("sell_in_days"))
    )
    # said where it makes the difference: cover below the threshold, yet no flag
    below_min = pl.when((pl.col("days_of_cover") < threshold) & ~pl.col("has_min_sell_in")).then(
        pl.format(
            "not flagged: sell-in of {} CNY in {} days is below the {} CNY minimum",
            pl.col("sell_in_value").cast(pl.Float64).round(0).cast(pl.Int64),
            pl.col("sell_in_days"),
            pl.lit(f"{cfg.min_sell_in_value_cny:g}"),
        )
    )
    note = pl.concat_str([why_unknown, no_sell_in, below_min], separator="; ", ignore_nulls=True)
    frame = (
        cover.join(key_accounts, on="customer_id", how="inner")
        .filter(in_scope)
        .with_columns(
            stock_counted_as_zero=counted_as_zero,
            stock_quantity=pl.when(counted_as_zero)
            .then(pl.col("stock_quantity").fill_null(0))
            .otherwise(pl.col("stock_quantity"))
            .cast(cover.schema["stock_quantity"]),
            has_min_sell_in=has_min,
        )
        .with_columns(
            avg_daily_sell_in=daily.round(4, mode="half_away_from_zero"),
            days_of_cover=pl.when(on_snapshot & (daily > 0))
            .then(
                (pl.col("stock_quantity").cast(pl.Float64) / daily).round(
                    1, mode="half_away_from_zero"
                )
            )
            .otherwise(None),
        )
        .with_columns(cover_note=pl.when(note != "").then(note))
    )
    return (
        frame.with_columns(
            as_of_date=pl.lit(as_of, pl.Date),
            peak_season=pl.lit(season, pl.String),
            threshold_days=pl.lit(threshold, pl.Float64),
            is_below_threshold=pl.col("has_min_sell_in")
            & (pl.col("days_of_cover").fill_null(float("inf")) < threshold),
            config_version=pl.lit(version),
        )
        .select(SUPPLY_COVER_COLUMNS)
        .sort("customer_id", "product_id")
    )


def key_account_supply_risk(cover: pl.DataFrame) -> pl.DataFrame:
    """One row per key account of `supply_cover`'s result: its products in scope, those at
    risk (flagged), of which stock-outs (zero stock, and of those the ones counted as zero
    because the latest snapshot omits them), products bought whose cover is unknown, the
    smallest days of cover among products with the minimum sell-in, and the sell-in value
    of the window in all and at risk. `risk_rank` orders the accounts with a product at risk:
    the largest sell-in value at risk first (then more products at risk, the smaller days
    of cover, the customer id); null for an account with nothing at risk."""
    at_risk = pl.col("is_below_threshold")
    zero_stock = pl.col("stock_quantity").cast(pl.Float64) == 0
    value = pl.col("sell_in_value").cast(pl.Float64)
    summary = cover.group_by("customer_id", maintain_order=True).agg(
        pl.col("as_of_date").first(),
        pl.col("size_tier").first(),
        pl.col("abc_class").first(),
        pl.col("stock_snapshot_date").max(),
        products_in_scope=pl.len().cast(pl.Int64),
        products_with_min_sell_in=pl.col("has_min_sell_in").sum().cast(pl.Int64),
        products_at_risk=at_risk.sum().cast(pl.Int64),
        stock_outs=(at_risk & zero_stock).sum().cast(pl.Int64),
        stock_outs_not_on_snapshot=(at_risk & pl.col("stock_counted_as_zero")).sum().cast(pl.Int64),
        products_cover_unknown=(
            pl.col("days_of_cover").is_null() & (pl.col("sell_in_quantity") > 0)
        )
        .sum()
        .cast(pl.Int64),
        min_days_of_cover=pl.col("days_of_cover").filter(pl.col("has_min_sell_in")).min(),
        sell_in_value=value.sum().round(2),
        sell_in_value_at_risk=value.filter(at_risk).sum().round(2),
        threshold_days=pl.col("threshold_days").first(),
        peak_season=pl.col("peak_season").first(),
        config_version=pl.col("config_version").first(),
    )
    ranked = summary.sort(
        [
            pl.col("products_at_risk") > 0,
            "sell_in_value_at_risk",
            "products_at_risk",
            "min_days_of_cover",
            "customer_id",
        ],
        descending=[True, True, True, False, False],
        nulls_last=True,
    ).with_columns(
        risk_rank=pl.when(pl.col("products_at_risk") > 0).then(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
        )
    )
    return ranked.select(SUPPLY_RISK_COLUMNS)
