"""Credit rating and credit limits (F23 as amended): plain Polars functions over the
customer facts, the AR position (F21), payment behaviour (F22) and the optional credit
reviews. Flags and actions are in flags.py, the company's exposure in exposure.py.

The rating is a transparent points scorecard (config/crm.yaml credit.rating): each component
scores one figure; the points add up to the behaviour score (0-100), blended with the latest
credit review when one is in force; the score gives the credit class A-D, the class the
limit, and the limit moves toward its target gradually from one as-of date to the next.
"""

from __future__ import annotations

import polars as pl

from pipelines.config import CreditConfig, RatingComponent, RatingConfig

CREDIT_CLASSES = ["A", "B", "C", "D"]
AR_BUCKETS = ["ar_current", "ar_1_30", "ar_31_60", "ar_61_90", "ar_91_180", "ar_over_180"]
# what credit flags take from marts.customer_ar (F21)
AR_COLUMNS = [
    "ar_balance",
    "unapplied_credit",
    "overdue_amount",
    *AR_BUCKETS,
    "dso",
    "max_days_past_due",
]
BEHAVIOUR_COLUMNS = [
    "invoices_due_12m",
    "late_invoices_12m",
    "late_invoice_share_12m",
    "avg_days_late_12m",
    "avg_days_late_q1",
    "avg_days_late_q2",
    "avg_days_late_q3",
    "avg_days_late_q4",
    "days_late_trend",
    "days_late_recent_91d",
    "invoices_recent_91d",
    "days_late_baseline",
    "invoices_baseline",
    "days_late_rise",
    "days_late_rise_se",
    "extension_requests_90d",
    "extension_requests_12m",
    "invoices_issued_90d",
    "bounced_payments_90d",
    "bounced_amount_90d",
    "bounced_payments_12m",
]
# what the rating reads from marts.customer_facts
FACT_COLUMNS = [
    "customer_id",
    "as_of_date",
    "customer_status",
    "onboarding_date",
    "first_order_date",
    "order_count_lifetime",
    "payment_terms_days",
    "deposit_amount",
    "net_sales_12m",
    "margin_rate_12m",
    "cooperation_years",
    "active_months_12m",
]
# the latest credit review in force (the optional credit_reviews extract)
REVIEW_SCHEMA = {
    "customer_id": pl.String,
    "review_date": pl.Date,
    "operating_score": pl.Int64,
    "financial_score": pl.Int64,
    "payment_score": pl.Int64,
    "has_guarantor": pl.Boolean,
    "collateral_amount": pl.Float64,
}
CREDIT_RATING_COLUMNS = [
    "customer_id",
    "as_of_date",
    "customer_status",
    "payment_terms_days",
    "deposit_amount",
    "collateral_amount",
    "has_guarantor",
    "review_date",
    "review_score",
    "behaviour_score",
    "credit_score",
    "rating_basis",
    "credit_class",
    "is_new_customer",
    "average_daily_sales",
    "expected_exposure",
    "credit_limit_target",
    "previous_credit_limit",
    "previous_as_of_date",
    "credit_limit",
    "limit_basis",
    "config_version",
]
SCORECARD_COLUMNS = [
    "customer_id",
    "as_of_date",
    "component_group",
    "component",
    "figure",
    "points",
    "max_points",
    "config_version",
]


def amount(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64)


def rating_figures(cfg: CreditConfig) -> dict[str, pl.Expr]:
    """The figure each scorecard component scores (null = cannot be computed: `missing`)."""
    receivable = pl.sum_horizontal(*[amount(b).fill_null(0) for b in AR_BUCKETS])
    owed = pl.when(receivable > 0).then(receivable)
    security = amount("deposit_amount").fill_null(0) + pl.col("collateral_amount").fill_null(0)
    return {
        "late_invoice_share_12m": pl.col("late_invoice_share_12m").cast(pl.Float64),
        "avg_days_late_12m": pl.col("avg_days_late_12m").cast(pl.Float64),
        "bounced_payments_12m": pl.col("bounced_payments_12m").cast(pl.Float64),
        "extension_requests_12m": pl.col("extension_requests_12m").cast(pl.Float64),
        "overdue_share": (amount("overdue_amount") / owed).round(4),
        "beyond_90_share": ((amount("ar_91_180") + amount("ar_over_180")) / owed).round(4),
        "cooperation_years": pl.col("cooperation_years").cast(pl.Float64),
        "active_months_12m": pl.col("active_months_12m").cast(pl.Float64),
        "net_sales_12m": amount("net_sales_12m"),
        "margin_rate_12m": pl.col("margin_rate_12m").cast(pl.Float64),
        "security_cover": pl.when(pl.col("expected_exposure") > 0).then(
            (security / pl.col("expected_exposure")).round(4)
        ),
        "has_guarantor": pl.col("has_guarantor").cast(pl.Float64),
    }


