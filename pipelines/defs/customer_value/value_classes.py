"""Value, development and dimension classes and the recommended treatment (F6, F9,
F11, F12): plain Polars expressions over a customer frame."""

from __future__ import annotations

import math

import polars as pl

from pipelines.config import DimensionConfig, ValueClassConfig

DEVELOPMENT_CLASSES = {"low": "mass_distribution", "mid": "deep_distribution", "high": "brand"}
TREATMENTS = {"A": "key_service", "B": "develop_to_a", "C": "maintain", "D": "exit_review"}


def cost_to_serve(cfg: ValueClassConfig) -> pl.Expr:
    """12m cost to serve, CNY: returns handling, carrying cost of overdue AR and the bad-debt
    provision on AR over 90 days (discounts are already netted out of the margin)."""
    f = pl.col
    return (
        f("returns_12m").cast(pl.Float64) * cfg.return_handling_rate
        + f("overdue_amount").cast(pl.Float64).fill_null(0) * cfg.overdue_carrying_rate
        + f("ar_91_180").cast(pl.Float64).fill_null(0) * cfg.provision_91_180
        + f("ar_over_180").cast(pl.Float64).fill_null(0) * cfg.provision_over_180
    ).round(2, mode="half_away_from_zero")


def value_classes(frame: pl.DataFrame, cfg: ValueClassConfig) -> pl.DataFrame:
    """F9: BZC when 12m margin minus cost to serve is negative; else MVC for the top share of
    transacting customers by clv_12m (12m margin where CLV is null); else MGC for the top
    share by growth among customers with enough prior volume and growth who are active,
    alive (p_alive at or above the floor, where the CLV models score it) and not at risk of
    churning; else normal. The
    shares count all transacting customers; BZC and closed customers take no MVC or MGC
    place. Reads is_churn_risk (churn_risk first)."""
    n = int(frame.select((pl.col("net_sales_12m") > 0).sum()).item())
    framed = frame.with_columns(cost_to_serve_12m=cost_to_serve(cfg)).with_columns(
        net_value_12m=(
            pl.col("gross_margin_12m").cast(pl.Float64) - pl.col("cost_to_serve_12m")
        ).round(2, mode="half_away_from_zero")
    )
    worth = pl.coalesce(pl.col("clv_12m"), pl.col("gross_margin_12m").cast(pl.Float64))
    # BZC and closed customers are ranked for nothing else
    transacting = (
        (pl.col("net_sales_12m") > 0)
        & (pl.col("net_value_12m") >= 0)
        & (pl.col("customer_status").fill_null("active") != "closed")
    )
    mvc_rank = pl.when(transacting).then(worth).rank(method="min", descending=True)
    growing = (
        transacting
        & (pl.col("customer_status") == "active")
        # alive: p_alive at the floor; where the models cannot score, not a churn risk
        & (pl.col("p_alive").fill_null(1) >= cfg.mgc_min_p_alive)
        & ~pl.col("is_churn_risk").fill_null(False)
        & (pl.col("net_sales_prior_12m") >= cfg.mgc_min_prior_12m_net_sales)
        & (pl.col("growth_rate_12m") >= cfg.mgc_min_growth_rate)
    )
    mgc_rank = pl.when(growing).then(pl.col("growth_rate_12m")).rank(method="min", descending=True)
    return framed.with_columns(
        value_class=pl.when(pl.col("net_value_12m") < 0)
        .then(pl.lit("BZC"))
        .when(mvc_rank <= math.ceil(n * cfg.mvc_top_share))
        .then(pl.lit("MVC"))
        .when(mgc_rank <= math.ceil(n * cfg.mgc_top_share))
        .then(pl.lit("MGC"))
        .otherwise(pl.lit("normal"))
    )


