"""Credit rating, limits, limit steps, reason codes and actions (F23, F24) on hand-made
frames, every figure computed by hand from config/crm.yaml."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.defs.credit.exposure import company_view, watch_list
from pipelines.defs.credit.flags import flag_changes, flag_customers
from pipelines.defs.credit.rating import AR_COLUMNS, BEHAVIOUR_COLUMNS, FACT_COLUMNS, rate_customers

AS_OF = date(2026, 6, 30)

# An established, punctual customer: 365,000 CNY in 12m (1,000 a day) on 30-day terms, so
# an expected exposure of 30,000. Its scorecard: late share 0 -> 10, 2 days late -> 15,
# no bounce -> 10, no extension -> 5, nothing owed (shares missing) -> 10 + 15, 6.5 years
# -> 8, 12 active months -> 7, 365,000 sales -> 3, margin .20 -> 3, no deposit -> 0,
# no guarantor -> 0: 86, class A.
BASE = {
    "customer_status": "active",
    "onboarding_date": date(2020, 1, 1),
    "first_order_date": date(2020, 2, 1),
    "order_count_lifetime": 50,
    "payment_terms_days": 30,
    "deposit_amount": 0.0,
    "net_sales_12m": 365_000.0,
    "margin_rate_12m": 0.20,
    "cooperation_years": 6.5,
    "active_months_12m": 12,
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
    "max_days_past_due": 0,
    "late_invoice_share_12m": 0.0,
    "avg_days_late_12m": 2.0,
    "bounced_payments_12m": 0,
    "extension_requests_12m": 0,
    "bounced_payments_90d": 0,
    "bounced_amount_90d": 0.0,
    "extension_requests_90d": 0,
    "invoices_issued_90d": 10,
}


def _inputs(rows: list[dict], as_of: date = AS_OF) -> tuple[pl.DataFrame, ...]:
    frame = pl.DataFrame([BASE | r | {"as_of_date": as_of} for r in rows], infer_schema_length=None)
    facts = frame.select(FACT_COLUMNS)
    tiers = frame.select("customer_id", "abc_class")
    ar = frame.select("customer_id", "as_of_date", *AR_COLUMNS)
    behaviour = frame.select(
        "customer_id",
        *[pl.lit(None, pl.Float64).alias(c) for c in BEHAVIOUR_COLUMNS if c not in frame.columns],
        *[c for c in BEHAVIOUR_COLUMNS if c in frame.columns],
    )
    return facts, ar, behaviour, tiers


def _rate(config, rows, reviews=None, history=None, as_of=AS_OF, credit=None):
    facts, ar, behaviour, tiers = _inputs(rows, as_of)
    cfg = credit or config.credit
    ratings, card = rate_customers(facts, ar, behaviour, cfg, config.version, reviews, history)
    return ratings, card, (tiers, ar, behaviour)


def _flags(config, rows, history=None, as_of=AS_OF, rating_history=None):
    ratings, _, (tiers, ar, behaviour) = _rate(config, rows, history=rating_history, as_of=as_of)
    return flag_customers(ratings, tiers, ar, behaviour, config.credit, config.version, history)


def test_the_scorecard_by_hand(config):
    mixed = {
        "customer_id": "M",
        # payment record: .30 late -> 3, 20 days -> 5, one bounce -> 3, three extensions -> 1
        "late_invoice_share_12m": 0.30,
        "avg_days_late_12m": 20.0,
        "bounced_payments_12m": 1,
        "extension_requests_12m": 3,
        # AR quality: 4,000 of 10,000 overdue (.40 -> 3), 2,000 beyond 90 days (.20 -> 3)
        "ar_balance": 10_000.0,
        "overdue_amount": 4_000.0,
        "ar_current": 6_000.0,
        "ar_1_30": 2_000.0,
        "ar_91_180": 2_000.0,
        # relationship: 2 years -> 5, 8 months -> 4; value: margin .10 -> 1
        "cooperation_years": 2.0,
        "active_months_12m": 8,
        "margin_rate_12m": 0.10,
        # security: a 15,000 deposit on 30,000 expected exposure (.5) -> 7
        "deposit_amount": 15_000.0,
    }
    ratings, card, _ = _rate(config, [{"customer_id": "P"}, mixed])
    points = {
        (r["customer_id"], r["component"]): (r["figure"], r["points"])
        for r in card.iter_rows(named=True)
    }
    assert points[("M", "late_invoice_share_12m")] == (0.30, 3.0)
    assert points[("M", "avg_days_late_12m")] == (20.0, 5.0)
    assert points[("M", "bounced_payments_12m")] == (1.0, 3.0)
    assert points[("M", "extension_requests_12m")] == (3.0, 1.0)
    assert points[("M", "overdue_share")] == (0.4, 3.0)
    assert points[("M", "beyond_90_share")] == (0.2, 3.0)
    assert points[("M", "security_cover")] == (0.5, 7.0)
    assert points[("P", "overdue_share")] == (None, 10.0)  # nothing owed: `missing`
    assert points[("P", "has_guarantor")] == (None, 0.0)
    got = {
        r[0]: r[1:]
        for r in ratings.select(
            "customer_id", "behaviour_score", "credit_score", "credit_class", "rating_basis"
        ).rows()
    }
    # 3+5+3+1 + 3+3 + 5+4 + 3+1 + 7+0 = 38: D
    assert got == {
        "M": (38.0, 38.0, "D", "behaviour_only"),
        "P": (86.0, 86.0, "A", "behaviour_only"),
    }
    totals = card.group_by("customer_id").agg(pl.col("max_points").sum()).sort("customer_id")
    assert totals.rows() == [("M", 100.0), ("P", 100.0)]


def test_a_credit_review_in_force_is_blended_in(config):
    mixed = {
        "customer_id": "M",
        "late_invoice_share_12m": 0.30,
        "avg_days_late_12m": 20.0,
        "bounced_payments_12m": 1,
        "extension_requests_12m": 3,
        "ar_balance": 10_000.0,
        "overdue_amount": 4_000.0,
        "ar_current": 6_000.0,
        "ar_1_30": 2_000.0,
        "ar_91_180": 2_000.0,
        "cooperation_years": 2.0,
        "active_months_12m": 8,
        "margin_rate_12m": 0.10,
        "deposit_amount": 15_000.0,
    }
    reviews = pl.DataFrame(
        {
            "customer_id": ["M", "M", "P"],
            "review_date": [date(2025, 1, 10), date(2026, 3, 1), date(2025, 5, 1)],
            "operating_score": [10, 90, 100],
            "financial_score": [10, 80, 100],
            "payment_score": [10, 70, 100],
            "has_guarantor": [False, True, True],
            "collateral_amount": [0.0, 5_000.0, 99_000.0],
        }
    )
    ratings, card, (tiers, ar, behaviour) = _rate(
        config, [{"customer_id": "P"}, mixed], reviews=reviews
    )
    got = {r["customer_id"]: r for r in ratings.iter_rows(named=True)}
    m, p = got["M"], got["P"]
    # the latest review (2026-03-01: mean 80) counts; its guarantor adds 3 points: 41
    assert (m["review_date"], m["review_score"], m["behaviour_score"]) == (
        date(2026, 3, 1),
        80.0,
        41.0,
    )
    # 0.7 x 41 + 0.3 x 80 = 52.7: C, limit 1.5 x 30,000 within 5,000-20,000
    assert (m["credit_score"], m["credit_class"], m["rating_basis"]) == (
        52.7,
        "C",
        "behaviour_and_review",
    )
    assert (m["collateral_amount"], m["credit_limit"]) == (5_000.0, 20_000.0)
    # P's review is 425 days old, beyond the 400 it stays in force: neither it nor its
    # collateral count
    assert (p["review_date"], p["collateral_amount"], p["credit_score"]) == (None, None, 86.0)
    assert card.filter(pl.col("component") == "review_score")["customer_id"].to_list() == ["M"]
    flags = flag_customers(ratings, tiers, ar, behaviour, config.credit, config.version)
    # exposure = 10,000 owed - 15,000 deposit - 5,000 collateral
    assert flags.filter(pl.col("customer_id") == "M")["exposure"].item() == -10_000.0


def test_limits_by_credit_class_status_terms_and_newness(config):
    rows = [
        # A (86): 2.5 x 30,000
        {"customer_id": "A1"},
        # A with tiny sales: at least the A minimum
        {"customer_id": "A2", "net_sales_12m": 3_650.0},
        # B (78: days late 10 -> 10, late share .2 -> 7): 2 x 30,000 x (0.8 + 0.4 x 18/20)
        {"customer_id": "B1", "avg_days_late_12m": 10.0, "late_invoice_share_12m": 0.2},
        # C (48: .6 late -> 0, 40 days late -> 2, two bounces -> 0, six extensions -> 0): with
        # 60-day terms 1.5 x 60,000 is above the C maximum
        {
            "customer_id": "C1",
            "payment_terms_days": 60,
            "avg_days_late_12m": 40.0,
            "late_invoice_share_12m": 0.6,
            "bounced_payments_12m": 2,
            "extension_requests_12m": 6,
        },
        # D (21: nothing for the payment record, all owed is beyond 90 days): no credit
        {
            "customer_id": "D1",
            "avg_days_late_12m": 90.0,
            "late_invoice_share_12m": 0.9,
            "bounced_payments_12m": 2,
            "extension_requests_12m": 6,
            "ar_balance": 9_000.0,
            "overdue_amount": 9_000.0,
            "ar_over_180": 9_000.0,
        },
        # cash terms and closed customers: no credit, whatever the class
        {"customer_id": "T0", "payment_terms_days": 0},
        {"customer_id": "X1", "customer_status": "closed"},
        # new: 90,000 in 51 days over at least 90 days -> 1,000 a day; class C (57) -> 20,000,
        # capped at 10,000
        {
            "customer_id": "N1",
            "onboarding_date": date(2026, 5, 1),
            "first_order_date": date(2026, 5, 10),
            "order_count_lifetime": 8,
            "net_sales_12m": 90_000.0,
            "cooperation_years": 0.17,
            "active_months_12m": 2,
            "late_invoice_share_12m": None,
            "avg_days_late_12m": None,
        },
    ]
    ratings, _, _ = _rate(config, rows)
    got = {
        r[0]: r[1:]
        for r in ratings.select(
            "customer_id", "credit_score", "credit_class", "credit_limit_target", "credit_limit"
        ).rows()
    }
    assert got == {
        "A1": (86.0, "A", 75_000.0, 75_000.0),
        "A2": (83.0, "A", 30_000.0, 30_000.0),
        "B1": (78.0, "B", 69_600.0, 69_600.0),
        "C1": (48.0, "C", 20_000.0, 20_000.0),
        "D1": (21.0, "D", 0.0, 0.0),
        "T0": (86.0, "A", 0.0, 0.0),
        "X1": (86.0, "A", 0.0, 0.0),
        "N1": (57.0, "C", 10_000.0, 10_000.0),
    }
    basis = dict(ratings.select("customer_id", "limit_basis").rows())
    assert basis["T0"] == "cash terms (0 days): no credit"
    assert basis["X1"] == "closed customer: no credit"
    assert basis["D1"] == "class D: cash on delivery only"
    assert basis["B1"] == (
        "class B: target 69,600 for an expected exposure of 30,000 (30 days x 1,000/day)"
    )
    unlimited = config.credit.model_copy(update={"a_unlimited": True})
    ratings, _, _ = _rate(config, rows[:1], credit=unlimited)
    assert ratings.select("credit_limit", "limit_basis").row(0) == (
        None,
        "class A: unlimited by configuration, exposure monitored",
    )


def test_limits_move_gradually_across_two_as_of_dates(config):
    d1, d2 = date(2026, 5, 31), AS_OF  # 30 days apart: one step
    grows = {"customer_id": "G"}  # 75,000 on d1; sales double by d2: target 150,000
    shrinks = {"customer_id": "S"}  # 75,000 on d1; sales fall to a fifth: target 30,000
    bad = {"customer_id": "D"}  # 75,000 on d1; class D on d2: no credit at once
    back = {"customer_id": "R", "payment_terms_days": 0}  # no credit on d1; B on d2
    first, _, _ = _rate(config, [grows, shrinks, bad, back], as_of=d1)
    assert dict(first.select("customer_id", "credit_limit").rows()) == {
        "D": 75_000.0,
        "G": 75_000.0,
        "R": 0.0,
        "S": 75_000.0,
    }
    second, _, _ = _rate(
        config,
        [
            {**grows, "net_sales_12m": 730_000.0},
            {**shrinks, "net_sales_12m": 73_000.0},
            {
                **bad,
                "avg_days_late_12m": 90.0,
                "late_invoice_share_12m": 0.9,
                "bounced_payments_12m": 2,
                "extension_requests_12m": 6,
                "ar_balance": 9_000.0,
                "overdue_amount": 9_000.0,
                "ar_over_180": 9_000.0,
            },
            {"customer_id": "R", "avg_days_late_12m": 10.0, "late_invoice_share_12m": 0.2},
        ],
        history=first,
        as_of=d2,
    )
    got = {
        r[0]: r[1:]
        for r in second.select(
            "customer_id", "previous_credit_limit", "credit_limit_target", "credit_limit"
        ).rows()
    }
    assert got == {
        "G": (75_000.0, 150_000.0, 90_000.0),  # at most +20% in 30 days
        "S": (75_000.0, 30_000.0, 37_500.0),  # at most -50% in 30 days
        "D": (75_000.0, 0.0, 0.0),  # no credit applies at once
        "R": (0.0, 69_600.0, 10_000.0),  # regaining credit starts at the new-customer limit
    }
    basis = dict(second.select("customer_id", "limit_basis").rows())
    assert basis["G"].endswith("; moved from 75,000 toward it gradually")
    # 15 days later, half a step: 90,000 x (1 + 0.2 x 0.5)
    third, _, _ = _rate(
        config,
        [{**grows, "net_sales_12m": 730_000.0}],
        history=pl.concat([first, second]),
        as_of=date(2026, 7, 15),
    )
    assert third.select("previous_credit_limit", "credit_limit").row(0) == (90_000.0, 99_000.0)


def test_reason_codes_carry_their_figures_and_the_strongest_action(config):
    flags = _flags(
        config,
        [
            # 20,000 owed inside a 75,000 limit
            {"customer_id": "ok", "ar_balance": 20_000.0, "ar_current": 20_000.0},
            # 80,000 owed less a 4,000 deposit: 76,000 over 75,000
            {
                "customer_id": "over",
                "ar_balance": 80_000.0,
                "ar_current": 80_000.0,
                "deposit_amount": 4_000.0,
            },
            {"customer_id": "late", "ar_balance": 500.0, "ar_61_90": 500.0},
            {
                "customer_id": "bounced",
                "bounced_payments_90d": 1,
                "bounced_amount_90d": 1_234.5,
                "ar_balance": 10.0,
                "ar_1_30": 10.0,
            },
            {
                "customer_id": "closed",
                "customer_status": "closed",
                "ar_balance": 900.0,
                "ar_over_180": 900.0,
            },
        ],
    )
    got = {
        r["customer_id"]: (r["reason_codes"], r["recommended_action"], r["utilisation"])
        for r in flags.iter_rows(named=True)
    }
    assert got["ok"] == ([], "none", round(20_000 / 75_000, 4))
    assert got["over"] == (
        ["OVER_LIMIT"],
        "require_guarantee_or_deposit",
        round(76_000 / 75_000, 4),
    )
    assert got["late"][:2] == (["OVERDUE_60"], "reduce_supply")
    assert got["bounced"][:2] == (["BOUNCED_PAYMENT_90D"], "cash_on_delivery")
    assert got["closed"] == (
        ["OVERDUE_60", "BAD_DEBT_RISK_180", "CLOSED_WITH_BALANCE"],
        "hold_shipments",
        None,  # no credit, no utilisation
    )
    details = dict(flags.select("customer_id", "reason_details").rows())
    assert details["over"] == [
        "OVER_LIMIT: exposure 76,000 over the limit 75,000 (AR 80,000 less deposit and "
        "collateral 4,000)"
    ]
    assert details["late"] == ["OVERDUE_60: 500 CNY more than 60 days past due"]
    assert details["bounced"] == [
        "BOUNCED_PAYMENT_90D: 1 bounced payment(s) of 1,235 CNY in 90 days"
    ]


DETERIORATING = {
    "ar_balance": 1_000.0,
    "ar_current": 1_000.0,
    "days_late_recent_91d": 20.0,
    "days_late_baseline": 5.0,
    "days_late_rise": 15.0,
    "days_late_rise_se": 3.0,
    "invoices_recent_91d": 3,
    "invoices_baseline": 6,
}


@pytest.mark.parametrize(
    ("change", "flagged"),
    [
        ({}, True),  # every minimum just met
        ({"days_late_rise": 14.9}, False),  # not large enough
        ({"days_late_rise_se": 2.9}, False),  # within the customer's own variation
        ({"invoices_recent_91d": 2}, False),  # too few recent invoices
        ({"invoices_baseline": 5}, False),  # too little baseline
        ({"ar_balance": 0.0, "ar_current": 0.0}, False),  # owes nothing
        ({"days_late_rise": None, "days_late_rise_se": None}, False),  # no recent figure
    ],
)
def test_deteriorating_against_the_customers_own_baseline(config, change, flagged):
    flags = _flags(config, [{"customer_id": "X", **DETERIORATING, **change}])
    assert ("DETERIORATING" in flags["reason_codes"].to_list()[0]) is flagged
    if flagged:
        assert flags["reason_details"].to_list()[0] == [
            "DETERIORATING: 20.0 days late in the last 91 days against its own 5.0 before "
            "(3 and 6 invoices; rise 3.0 standard errors)"
        ]
        assert flags["recommended_action"].item() == "require_guarantee_or_deposit"


def test_a_customer_who_stops_paying_deteriorates(config):
    # as the payment-behaviour model gives it (its dbt unit test): open invoices 60, 30 and
    # 20 days past due after six paid on time; and 300 owed more than 60 days past due
    stopped = {
        "customer_id": "S",
        "ar_balance": 300.0,
        "overdue_amount": 300.0,
        "ar_1_30": 200.0,
        "ar_31_60": 100.0,
        "days_late_recent_91d": 36.7,
        "days_late_baseline": 0.0,
        "days_late_rise": 36.7,
        "days_late_rise_se": 3.05,
        "invoices_recent_91d": 3,
        "invoices_baseline": 6,
    }
    flags = _flags(config, [stopped])
    assert flags.select("reason_codes", "recommended_action").row(0) == (
        ["DETERIORATING"],
        "require_guarantee_or_deposit",
    )


def test_repeated_extensions_and_new_customer_cap(config):
    flags = _flags(
        config,
        [
            # three requests on ten invoices issued: a pattern
            {
                "customer_id": "ext3",
                "extension_requests_90d": 3,
                "ar_balance": 10.0,
                "ar_current": 10.0,
            },
            {
                "customer_id": "ext2",
                "extension_requests_90d": 2,
                "ar_balance": 10.0,
                "ar_current": 10.0,
            },
            # three requests on twenty invoices: 15%, under the 20% share
            {
                "customer_id": "ext3of20",
                "extension_requests_90d": 3,
                "invoices_issued_90d": 20,
                "ar_balance": 10.0,
                "ar_current": 10.0,
            },
            {"customer_id": "new", "onboarding_date": date(2026, 3, 1)},  # 4 months
            # new and over its 10,000 cap: the cap does not soften OVER_LIMIT's action
            {
                "customer_id": "newover",
                "onboarding_date": date(2026, 3, 1),
                "ar_balance": 12_000.0,
                "ar_current": 12_000.0,
            },
        ],
    )
    got = {
        r[0]: (r[1], r[2], r[3])
        for r in flags.select(
            "customer_id", "reason_codes", "recommended_action", "is_flagged"
        ).rows()
    }
    assert got == {
        "ext3": (["REPEATED_EXTENSIONS"], "require_guarantee_or_deposit", True),
        "ext2": ([], "none", False),
        "ext3of20": ([], "none", False),
        "new": (["NEW_CUSTOMER_CAP"], "none", False),  # informs, calls for no action
        "newover": (["NEW_CUSTOMER_CAP", "OVER_LIMIT"], "require_guarantee_or_deposit", True),
    }


def _flags_on(as_of: date, rows: list[dict], config, *earlier: pl.DataFrame) -> pl.DataFrame:
    history = pl.concat(earlier) if earlier else None
    return _flags(config, rows, history=history, as_of=as_of)


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
    rows = [
        # balances 25M, 5M, 1M, -0.5M and 12 small debtors of 100k: total 31.7M
        {"customer_id": "big", "ar_balance": 25e6, "ar_over_180": 25e6},
        {"customer_id": "mid", "ar_balance": 5e6, "ar_61_90": 5e6},
        {"customer_id": "one", "ar_balance": 1e6, "ar_current": 1e6, "net_sales_12m": 2e8},
        {"customer_id": "neg", "ar_balance": -5e5, "unapplied_credit": 5e5},
        *[
            {
                "customer_id": f"s{i:02d}",
                "ar_balance": 1e5,
                "ar_current": 1e5,
                "net_sales_12m": 2e7,
            }
            for i in range(12)
        ],
    ]
    ratings, _, (tiers, ar, behaviour) = _rate(config, rows)
    flags = flag_customers(ratings, tiers, ar, behaviour, config.credit, config.version)
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
    # big: 25M beyond 180 days (and class D); mid: 5M beyond 60 days
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
