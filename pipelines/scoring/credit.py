"""Credit limits, flags, actions, flag history and the company view (SPEC F23-F25): plain
Polars functions over the AR position (F21) and payment behaviour (F22) marts."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.config import CreditConfig

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
    "OVERDUE_60": "reduce_supply",
    "BOUNCED_PAYMENT_90D": "cash_on_delivery",
    "BAD_DEBT_RISK_180": "hold_shipments",
}
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
    "extension_requests_90d",
    "extension_requests_12m",
    "bounced_payments_90d",
    "bounced_amount_90d",
]
CREDIT_FLAG_COLUMNS = [
    "customer_id",
    "as_of_date",
    *AR_COLUMNS,
    *BEHAVIOUR_COLUMNS,
    "abc_class",
    "is_new_customer",
    "behaviour_factor",
    "credit_limit",
    "utilisation",
    "reason_codes",
    "is_flagged",
    "recommended_action",
    "flagged_since",
    "action_since",
    "config_version",
]


def is_new_customer(cfg: CreditConfig) -> pl.Expr:
    """New customer (F23): onboarded or first ordering within the last N months, or few orders."""
    since = pl.coalesce("onboarding_date", "first_order_date")
    months = (pl.col("as_of_date") - since).dt.total_days() / 30.4375
    return (months.fill_null(0) < cfg.new_customer_max_months) | (
        pl.col("order_count_lifetime") < cfg.new_customer_min_orders
    )


def behaviour_factor(cfg: CreditConfig) -> pl.Expr:
    """F23 adjustment of the B limit: the factor of the first band whose max is not below the
    customer's 12m average days late; 1 without payment history."""
    days = pl.col("avg_days_late_12m")
    expr = pl.lit(cfg.behaviour_factors[-1].factor)
    for band in reversed(cfg.behaviour_factors[:-1]):
        expr = pl.when(days <= band.max_avg_days_late).then(pl.lit(band.factor)).otherwise(expr)
    return pl.when(days.is_null()).then(pl.lit(1.0)).otherwise(expr)


def credit_limit(cfg: CreditConfig) -> pl.Expr:
    """Credit limit in CNY (null = unlimited): new customers small, A unlimited,
    B = payment terms x average daily 12m sales x multiplier x behaviour factor (at least
    the C limit), C small."""
    daily_sales = pl.col("net_sales_12m").cast(pl.Float64).clip(lower_bound=0) / 365
    b_limit = (
        pl.col("payment_terms_days").fill_null(0)
        * daily_sales
        * cfg.b_limit_multiplier
        * pl.col("behaviour_factor")
    )
    return (
        pl.when(pl.col("is_new_customer"))
        .then(pl.lit(cfg.new_customer_limit_cny))
        .when(pl.col("abc_class") == "A")
        .then(pl.lit(None, pl.Float64))
        .when(pl.col("abc_class") == "B")
        .then(pl.max_horizontal(b_limit, cfg.c_limit_cny))
        .otherwise(pl.lit(cfg.c_limit_cny))
        .round(2, mode="half_away_from_zero")
    )


def reason_codes(cfg: CreditConfig) -> pl.Expr:
    """The list of reason codes that apply (empty list = no flag), in REASON_ACTIONS order."""
    overdue_beyond_60 = pl.col("ar_61_90") + pl.col("ar_91_180") + pl.col("ar_over_180")
    rules = {
        "NEW_CUSTOMER_CAP": pl.col("is_new_customer"),
        "OVER_LIMIT": pl.col("utilisation") > 1,
        "DETERIORATING": (pl.col("days_late_trend") >= cfg.deteriorating_min_trend_days)
        | (pl.col("extension_requests_90d") >= cfg.deteriorating_min_extensions_90d),
        "OVERDUE_60": overdue_beyond_60 > 0,
        "BOUNCED_PAYMENT_90D": pl.col("bounced_payments_90d") > 0,
        "BAD_DEBT_RISK_180": pl.col("ar_over_180") > 0,
    }
    return pl.concat_list(
        [pl.when(rule.fill_null(False)).then(pl.lit(code)) for code, rule in rules.items()]
    ).list.drop_nulls()


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
    tiers: pl.DataFrame,
    facts: pl.DataFrame,
    ar: pl.DataFrame,
    behaviour: pl.DataFrame,
    cfg: CreditConfig,
    config_version: str,
    history: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """credit_flags rows for one as-of date: AR position, payment behaviour, limit,
    utilisation, flags and action, and since when (from `history`: credit flags of earlier
    as-of dates, at least each customer's latest, with the SINCE_COLUMNS)."""
    frame = (
        facts.select(
            "customer_id",
            "as_of_date",
            "onboarding_date",
            "first_order_date",
            "order_count_lifetime",
            "payment_terms_days",
            "net_sales_12m",
        )
        .join(tiers.select("customer_id", "abc_class"), on="customer_id", how="left")
        .join(ar.select("customer_id", *AR_COLUMNS), on="customer_id", how="left")
        .join(behaviour.select("customer_id", *BEHAVIOUR_COLUMNS), on="customer_id", how="left")
        .with_columns(is_new_customer=is_new_customer(cfg), behaviour_factor=behaviour_factor(cfg))
        .with_columns(credit_limit=credit_limit(cfg))
    )
    balance = pl.col("ar_balance").cast(pl.Float64)
    frame = (
        frame.with_columns(
            utilisation=pl.when(pl.col("credit_limit") > 0).then(
                (balance / pl.col("credit_limit")).round(4, mode="half_away_from_zero")
            )
        )
        .with_columns(reason_codes=reason_codes(cfg))
        .with_columns(
            recommended_action=recommended_action(),
        )
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
            "credit_limit",
            "utilisation",
            "reason_codes",
            "recommended_action",
            "flagged_since",
            "abc_class",
            "size_tier",
            "value_class",
            "clv_12m",
        )
    )
