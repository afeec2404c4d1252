"""Credit rating, limits, flags, actions, flag history and the company view (SPEC F23-F25,
as amended by the credit-decisions issue): plain Polars functions over the customer facts,
the AR position (F21), payment behaviour (F22) and the optional credit reviews.

The rating is a transparent points scorecard (config/crm.yaml credit.rating): each component
scores one figure; the points add up to the behaviour score (0-100), blended with the latest
credit review when one is in force; the score gives the credit class A-D, the class the
limit, and the limit moves toward its target gradually from one as-of date to the next.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.config import CreditConfig, RatingComponent, RatingConfig

# The action ladder of SPEC F24, mildest first; a customer gets the strongest its flags call for.
ACTIONS = [
    "none",
    "require_guarantee_or_deposit",
    "reduce_supply",
    "cash_on_delivery",
    "hold_shipments",
]
# reason code -> action it calls for
REASON_ACTIONS = {
    "NEW_CUSTOMER_CAP": "none",
    "OVER_LIMIT": "require_guarantee_or_deposit",
    "DETERIORATING": "require_guarantee_or_deposit",
    "REPEATED_EXTENSIONS": "require_guarantee_or_deposit",
    "OVERDUE_60": "reduce_supply",
    "CREDIT_CLASS_D": "cash_on_delivery",
    "BOUNCED_PAYMENT_90D": "cash_on_delivery",
    "BAD_DEBT_RISK_180": "hold_shipments",
    "CLOSED_WITH_BALANCE": "hold_shipments",
}
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
CREDIT_FLAG_COLUMNS = [
    "customer_id",
    "as_of_date",
    *AR_COLUMNS,
    *BEHAVIOUR_COLUMNS,
    "abc_class",
    "customer_status",
    "behaviour_score",
    "review_date",
    "review_score",
    "credit_score",
    "credit_class",
    "rating_basis",
    "is_new_customer",
    "payment_terms_days",
    "average_daily_sales",
    "expected_exposure",
    "deposit_amount",
    "collateral_amount",
    "has_guarantor",
    "exposure",
    "credit_limit_target",
    "previous_credit_limit",
    "credit_limit",
    "limit_basis",
    "utilisation",
    "reason_codes",
    "reason_details",
    "is_flagged",
    "recommended_action",
    "flagged_since",
    "action_since",
    "config_version",
]


def _amount(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64)


def rating_figures(cfg: CreditConfig) -> dict[str, pl.Expr]:
    """The figure each scorecard component scores (null = cannot be computed: `missing`)."""
    receivable = pl.sum_horizontal(*[_amount(b).fill_null(0) for b in AR_BUCKETS])
    owed = pl.when(receivable > 0).then(receivable)
    security = _amount("deposit_amount").fill_null(0) + pl.col("collateral_amount").fill_null(0)
    return {
        "late_invoice_share_12m": pl.col("late_invoice_share_12m").cast(pl.Float64),
        "avg_days_late_12m": pl.col("avg_days_late_12m").cast(pl.Float64),
        "bounced_payments_12m": pl.col("bounced_payments_12m").cast(pl.Float64),
        "extension_requests_12m": pl.col("extension_requests_12m").cast(pl.Float64),
        "overdue_share": (_amount("overdue_amount") / owed).round(4),
        "beyond_90_share": ((_amount("ar_91_180") + _amount("ar_over_180")) / owed).round(4),
        "cooperation_years": pl.col("cooperation_years").cast(pl.Float64),
        "active_months_12m": pl.col("active_months_12m").cast(pl.Float64),
        "net_sales_12m": _amount("net_sales_12m"),
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
    daily = (_amount("net_sales_12m").clip(lower_bound=0) / days).round(2)
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


def _money(expr: pl.Expr) -> pl.Expr:
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
                _money(target),
                _money(pl.col("expected_exposure")),
                pl.col("payment_terms_days"),
                _money(pl.col("average_daily_sales")),
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
                _money(pl.col("previous_credit_limit")),
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


def _rules(cfg: CreditConfig) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """reason code -> (when it applies, the figures that raised it)."""
    d = cfg.deteriorating
    beyond_60 = _amount("ar_61_90") + _amount("ar_91_180") + _amount("ar_over_180")
    owes = _amount("ar_balance") > 0
    extended_share = pl.col("extension_requests_90d") / pl.col("invoices_issued_90d").clip(
        lower_bound=1
    )
    return {
        "NEW_CUSTOMER_CAP": (
            pl.col("is_new_customer") & (pl.col("customer_status") != "closed"),
            pl.lit(f"new customer: limit at most {cfg.new_customer_limit_cny:,.0f}"),
        ),
        "OVER_LIMIT": (
            (pl.col("credit_limit") > 0) & (pl.col("exposure") > pl.col("credit_limit")),
            pl.format(
                "exposure {} over the limit {} (AR {} less deposit and collateral {})",
                _money(pl.col("exposure")),
                _money(pl.col("credit_limit")),
                _money(_amount("ar_balance")),
                _money(
                    _amount("deposit_amount").fill_null(0)
                    + pl.col("collateral_amount").fill_null(0)
                ),
            ),
        ),
        "DETERIORATING": (
            owes
            & (pl.col("invoices_recent_91d") >= d.min_recent_invoices)
            & (pl.col("invoices_baseline") >= d.min_baseline_invoices)
            & (pl.col("days_late_rise") >= d.min_rise_days)
            & (pl.col("days_late_rise_se") >= d.min_rise_standard_errors),
            pl.format(
                "{} days late in the last 91 days against its own {} before "
                "({} and {} invoices; rise {} standard errors)",
                pl.col("days_late_recent_91d"),
                pl.col("days_late_baseline"),
                pl.col("invoices_recent_91d"),
                pl.col("invoices_baseline"),
                pl.col("days_late_rise_se"),
            ),
        ),
        "REPEATED_EXTENSIONS": (
            owes
            & (pl.col("extension_requests_90d") >= cfg.repeated_extensions_min_90d)
            & (extended_share >= cfg.repeated_extensions_min_share),
            pl.format(
                "{} extension requests in 90 days on {} invoices issued",
                pl.col("extension_requests_90d"),
                pl.col("invoices_issued_90d"),
            ),
        ),
        "OVERDUE_60": (
            beyond_60 > 0,
            pl.format("{} CNY more than 60 days past due", _money(beyond_60)),
        ),
        "CREDIT_CLASS_D": (
            pl.col("credit_class") == "D",
            pl.format(
                "credit score {} (class D below {})",
                pl.col("credit_score"),
                pl.lit(cfg.rating.c_min),
            ),
        ),
        "BOUNCED_PAYMENT_90D": (
            pl.col("bounced_payments_90d") > 0,
            pl.format(
                "{} bounced payment(s) of {} CNY in {} days",
                pl.col("bounced_payments_90d"),
                _money(_amount("bounced_amount_90d")),
                pl.lit(cfg.bounced_lookback_days),
            ),
        ),
        "BAD_DEBT_RISK_180": (
            _amount("ar_over_180") > 0,
            pl.format("{} CNY more than 180 days past due", _money(_amount("ar_over_180"))),
        ),
        "CLOSED_WITH_BALANCE": (
            (pl.col("customer_status") == "closed") & owes,
            pl.format("closed customer still owes {} CNY", _money(_amount("ar_balance"))),
        ),
    }


def reason_codes(cfg: CreditConfig) -> list[pl.Expr]:
    """reason_codes (the codes that apply, in REASON_ACTIONS order; empty = no flag) and
    reason_details (for each code, the figures that raised it)."""
    rules = _rules(cfg)
    applies = {code: rule.fill_null(False) for code, (rule, _) in rules.items()}
    return [
        pl.concat_list([pl.when(applies[code]).then(pl.lit(code)) for code in rules])
        .list.drop_nulls()
        .alias("reason_codes"),
        pl.concat_list(
            [
                pl.when(applies[code]).then(pl.lit(f"{code}: ") + detail.fill_null("?"))
                for code, (_, detail) in rules.items()
            ]
        )
        .list.drop_nulls()
        .alias("reason_details"),
    ]


def recommended_action() -> pl.Expr:
    """The strongest action on the ladder called for by the reason codes."""
    levels = {code: ACTIONS.index(action) for code, action in REASON_ACTIONS.items()}
    level = (
        pl.col("reason_codes").list.eval(pl.element().replace_strict(levels, default=0)).list.max()
    )
    return level.fill_null(0).replace_strict(dict(enumerate(ACTIONS)), return_dtype=pl.String)


# What a date's flags carry forward to the next: each customer's latest earlier row.
SINCE_COLUMNS = {
    "customer_id": pl.String,
    "as_of_date": pl.Date,
    "is_flagged": pl.Boolean,
    "recommended_action": pl.String,
    "flagged_since": pl.Date,
    "action_since": pl.Date,
}


def _since(history: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """flagged_since: first as-of date of the customer's current unbroken run of flagged
    dates; action_since: first date of its current unbroken run of the same recommended
    action. Carried forward from each customer's latest row in `history` (earlier as-of
    dates, SINCE_COLUMNS): a run goes on while the state is the same as on that row and
    starts on this date otherwise; a date missing for a customer does not break a run. Only
    the latest row per customer matters, however many dates came before."""
    latest = (
        history.select(list(SINCE_COLUMNS)).cast(SINCE_COLUMNS)
        if not history.is_empty()
        else pl.DataFrame(schema=SINCE_COLUMNS)
    )
    latest = (
        latest.sort("as_of_date")
        .group_by("customer_id")
        .last()
        .select(
            "customer_id",
            *[pl.col(c).alias(f"_before_{c}") for c in list(SINCE_COLUMNS)[1:]],
        )
    )
    before = {c: pl.col(f"_before_{c}") for c in SINCE_COLUMNS}
    return (
        frame.join(latest, on="customer_id", how="left")
        .with_columns(
            flagged_since=pl.when(pl.col("is_flagged")).then(
                pl.when(before["is_flagged"])
                .then(pl.coalesce(before["flagged_since"], before["as_of_date"]))
                .otherwise(pl.col("as_of_date"))
            ),
            action_since=pl.when(before["recommended_action"] == pl.col("recommended_action"))
            .then(pl.coalesce(before["action_since"], before["as_of_date"]))
            .otherwise(pl.col("as_of_date")),
        )
        .drop([f"_before_{c}" for c in list(SINCE_COLUMNS)[1:]])
    )


def flag_customers(
    ratings: pl.DataFrame,
    tiers: pl.DataFrame,
    ar: pl.DataFrame,
    behaviour: pl.DataFrame,
    cfg: CreditConfig,
    config_version: str,
    history: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """credit_flags rows for one as-of date: AR position, payment behaviour, the rating and
    limit (from `rate_customers`), exposure and utilisation, reason codes with the figures
    behind them, the action and since when (from `history`: credit flags of earlier as-of
    dates, at least each customer's latest, with the SINCE_COLUMNS)."""
    frame = (
        ratings.join(tiers.select("customer_id", "abc_class"), on="customer_id", how="left")
        .join(ar.select("customer_id", *AR_COLUMNS), on="customer_id", how="left")
        .join(behaviour.select("customer_id", *BEHAVIOUR_COLUMNS), on="customer_id", how="left")
        .with_columns(
            exposure=(
                _amount("ar_balance").fill_null(0)
                - _amount("deposit_amount").fill_null(0)
                - pl.col("collateral_amount").fill_null(0)
            ).round(2)
        )
        .with_columns(
            utilisation=pl.when(pl.col("credit_limit") > 0).then(
                (pl.col("exposure") / pl.col("credit_limit")).round(4, mode="half_away_from_zero")
            )
        )
        .with_columns(*reason_codes(cfg))
        .with_columns(recommended_action=recommended_action())
        .with_columns(
            # a flag calls for action: NEW_CUSTOMER_CAP alone informs, it does not flag
            is_flagged=pl.col("recommended_action") != "none",
            config_version=pl.lit(config_version),
        )
    )
    return (
        _since(history if history is not None else pl.DataFrame(), frame)
        .select(CREDIT_FLAG_COLUMNS)
        .sort("customer_id")
    )


def flag_changes(previous: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """Reason codes raised and cleared per customer since the previous as-of date computed,
    and the action before and after (F24 history). Empty without a previous date."""
    schema = {
        "customer_id": pl.String,
        "reason_code": pl.String,
        "change": pl.String,
        "recommended_action_before": pl.String,
        "recommended_action_after": pl.String,
    }
    if previous.is_empty():
        return pl.DataFrame(schema=schema)

    def codes(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select("customer_id", "reason_codes", "recommended_action").explode(
            "reason_codes"
        )

    before, after = codes(previous), codes(current)
    actions = previous.select("customer_id", recommended_action_before="recommended_action").join(
        current.select("customer_id", recommended_action_after="recommended_action"),
        on="customer_id",
        how="full",
        coalesce=True,
    )
    pairs = before.select("customer_id", "reason_codes").unique().drop_nulls()
    now = after.select("customer_id", "reason_codes").unique().drop_nulls()
    raised = now.join(pairs, on=["customer_id", "reason_codes"], how="anti").with_columns(
        change=pl.lit("raised")
    )
    cleared = pairs.join(now, on=["customer_id", "reason_codes"], how="anti").with_columns(
        change=pl.lit("cleared")
    )
    return (
        pl.concat([raised, cleared])
        .rename({"reason_codes": "reason_code"})
        .join(actions, on="customer_id", how="left")
        .select(list(schema))
        .cast(schema)
        .sort("customer_id", "reason_code")
    )


def company_view(flags: pl.DataFrame, cfg: CreditConfig, as_of: date) -> pl.DataFrame:
    """F25 in one row: total AR against the warning line (a configured share of the
    company's assets), AR concentration in the top customers, and the flagged exposure."""
    amounts = flags.with_columns(
        balance=pl.col("ar_balance").cast(pl.Float64),
        owed=pl.col("ar_balance").cast(pl.Float64).clip(lower_bound=0),
    ).sort(["balance", "customer_id"], descending=[True, False])
    warning_line = cfg.ar_warning_share * cfg.company_assets_cny
    total = amounts["balance"].sum()
    owed = amounts["owed"].sum()

    def share_of_owed(part: pl.DataFrame) -> float | None:
        return round(part["owed"].sum() / owed, 4) if owed > 0 else None

    def total_of(column: str) -> float:
        return round(float(flags[column].cast(pl.Float64).sum()), 2)

    actions = {
        f"customers_{action}": [int((flags["recommended_action"] == action).sum())]
        for action in ACTIONS[1:]
    }
    flagged = amounts.filter(pl.col("recommended_action") != "none")
    view = pl.DataFrame(
        {
            "as_of_date": [as_of],
            "total_ar_balance": [round(total, 2)],
            "total_receivable": [round(owed, 2)],
            "total_unapplied_credit": [total_of("unapplied_credit")],
            "total_overdue_amount": [total_of("overdue_amount")],
            "total_ar_over_180": [total_of("ar_over_180")],
            "company_assets_cny": [float(cfg.company_assets_cny)],
            "ar_warning_share": [cfg.ar_warning_share],
            "warning_line_cny": [round(warning_line, 2)],
            "ar_to_warning_line": [round(total / warning_line, 4)],
            "is_above_warning_line": [total > warning_line],
            "concentration_top_n": [cfg.concentration_top_n],
            "top_n_ar_share": [share_of_owed(amounts.head(cfg.concentration_top_n))],
            "top_customer_ar_share": [share_of_owed(amounts.head(1))],
            "customers_with_ar": [int((amounts["balance"] > 0).sum())],
            "flagged_customers": [int(flags["is_flagged"].sum())],
            "flagged_exposure": [round(flagged["owed"].sum(), 2)],
            **actions,
        }
    )
    # typed, so a first date without AR does not create integer or null-typed columns
    shares = ["ar_to_warning_line", "top_n_ar_share", "top_customer_ar_share"]
    return view.with_columns(pl.col(shares).cast(pl.Float64))


def watch_list(flags: pl.DataFrame, tiers: pl.DataFrame) -> pl.DataFrame:
    """F25 watch list: customers whose flags call for an action, largest exposure first,
    with the value classes beside the risk (a valuable customer going bad is worth a call)."""
    return (
        flags.filter(pl.col("recommended_action") != "none")
        .join(
            tiers.select("customer_id", "size_tier", "value_class", "clv_12m"),
            on="customer_id",
            how="left",
        )
        .sort(["ar_balance", "customer_id"], descending=[True, False])
        .with_columns(exposure_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int32))
        .select(
            "as_of_date",
            "exposure_rank",
            "customer_id",
            "ar_balance",
            "overdue_amount",
            "ar_over_180",
            "exposure",
            "credit_class",
            "credit_score",
            "credit_limit",
            "utilisation",
            "reason_codes",
            "reason_details",
            "recommended_action",
            "flagged_since",
            "abc_class",
            "size_tier",
            "value_class",
            "clv_12m",
        )
    )
