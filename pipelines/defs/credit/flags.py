"""Credit flags and the recommended action (F24 as amended): reason codes from the AR
position, payment behaviour and the credit rating, the action each calls for, since when a
customer has been flagged, and the flags raised and cleared between two as-of dates."""

from __future__ import annotations

import polars as pl

from pipelines.config import CreditConfig
from pipelines.defs.credit.rating import AR_COLUMNS, BEHAVIOUR_COLUMNS, amount, money

# The action ladder of F24, mildest first; a customer gets the strongest its flags call for.
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


def _rules(cfg: CreditConfig) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """reason code -> (when it applies, the figures that raised it)."""
    d = cfg.deteriorating
    beyond_60 = amount("ar_61_90") + amount("ar_91_180") + amount("ar_over_180")
    owes = amount("ar_balance") > 0
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
                money(pl.col("exposure")),
                money(pl.col("credit_limit")),
                money(amount("ar_balance")),
                money(
                    amount("deposit_amount").fill_null(0) + pl.col("collateral_amount").fill_null(0)
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
            pl.format("{} CNY more than 60 days past due", money(beyond_60)),
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
                money(amount("bounced_amount_90d")),
                pl.lit(cfg.bounced_lookback_days),
            ),
        ),
        "BAD_DEBT_RISK_180": (
            amount("ar_over_180") > 0,
            pl.format("{} CNY more than 180 days past due", money(amount("ar_over_180"))),
        ),
        "CLOSED_WITH_BALANCE": (
            (pl.col("customer_status") == "closed") & owes,
            pl.format("closed customer still owes {} CNY", money(amount("ar_balance"))),
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
                amount("ar_balance").fill_null(0)
                - amount("deposit_amount").fill_null(0)
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