def development_class() -> pl.Expr:
    """F12: the price tier with the largest 12m sales: low -> mass_distribution, mid ->
    deep_distribution, high -> brand (ties to the lower tier); null without positive sales."""
    tiers = {t: pl.col(f"net_sales_12m_{t}_tier").cast(pl.Float64) for t in ("low", "mid", "high")}
    top = pl.max_horizontal(*tiers.values())
    label = pl.when(top <= 0).then(pl.lit(None, pl.String))
    for tier, amount in tiers.items():
        label = label.when(amount == top).then(pl.lit(DEVELOPMENT_CLASSES[tier]))
    return label.otherwise(pl.lit(None, pl.String))


def dimension_classes(cfg: DimensionConfig, complaints_landed: bool) -> list[pl.Expr]:
    """F11: need category, purchase-frequency band, cooperation band, satisfaction band
    (`unknown` without complaint data: no complaint says nothing of satisfaction)."""
    per_month = pl.col("order_count_12m") / 12
    satisfaction = pl.col("avg_satisfaction_12m")
    band = (
        pl.when(pl.col("complaints_12m") == 0)
        .then(pl.lit("unknown"))
        .when(satisfaction.is_null())
        .then(pl.lit("mid"))
        .when(satisfaction >= cfg.high_satisfaction_min)
        .then(pl.lit("high"))
        .when(satisfaction <= cfg.low_satisfaction_max)
        .then(pl.lit("low"))
        .otherwise(pl.lit("mid"))
    )
    return [
        pl.col("dominant_category_12m").alias("need_category"),
        pl.when(per_month >= cfg.high_frequency_min_orders_per_month)
        .then(pl.lit("high"))
        .when(per_month >= cfg.medium_frequency_min_orders_per_month)
        .then(pl.lit("medium"))
        .when(per_month > 0)
        .then(pl.lit("low"))
        .alias("frequency_band"),
        pl.when(pl.col("cooperation_years") >= cfg.long_term_min_years)
        .then(pl.lit("long_term"))
        .when(pl.col("cooperation_years").is_not_null())
        .then(pl.lit("short_term"))
        .alias("cooperation_band"),
        (band if complaints_landed else pl.lit("unknown")).alias("satisfaction_band"),
    ]


def recommended_treatment() -> pl.Expr:
    """[000]/[002]/[004] strategy per customer, first match: closed -> collect_and_exit
    (still owes) or exit; BZC -> exit_review; never bought -> win_first_order; nothing in
    12m -> reactivate; profit grade A or B with a weak credit class (C or D) or receivables
    more than 60 days past due -> protect_and_secure (protect the relationship, secure the
    receivable); at risk of churning -> win_back (grade A or B) or reactivate; otherwise by
    profit grade: A key_service, B develop_to_a, C maintain, D exit_review."""
    valuable = pl.col("profit_grade").is_in(["A", "B"])
    beyond_60 = pl.sum_horizontal(
        *[pl.col(c).cast(pl.Float64).fill_null(0) for c in ("ar_61_90", "ar_91_180", "ar_over_180")]
    )
    weak_credit = pl.col("credit_class").is_in(["C", "D"]) | (beyond_60 > 0)
    return (
        pl.when((pl.col("customer_status") == "closed") & (pl.col("ar_balance").fill_null(0) > 0))
        .then(pl.lit("collect_and_exit"))
        .when(pl.col("customer_status") == "closed")
        .then(pl.lit("exit"))
        .when(pl.col("value_class") == "BZC")
        .then(pl.lit("exit_review"))
        .when(pl.col("first_order_date").is_null())
        .then(pl.lit("win_first_order"))
        .when(pl.col("net_sales_12m") <= 0)
        .then(pl.lit("reactivate"))
        .when(valuable & weak_credit)
        .then(pl.lit("protect_and_secure"))
        .when(pl.col("is_churn_risk").fill_null(False))
        .then(pl.when(valuable).then(pl.lit("win_back")).otherwise(pl.lit("reactivate")))
        .otherwise(pl.col("profit_grade").replace_strict(TREATMENTS, default=None))
    )
