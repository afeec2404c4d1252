"""Classes by cumulative share (Pareto): ABC classes (F4) and the revenue and profit grades
(F6). Plain Polars functions, frames in, frames out."""

from __future__ import annotations

import polars as pl

from pipelines.config import AbcConfig, GradeConfig

SHARE_TOLERANCE = 1e-9


def pareto_classes(
    frame: pl.DataFrame,
    value: str,
    bounds: list[tuple[str, float]],
    rest: str,
    name: str,
    key: str = "customer_id",
) -> pl.DataFrame:
    """Classes by cumulative share of `value` (ABC analysis), with rank and cumulative share.

    Rows are ranked by value (descending, then key). The share counted before a row decides
    its class: the first class whose bound that share is below, else `rest`; so the row that
    crosses a boundary takes the higher class. Equal values share the class of the first of
    them. Rows whose value is not positive contribute nothing and are `rest`. Adds `name`,
    `{name}_rank` and `{name}_cumulative_share`.
    """
    # in floating point: a DECIMAL(38,2) amount divided by a total stays at 2 decimals
    positive = pl.col(value).cast(pl.Float64).clip(lower_bound=0)
    total = positive.sum()
    ranked = frame.sort([value, key], descending=[True, False], nulls_last=True).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias(f"{name}_rank"),
        pl.when(total > 0)
        .then((positive.cum_sum() / total).round(6, mode="half_away_from_zero"))
        .alias(f"{name}_cumulative_share"),
        _share_before=pl.when(total > 0).then((positive.cum_sum() - positive) / total),
    )
    share_before = pl.col("_share_before").min().over(value)
    label = pl.when(pl.col(value).fill_null(0) <= 0).then(pl.lit(rest))
    for cls, bound in bounds:
        # a share before that is the bound up to rounding noise has not crossed it
        label = label.when(share_before < bound - SHARE_TOLERANCE).then(pl.lit(cls))
    return ranked.with_columns(label.otherwise(pl.lit(rest)).alias(name)).drop("_share_before")


def abc_classes(
    frame: pl.DataFrame, cfg: AbcConfig, value: str = "net_sales_12m", key: str = "customer_id"
) -> pl.DataFrame:
    """Pareto ABC classes (F4) by `value`: A below the A share, B below the B share, else C."""
    bounds = [("A", cfg.a_max_cumulative_share), ("B", cfg.b_max_cumulative_share)]
    return pareto_classes(frame, value, bounds, "C", "abc_class", key).rename(
        {"abc_class_rank": "abc_rank", "abc_class_cumulative_share": "abc_cumulative_share"}
    )


def grades(frame: pl.DataFrame, cfg: GradeConfig) -> pl.DataFrame:
    """Grades A-D (F6) by 12m revenue (`revenue_grade`) and by 12m gross margin
    (`profit_grade`), each by cumulative share; non-positive values are D."""
    bounds = [
        ("A", cfg.a_max_cumulative_share),
        ("B", cfg.b_max_cumulative_share),
        ("C", cfg.c_max_cumulative_share),
    ]
    graded = pareto_classes(frame, "net_sales_12m", bounds, "D", "revenue_grade")
    graded = pareto_classes(graded, "gross_margin_12m", bounds, "D", "profit_grade")
    return graded.drop(
        "revenue_grade_rank",
        "revenue_grade_cumulative_share",
        "profit_grade_rank",
        "profit_grade_cumulative_share",
    )
