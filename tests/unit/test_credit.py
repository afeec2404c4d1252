"""Credit limits, reason codes and actions (F23, F24) on hand-made frames."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.scoring.credit import (
    BEHAVIOUR_COLUMNS,
    company_view,
    flag_changes,
    flag_customers,
    watch_list,
)

AS_OF = date(2026, 6, 30)


def _inputs(rows: list[dict]) -> tuple[pl.DataFrame, ...]:
    base = {
        "onboarding_date": date(2020, 1, 1),
        "first_order_date": date(2020, 2, 1),
        "order_count_lifetime": 50,
        "payment_terms_days": 30,
        "net_sales_12m": 365_000.0,
        "abc_class": "B",
        "ar_balance": 0.0,
        "unapplied_credit": 0.0,
        "overdue_amount": 0.0,
        "ar_current": 0.0,
        "ar_1_30": 0.0,
        "ar_31_60": 0.0,
        "ar_61_90": 0.0,
        "ar_91_180": 0.0,
        "ar_over_180": 0.0,
        "dso": None,
        "bounced_payments_90d": 0,
        "max_days_past_due": 0,
        "avg_days_late_12m": None,
        "days_late_trend": None,
        "extension_requests_90d": 0,
    }
    frame = pl.DataFrame([base | r | {"as_of_date": AS_OF} for r in rows])
    facts = frame.select(
        "customer_id",
        "as_of_date",
        "onboarding_date",
        "first_order_date",
        "order_count_lifetime",
        "payment_terms_days",
        "net_sales_12m",
    )
    tiers = frame.select("customer_id", "abc_class")
    ar = frame.select(
        "customer_id",
        "as_of_date",
        "ar_balance",
        "unapplied_credit",
        "overdue_amount",
        "ar_current",
        "ar_1_30",
        "ar_31_60",
        "ar_61_90",
        "ar_91_180",
        "ar_over_180",
        "dso",
        "max_days_past_due",
    )
    behaviour = frame.select(
        "customer_id",
        *[pl.lit(None, pl.Float64).alias(c) for c in BEHAVIOUR_COLUMNS if c not in frame.columns],
        *[c for c in BEHAVIOUR_COLUMNS if c in frame.columns],
    )
    return tiers, facts, ar, behaviour


def test_limits_by_class_and_new_customer(config):
    tiers, facts, ar, behaviour = _inputs(
        [
            {"customer_id": "A1", "abc_class": "A"},
            # B: 30 days x 1,000 a day x 1.5 = 45,000
            {"customer_id": "B1", "abc_class": "B"},
            # B with little sales: at least the C limit
            {"customer_id": "B2", "abc_class": "B", "net_sales_12m": 3650.0},
            {"customer_id": "C1", "abc_class": "C"},
            # onboarded 2 months ago: new-customer limit whatever the class
            {"customer_id": "N1", "abc_class": "A", "onboarding_date": date(2026, 5, 1)},
            # old but only 2 orders: new-customer limit
            {"customer_id": "N2", "abc_class": "B", "order_count_lifetime": 2},
        ]
    )
    flags = flag_customers(tiers, facts, ar, behaviour, config.credit, config.version)
    limits = dict(flags.select("customer_id", "credit_limit").iter_rows())
    assert limits == {
        "A1": None,
        "B1": 45_000.0,
        "B2": 20_000.0,
        "C1": 20_000.0,
        "N1": 10_000.0,
        "N2": 10_000.0,
    }
    assert flags["config_version"].unique().to_list() == [config.version]


def test_reason_codes_and_the_strongest_action(config):
    tiers, facts, ar, behaviour = _inputs(
        [
            {"customer_id": "ok", "ar_balance": 1000.0, "ar_current": 1000.0},
            # 46,000 on a 45,000 limit
            {"customer_id": "over", "ar_balance": 46_000.0, "ar_current": 46_000.0},
            {"customer_id": "late", "ar_balance": 500.0, "ar_61_90": 500.0},
            {
                "customer_id": "bounced",
                "bounced_payments_90d": 1,
                "ar_balance": 10.0,
                "ar_1_30": 10.0,
            },
            {
                "customer_id": "bad",
                "ar_balance": 900.0,
                "ar_over_180": 900.0,
                "bounced_payments_90d": 2,
            },
            {"customer_id": "unlimited", "abc_class": "A", "ar_balance": 9e9, "ar_current": 9e9},
        ]
    )
    flags = flag_customers(tiers, facts, ar, behaviour, config.credit, config.version)
    got = {
        r["customer_id"]: (r["reason_codes"], r["recommended_action"], r["utilisation"])
        for r in flags.iter_rows(named=True)
    }
    assert got["ok"] == ([], "none", round(1000 / 45_000, 4))
    assert got["over"] == (
        ["OVER_LIMIT"],
        "require_guarantee_or_deposit",
        round(46_000 / 45_000, 4),
    )
    assert got["late"][:2] == (["OVERDUE_60"], "reduce_supply")
    assert got["bounced"][:2] == (["BOUNCED_PAYMENT_90D"], "cash_on_delivery")
    assert got["bad"][:2] == (
        ["OVERDUE_60", "BOUNCED_PAYMENT_90D", "BAD_DEBT_RISK_180"],
        "hold_shipments",
    )
    assert got["unlimited"] == ([], "none", None)


def test_b_limits_follow_payment_behaviour(config):
    # B: 30 days x 1,000 a day x 1.5 = 45,000 x the band factor of the 12m days late
    tiers, facts, ar, behaviour = _inputs(
        [
            {"customer_id": "none", "abc_class": "B"},  # no history: factor 1
            {"customer_id": "d5", "abc_class": "B", "avg_days_late_12m": 5.0},  # <= 5: 1.0
            {"customer_id": "d10", "abc_class": "B", "avg_days_late_12m": 10.0},  # <= 15: 0.8
            {"customer_id": "d30", "abc_class": "B", "avg_days_late_12m": 30.0},  # <= 30: 0.6
            {"customer_id": "d31", "abc_class": "B", "avg_days_late_12m": 30.1},  # beyond: 0.4
            # 0.4 x 45,000 = 18,000 is under the C limit: 20,000
            {"customer_id": "cfloor", "abc_class": "B", "avg_days_late_12m": 90.0},
            {"customer_id": "a", "abc_class": "A", "avg_days_late_12m": 90.0},  # unlimited
        ]
    )
    flags = flag_customers(tiers, facts, ar, behaviour, config.credit, config.version)
    got = {
        r[0]: r[1:] for r in flags.select("customer_id", "behaviour_factor", "credit_limit").rows()
    }
    assert got == {
        "none": (1.0, 45_000.0),
        "d5": (1.0, 45_000.0),
        "d10": (0.8, 36_000.0),
        "d30": (0.6, 27_000.0),
        "d31": (0.4, 20_000.0),  # 18,000 is under the C limit
        "cfloor": (0.4, 20_000.0),
        "a": (0.4, None),
    }


def test_deteriorating_and_new_customer_cap(config):
    tiers, facts, ar, behaviour = _inputs(
        [
            {"customer_id": "trend10", "days_late_trend": 10.0},  # at the threshold
            {"customer_id": "trend9", "days_late_trend": 9.9},
            {"customer_id": "ext2", "extension_requests_90d": 2},
            {"customer_id": "ext1", "extension_requests_90d": 1},
            {"customer_id": "new", "onboarding_date": date(2026, 3, 1)},  # 4 months
            # new and over its 10,000 cap: the cap does not soften OVER_LIMIT's action
            {
                "customer_id": "newover",
                "onboarding_date": date(2026, 3, 1),
                "ar_balance": 12_000.0,
                "ar_current": 12_000.0,
            },
        ]
    )
    flags = flag_customers(tiers, facts, ar, behaviour, config.credit, config.version)
    got = {
        r[0]: (r[1], r[2], r[3])
        for r in flags.select(
            "customer_id", "reason_codes", "recommended_action", "is_flagged"
        ).rows()
    }
    assert got == {
        "trend10": (["DETERIORATING"], "require_guarantee_or_deposit", True),
        "trend9": ([], "none", False),
        "ext2": (["DETERIORATING"], "require_guarantee_or_deposit", True),
        "ext1": ([], "none", False),
        "new": (["NEW_CUSTOMER_CAP"], "none", False),  # informs, calls for no action
        "newover": (["NEW_CUSTOMER_CAP", "OVER_LIMIT"], "require_guarantee_or_deposit", True),
    }


def _flags_on(as_of: date, rows: list[dict], config, *earlier: pl.DataFrame) -> pl.DataFrame:
    tiers, facts, ar, behaviour = _inputs(rows)
    facts = facts.with_columns(as_of_date=pl.lit(as_of))
    history = pl.concat(earlier) if earlier else None
    return flag_customers(tiers, facts, ar, behaviour, config.credit, config.version, history)


def test_flag_history_since_when_and_what_changed(config):
    d1, d2, d3 = date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)
    late = {"ar_balance": 500.0, "ar_61_90": 500.0}
    first = _flags_on(
        d1,
        [{"customer_id": "X", **late}, {"customer_id": "Y"}, {"customer_id": "Z", **late}],
        config,
    )
    second = _flags_on(
        d2,
        [
            # X stays overdue and now bounces a payment: flagged since d1, action since d2
            {"customer_id": "X", **late, "bounced_payments_90d": 1},
            {"customer_id": "Y", **late},  # Y starts
            {"customer_id": "Z"},  # Z clears
        ],
        config,
        first,
    )
    third = _flags_on(
        d3, [{"customer_id": "X", **late, "bounced_payments_90d": 1}], config, first, second
    )
    since = {
        r[0]: r[1:] for r in second.select("customer_id", "flagged_since", "action_since").rows()
    }
    assert since == {"X": (d1, d2), "Y": (d2, d2), "Z": (None, d2)}
    assert third.select("flagged_since", "action_since").row(0) == (d1, d2)
    # computed before d2 was: the run goes on across the missing date
    early = _flags_on(d3, [{"customer_id": "X", **late}], config, first)
    assert early.select("flagged_since", "action_since").row(0) == (d1, d1)
    # a new customer on its cap alone is informed, not flagged
    new = _flags_on(d1, [{"customer_id": "N", "onboarding_date": date(2026, 3, 1)}], config)
    assert new.select("reason_codes", "is_flagged", "flagged_since").row(0) == (
        ["NEW_CUSTOMER_CAP"],
        False,
        None,
    )
    assert first.select("customer_id", "flagged_since").rows() == [
        ("X", d1),
        ("Y", None),
        ("Z", d1),
    ]
    changes = flag_changes(first, second)
    assert changes.rows() == [
        ("X", "BOUNCED_PAYMENT_90D", "raised", "reduce_supply", "cash_on_delivery"),
        ("Y", "OVERDUE_60", "raised", "none", "reduce_supply"),
        ("Z", "OVERDUE_60", "cleared", "reduce_supply", "none"),
    ]
    assert flag_changes(pl.DataFrame(), first).is_empty()


def test_company_view_and_watch_list(config):
    tiers, facts, ar, behaviour = _inputs(
        [
            # balances 25M, 5M, 1M, -0.5M and 12 small debtors of 100k: total 31.7M
            {"customer_id": "big", "ar_balance": 25e6, "ar_over_180": 25e6, "abc_class": "A"},
            {"customer_id": "mid", "ar_balance": 5e6, "ar_61_90": 5e6, "abc_class": "A"},
            {"customer_id": "one", "ar_balance": 1e6, "ar_current": 1e6, "abc_class": "A"},
            {"customer_id": "neg", "ar_balance": -5e5, "unapplied_credit": 5e5},
            *[
                {"customer_id": f"s{i:02d}", "ar_balance": 1e5, "ar_current": 1e5, "abc_class": "A"}
                for i in range(12)
            ],
        ]
    )
    flags = flag_customers(tiers, facts, ar, behaviour, config.credit, config.version)
    view = company_view(flags, config.credit, AS_OF).row(0, named=True)
    # warning line 0.15 x 200M = 30M; 31.7M is over it
    assert view["total_ar_balance"] == 31_700_000.0
    assert view["total_receivable"] == 32_200_000.0  # without the -0.5M
    assert view["warning_line_cny"] == 30_000_000.0
    assert view["ar_to_warning_line"] == round(31.7 / 30, 4)
    assert view["is_above_warning_line"] is True
    # top 10 debtors: 25M + 5M + 1M + 7 x 100k = 31.7M of 32.2M owed
    assert view["top_n_ar_share"] == round(31.7 / 32.2, 4)
    assert view["top_customer_ar_share"] == round(25 / 32.2, 4)
    assert view["customers_with_ar"] == 15
    assert view["customers_hold_shipments"] == 1
    assert view["customers_reduce_supply"] == 1
    assert view["flagged_exposure"] == 30_000_000.0
    listed = watch_list(
        flags,
        tiers.with_columns(size_tier=pl.lit("vip"), value_class=pl.lit("MVC"), clv_12m=pl.lit(1.0)),
    )
    assert listed.select("exposure_rank", "customer_id", "recommended_action").rows() == [
        (1, "big", "hold_shipments"),
        (2, "mid", "reduce_supply"),
    ]