def component_points(component: RatingComponent, figure: pl.Expr) -> pl.Expr:
    """The points of the first band the figure falls in, `otherwise` beyond them, `missing`
    when the figure is null."""
    points = pl.lit(component.otherwise, pl.Float64)
    for bound, value in reversed(component.bands):
        falls = figure <= bound if component.direction == "at_most" else figure >= bound
        points = pl.when(falls).then(pl.lit(value, pl.Float64)).otherwise(points)
    return pl.when(figure.is_null()).then(pl.lit(component.missing, pl.Float64)).otherwise(points)


def credit_class(cfg: RatingConfig) -> pl.Expr:
    """A >= a_min, B >= b_min, C >= c_min, else D (cash on delivery only)."""
    score = pl.col("credit_score")
    return (
        pl.when(score >= cfg.a_min)
        .then(pl.lit("A"))
        .when(score >= cfg.b_min)
        .then(pl.lit("B"))
        .when(score >= cfg.c_min)
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )


def is_new_customer(cfg: CreditConfig) -> pl.Expr:
    """New customer (F23): onboarded or first ordering within the last N months, or few orders."""
    since = pl.coalesce("onboarding_date", "first_order_date")
    months = (pl.col("as_of_date") - since).dt.total_days() / 30.4375
    return (months.fill_null(0) < cfg.new_customer_max_months) | (
        pl.col("order_count_lifetime") < cfg.new_customer_min_orders
    )


def expected_exposure(cfg: CreditConfig) -> list[pl.Expr]:
    """Average daily net sales (12m sales over the days since the first order, between
    `min_sales_days` and 365) and expected exposure = payment terms x that."""
    days = (
        ((pl.col("as_of_date") - pl.col("first_order_date")).dt.total_days() + 1)
        .fill_null(365)
        .clip(cfg.min_sales_days, 365)
    )
    daily = (amount("net_sales_12m").clip(lower_bound=0) / days).round(2)
    return [
        daily.alias("average_daily_sales"),
        (pl.col("payment_terms_days").fill_null(0) * daily).round(2).alias("expected_exposure"),
    ]


def limit_target(cfg: CreditConfig) -> pl.Expr:
    """The limit the class calls for, CNY (null = unlimited, only when configured): no credit
    for D, closed and 0-day-terms customers; A expected exposure x multiplier (at least the
    A minimum); B expected exposure x multiplier x a factor from 0.8 (score at b_min) to 1.2
    (at a_min), at least the B minimum; C expected exposure x multiplier between the C
    minimum and maximum; new customers at most the new-customer limit."""
    r = cfg.rating
    exposure = pl.col("expected_exposure")
    factor = 0.8 + 0.4 * ((pl.col("credit_score") - r.b_min) / (r.a_min - r.b_min)).clip(0, 1)
    by_class = (
        pl.when(pl.col("credit_class") == "A")
        .then(
            pl.lit(None, pl.Float64)
            if cfg.a_unlimited
            else pl.max_horizontal(exposure * cfg.a_limit_multiplier, pl.lit(cfg.a_min_limit_cny))
        )
        .when(pl.col("credit_class") == "B")
        .then(pl.max_horizontal(exposure * cfg.b_limit_multiplier * factor, cfg.b_min_limit_cny))
        .when(pl.col("credit_class") == "C")
        .then((exposure * cfg.c_limit_multiplier).clip(cfg.c_min_limit_cny, cfg.c_max_limit_cny))
        .otherwise(pl.lit(0.0))
    )
    no_credit = (
        (pl.col("customer_status") == "closed")
        | (pl.col("payment_terms_days").fill_null(0) == 0)
        | (pl.col("credit_class") == "D")
    )
    capped = (
        pl.when(pl.col("is_new_customer"))
        .then(
            pl.min_horizontal(
                by_class.fill_null(cfg.new_customer_limit_cny), cfg.new_customer_limit_cny
            )
        )
        .otherwise(by_class)
    )
    return (
        pl.when(no_credit).then(pl.lit(0.0)).otherwise(capped).round(0, mode="half_away_from_zero")
    )


