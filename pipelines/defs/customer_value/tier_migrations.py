"""Tier history (F13): who moved between classes from one as-of date to the next."""

from __future__ import annotations

import polars as pl

# Classes best first; a move towards the front is an upgrade.
ORDERED = {
    "abc_class": ["A", "B", "C"],
    "size_tier": ["vip", "large", "medium", "small", "non_transacting"],
    "revenue_grade": ["A", "B", "C", "D"],
    "profit_grade": ["A", "B", "C", "D"],
    "value_class": ["MVC", "MGC", "normal", "BZC"],
}
UNORDERED = ["rfm_segment", "development_class"]
DIMENSIONS = [*ORDERED, *UNORDERED]
EVIDENCE = ["monetary_12m", "net_value_12m", "clv_12m"]


def _long(tiers: pl.DataFrame, side: str) -> pl.DataFrame:
    return (
        tiers.select("customer_id", *DIMENSIONS, *EVIDENCE)
        .unpivot(
            index=["customer_id", *EVIDENCE],
            on=DIMENSIONS,
            variable_name="dimension",
            value_name=f"{side}_class",
        )
        .rename({c: f"{c}_{side}" for c in EVIDENCE})
    )


def _fmt(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .cast(pl.Float64)
        .round(2, mode="half_away_from_zero")
        .cast(pl.String)
        .fill_null("-")
    )


def tier_migrations(previous: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """One row per customer and dimension whose class differs between two as-of dates.

    direction: upgrade / downgrade (ordered classes), changed (segments), new (no class
    before), lost (no class now); reason shows the 12m sales, net value and CLV before and
    after, the figures the classes are computed from. Without a previous date: no rows.
    """
    if previous.is_empty():  # the first as-of date has nothing to move from
        current = current.clear()
    before, after = _long(previous, "from"), _long(current, "to")
    joined = before.join(after, on=["customer_id", "dimension"], how="full", coalesce=True)
    changed = joined.filter(pl.col("from_class").ne_missing(pl.col("to_class")))
    rank_from = pl.lit(None, pl.Int32)
    rank_to = pl.lit(None, pl.Int32)
    for dimension, order in ORDERED.items():
        index = {c: i for i, c in enumerate(order)}
        is_dim = pl.col("dimension") == dimension
        rank_from = (
            pl.when(is_dim)
            .then(pl.col("from_class").replace_strict(index, default=None, return_dtype=pl.Int32))
            .otherwise(rank_from)
        )
        rank_to = (
            pl.when(is_dim)
            .then(pl.col("to_class").replace_strict(index, default=None, return_dtype=pl.Int32))
            .otherwise(rank_to)
        )
    direction = (
        pl.when(pl.col("from_class").is_null())
        .then(pl.lit("new"))
        .when(pl.col("to_class").is_null())
        .then(pl.lit("lost"))
        .when(rank_to < rank_from)
        .then(pl.lit("upgrade"))
        .when(rank_to > rank_from)
        .then(pl.lit("downgrade"))
        .otherwise(pl.lit("changed"))
    )
    reason = pl.concat_str(
        pl.lit("12m net sales "),
        _fmt("monetary_12m_from"),
        pl.lit(" -> "),
        _fmt("monetary_12m_to"),
        pl.lit("; net value "),
        _fmt("net_value_12m_from"),
        pl.lit(" -> "),
        _fmt("net_value_12m_to"),
        pl.lit("; CLV "),
        _fmt("clv_12m_from"),
        pl.lit(" -> "),
        _fmt("clv_12m_to"),
    )
    return changed.select(
        "customer_id",
        "dimension",
        "from_class",
        "to_class",
        direction.alias("direction"),
        reason.alias("reason"),
    ).sort("customer_id", "dimension")
