"""Customer tiering rules (SPEC F4, F5): plain Polars functions, frames in, frames out."""

from __future__ import annotations

import math

import polars as pl

from pipelines.config import AbcConfig, SizeTierConfig

NON_TRANSACTING = "non_transacting"


def abc_classes(
    frame: pl.DataFrame, cfg: AbcConfig, value: str = "net_sales_12m", key: str = "customer_id"
) -> pl.DataFrame:
    """Pareto ABC classes (F4) by `value`, with rank and cumulative share.

    Customers are ranked by value (descending, then key). The share counted before a
    customer decides its class: below `a_max_cumulative_share` -> A, below
    `b_max_cumulative_share` -> B, else C; so the customer that crosses a boundary belongs
    to the higher class. Equal values share the class of the first of them. Customers whose
    value is not positive contribute nothing and are C.
    """
    positive = pl.col(value).clip(lower_bound=0)
    total = positive.sum()
    ranked = frame.sort([value, key], descending=[True, False], nulls_last=True).with_columns(
        abc_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
        abc_cumulative_share=pl.when(total > 0).then(positive.cum_sum() / total),
        _share_before=pl.when(total > 0).then((positive.cum_sum() - positive) / total),
    )
    share_before = pl.col("_share_before").min().over(value)
    return ranked.with_columns(
        abc_class=pl.when(pl.col(value).fill_null(0) <= 0)
        .then(pl.lit("C"))
        .when(share_before < cfg.a_max_cumulative_share)
        .then(pl.lit("A"))
        .when(share_before < cfg.b_max_cumulative_share)
        .then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    ).drop("_share_before")


def size_tiers(
    frame: pl.DataFrame, cfg: SizeTierConfig, value: str = "net_sales_12m"
) -> pl.DataFrame:
    """Size tier of transacting customers (F5): vip / large / medium / small.

    Quantile method: with n customers whose value is positive, the top ceil(n x vip share)
    ranks are VIP, the next ceil(n x large share) large, the next ceil(n x medium share)
    medium, the rest small; equal values take the better tier. Absolute method: CNY
    thresholds. Customers without positive value are `non_transacting`.
    """
    amount = pl.col(value)
    transacting = amount.fill_null(0) > 0
    if cfg.method == "absolute":
        t = cfg.absolute_cny
        tier = (
            pl.when(amount >= t.vip_min)
            .then(pl.lit("vip"))
            .when(amount >= t.large_min)
            .then(pl.lit("large"))
            .when(amount >= t.medium_min)
            .then(pl.lit("medium"))
            .otherwise(pl.lit("small"))
        )
    else:
        n = int(frame.select(transacting.sum()).item())
        vip_n = math.ceil(n * cfg.vip_top_share)
        large_n = vip_n + math.ceil(n * cfg.large_next_share)
        medium_n = large_n + math.ceil(n * cfg.medium_next_share)
        rank = pl.when(transacting).then(amount).rank(method="min", descending=True)
        tier = (
            pl.when(rank <= vip_n)
            .then(pl.lit("vip"))
            .when(rank <= large_n)
            .then(pl.lit("large"))
            .when(rank <= medium_n)
            .then(pl.lit("medium"))
            .otherwise(pl.lit("small"))
        )
    return frame.with_columns(
        size_tier=pl.when(transacting).then(tier).otherwise(pl.lit(NON_TRANSACTING))
    )


def score_customers(
    facts: pl.DataFrame, abc: AbcConfig, size: SizeTierConfig, config_version: str
) -> pl.DataFrame:
    """customer_tiers rows for one as-of date from that date's customer facts."""
    tiered = size_tiers(abc_classes(facts, abc), size)
    return tiered.select(
        "customer_id",
        "as_of_date",
        "customer_type",
        "region",
        "abc_class",
        "abc_rank",
        "abc_cumulative_share",
        "size_tier",
        pl.col("days_since_last_order").alias("recency_days"),
        pl.col("order_days_12m").alias("frequency_12m"),
        pl.col("net_sales_12m").alias("monetary_12m"),
        pl.lit(config_version).alias("config_version"),
    ).sort("customer_id")