def stepped_limit(cfg: CreditConfig) -> pl.Expr:
    """The limit in force: the target, reached gradually from the previous as-of date's
    limit (at most limit_loosen_share up or limit_tighten_share down per limit_step_days,
    pro rata to the days between). No credit applies at once; unlimited, a first rating
    and a previously unlimited customer take the target; a customer regaining credit after
    none starts at most at the new-customer limit."""
    target, previous = pl.col("credit_limit_target"), pl.col("previous_credit_limit")
    periods = (
        pl.col("as_of_date") - pl.col("previous_as_of_date")
    ).dt.total_days() / cfg.limit_step_days
    up = previous * (1 + cfg.limit_loosen_share * periods)
    down = previous * (1 - (cfg.limit_tighten_share * periods).clip(upper_bound=1))
    return (
        pl.when(target.is_null() | (target == 0))
        .then(target)
        .when(pl.col("previous_as_of_date").is_null() | previous.is_null())
        .then(target)
        .when(previous == 0)
        .then(pl.min_horizontal(target, pl.lit(cfg.new_customer_limit_cny)))
        .otherwise(target.clip(down, up))
        .round(0, mode="half_away_from_zero")
    )


def money(expr: pl.Expr) -> pl.Expr:
    """A CNY amount as text with thousands separators and no decimals."""
    digits = expr.round(0, mode="half_away_from_zero").cast(pl.Int64).cast(pl.String).str.reverse()
    grouped = digits.str.replace_all(r"(\d{3})", "${1},").str.reverse()
    return grouped.str.replace(r"^(-?),", "${1}")


def limit_basis(cfg: CreditConfig) -> pl.Expr:
    """How the limit was reached, in words a credit controller reads."""
    target = pl.col("credit_limit_target")
    why_target = (
        pl.when(pl.col("customer_status") == "closed")
        .then(pl.lit("closed customer: no credit"))
        .when(pl.col("payment_terms_days").fill_null(0) == 0)
        .then(pl.lit("cash terms (0 days): no credit"))
        .when(pl.col("credit_class") == "D")
        .then(pl.lit("class D: cash on delivery only"))
        .when(target.is_null())
        .then(pl.lit("class A: unlimited by configuration, exposure monitored"))
        .otherwise(
            pl.format(
                "class {}: target {} for an expected exposure of {} ({} days x {}/day){}",
                pl.col("credit_class"),
                money(target),
                money(pl.col("expected_exposure")),
                pl.col("payment_terms_days"),
                money(pl.col("average_daily_sales")),
                pl.when(pl.col("is_new_customer") & (target >= cfg.new_customer_limit_cny))
                .then(pl.lit(f", new customer: at most {cfg.new_customer_limit_cny:,.0f}"))
                .otherwise(pl.lit("")),
            )
        )
    )
    stepped = (
        pl.col("credit_limit").is_not_null()
        & target.is_not_null()
        & (pl.col("credit_limit") != target)
    )
    return (
        pl.when(stepped)
        .then(
            pl.format(
                "{}; moved from {} toward it gradually",
                why_target,
                money(pl.col("previous_credit_limit")),
            )
        )
        .otherwise(why_target)
    )


def _latest_reviews(reviews: pl.DataFrame | None) -> pl.DataFrame:
    """Each customer's latest review (the rows given are dated on or before the as-of date)."""
    frame = (
        reviews.select(list(REVIEW_SCHEMA)).cast(REVIEW_SCHEMA)
        if reviews is not None and not reviews.is_empty()
        else pl.DataFrame(schema=REVIEW_SCHEMA)
    )
    return frame.sort("review_date").group_by("customer_id").last()


