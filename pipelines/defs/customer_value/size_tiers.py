"""Size tiers (F5): VIP, large, medium and small customers by 12m net sales."""

from __future__ import annotations

import math

import polars as pl

from pipelines.config import SizeTierConfig

NON_TRANSACTING = "non_transacting"


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
