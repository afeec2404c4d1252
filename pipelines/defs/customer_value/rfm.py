"""RFM scores and segments (F7): plain Polars functions."""

from __future__ import annotations

import polars as pl

from pipelines.config import RfmConfig

LOST = "Lost"


def quintile_score(value: pl.Expr, higher_is_better: bool = True) -> pl.Expr:
    """Score 1-5 by quintile of rank: floor(5 x (rank - 1) / n) + 1, ranks by 'min' so equal
    values score the same; nulls stay null (they are not in the population)."""
    ranked = value.rank(method="min", descending=not higher_is_better)
    n = value.count()
    return ((ranked - 1) * 5 // n + 1).cast(pl.Int8)


def rfm(frame: pl.DataFrame, cfg: RfmConfig) -> pl.DataFrame:
    """rfm_r, rfm_f, rfm_m, rfm_code and rfm_segment for customers with any purchase.

    Recency = days since the last purchase (fewer is better), frequency = distinct order days
    in 12m, monetary = 12m net sales. Scores are quintiles among customers who ever bought;
    the segment comes from the configured R x F grid, except that "New" is decided by the
    first purchase (within `new_customer_max_days`: New whatever the cell; the New cell's
    others take `new_cell_otherwise`); buyers without a purchase in 12m are Lost; customers
    who never bought have no scores.
    """
    bought = pl.col("recency_days").is_not_null()
    scored = frame.with_columns(
        rfm_r=quintile_score(pl.col("recency_days"), higher_is_better=False),
        rfm_f=quintile_score(pl.when(bought).then(pl.col("frequency_12m"))),
        rfm_m=quintile_score(pl.when(bought).then(pl.col("monetary_12m").cast(pl.Float64))),
    )
    grid = pl.DataFrame(
        [(r, f, s.segment) for s in cfg.segments for r in s.r for f in s.f],
        schema={"rfm_r": pl.Int8, "rfm_f": pl.Int8, "rfm_segment": pl.String},
        orient="row",
    )
    first_purchase_days = (pl.col("as_of_date") - pl.col("first_order_date")).dt.total_days()
    newcomer = bought & (first_purchase_days <= cfg.new_customer_max_days)
    return scored.join(grid, on=["rfm_r", "rfm_f"], how="left", maintain_order="left").with_columns(
        rfm_code=pl.concat_str("rfm_r", "rfm_f", "rfm_m"),
        rfm_segment=pl.when(bought & (pl.col("frequency_12m") == 0))
        .then(pl.lit(LOST))
        .when(newcomer.fill_null(False))
        .then(pl.lit(cfg.new_segment))
        .when(pl.col("rfm_segment") == cfg.new_segment)
        .then(pl.lit(cfg.new_cell_otherwise))
        .otherwise(pl.col("rfm_segment")),
    )