def rate_customers(
    facts: pl.DataFrame,
    ar: pl.DataFrame,
    behaviour: pl.DataFrame,
    cfg: CreditConfig,
    config_version: str,
    reviews: pl.DataFrame | None = None,
    history: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Credit ratings (one row per customer: score, class, limit) and the scorecard (one row
    per customer and component: figure and points) for one as-of date.

    `reviews`: credit reviews dated on or before the as-of date (the latest counts while at
    most review_valid_days old); `history`: earlier as-of dates' ratings with customer_id,
    as_of_date and credit_limit, at least each customer's latest (the limit steps from it).
    """
    r = cfg.rating
    frame = (
        facts.select(FACT_COLUMNS)
        .join(ar.select("customer_id", *AR_COLUMNS), on="customer_id", how="left")
        .join(behaviour.select("customer_id", *BEHAVIOUR_COLUMNS), on="customer_id", how="left")
        .join(_latest_reviews(reviews), on="customer_id", how="left")
    )
    in_force = (pl.col("as_of_date") - pl.col("review_date")).dt.total_days() <= r.review_valid_days
    frame = frame.with_columns(
        # a review too old to count is not in force: its guarantor and collateral neither
        *[
            pl.when(in_force).then(pl.col(c)).alias(c)
            for c in [
                "review_date",
                "operating_score",
                "financial_score",
                "payment_score",
                "has_guarantor",
                "collateral_amount",
            ]
        ],
        is_new_customer=is_new_customer(cfg),
    ).with_columns(*expected_exposure(cfg))
    figures = rating_figures(cfg)
    scored = frame.with_columns(
        *[figures[c.component].alias(f"_figure_{c.component}") for c in r.components],
    ).with_columns(
        *[
            component_points(c, pl.col(f"_figure_{c.component}")).alias(f"_points_{c.component}")
            for c in r.components
        ]
    )
    review_score = pl.mean_horizontal("operating_score", "financial_score", "payment_score")
    behaviour_score = pl.sum_horizontal(*[f"_points_{c.component}" for c in r.components])
    scored = (
        scored.with_columns(
            review_score=pl.when(pl.col("review_date").is_not_null()).then(review_score.round(1)),
            behaviour_score=behaviour_score.round(1),
        )
        .with_columns(
            credit_score=pl.when(pl.col("review_score").is_not_null())
            .then(
                (1 - r.review_weight) * pl.col("behaviour_score")
                + r.review_weight * pl.col("review_score")
            )
            .otherwise(pl.col("behaviour_score"))
            .round(1),
            rating_basis=pl.when(pl.col("review_score").is_not_null())
            .then(pl.lit("behaviour_and_review"))
            .otherwise(pl.lit("behaviour_only")),
        )
        .with_columns(credit_class=credit_class(r))
    )
    previous = _previous_limits(history)
    ratings = (
        scored.with_columns(credit_limit_target=limit_target(cfg))
        .join(previous, on="customer_id", how="left")
        .with_columns(credit_limit=stepped_limit(cfg))
        .with_columns(limit_basis=limit_basis(cfg), config_version=pl.lit(config_version))
    )
    scorecard = pl.concat(
        [
            scored.select(
                "customer_id",
                "as_of_date",
                component_group=pl.lit(c.group),
                component=pl.lit(c.component),
                figure=pl.col(f"_figure_{c.component}"),
                points=pl.col(f"_points_{c.component}"),
                max_points=pl.lit(c.max_points, pl.Float64),
            )
            for c in r.components
        ]
        + [
            scored.filter(pl.col("review_score").is_not_null()).select(
                "customer_id",
                "as_of_date",
                component_group=pl.lit("credit_review"),
                component=pl.lit("review_score"),
                figure=pl.col("review_score").cast(pl.Float64),
                points=pl.lit(None, pl.Float64),
                max_points=pl.lit(100.0),
            )
        ]
    ).with_columns(config_version=pl.lit(config_version))
    return (
        ratings.select(CREDIT_RATING_COLUMNS).sort("customer_id"),
        scorecard.select(SCORECARD_COLUMNS).sort("customer_id", "component_group", "component"),
    )


PREVIOUS_SCHEMA = {"customer_id": pl.String, "as_of_date": pl.Date, "credit_limit": pl.Float64}


def _previous_limits(history: pl.DataFrame | None) -> pl.DataFrame:
    """Each customer's latest earlier limit and its as-of date."""
    frame = (
        history.select(list(PREVIOUS_SCHEMA)).cast(PREVIOUS_SCHEMA)
        if history is not None and not history.is_empty()
        else pl.DataFrame(schema=PREVIOUS_SCHEMA)
    )
    return (
        frame.sort("as_of_date")
        .group_by("customer_id")
        .last()
        .select(
            "customer_id",
            previous_credit_limit="credit_limit",
            previous_as_of_date="as_of_date",
        )
    )
