"""Key-account supply cover (F18), the peak-season rule, zero-stock lines the ERP omits, the
minimum sell-in for a flag and the per-account summary, on hand-made frames."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.defs.supply.cover import key_account_supply_risk, supply_cover

D = date.fromisoformat


@pytest.mark.parametrize(
    ("as_of", "season"),
    [
        ("2026-06-30", None),  # Mid-Autumn 2026-09-25 is 87 days ahead, beyond the 42-day lead
        ("2026-08-14", "mid_autumn"),  # exactly 42 days before
        ("2026-08-13", None),  # 43 days before
        ("2026-09-25", "mid_autumn"),  # the festival itself
        ("2026-09-26", None),  # the day after
        ("2026-01-10", "spring_festival"),  # 38 days before 2026-02-17
    ],
)
def test_peak_season_is_the_lead_weeks_before_a_configured_date(config, as_of, season):
    assert config.supply_cover.peak_season(D(as_of)) == season


TIERS = pl.DataFrame(
    {
        "customer_id": ["K1", "K2", "K3", "K4", "N1"],
        "size_tier": ["vip", "large", "medium", "vip", "medium"],
        "abc_class": ["C", "A", "A", "B", "B"],
    }
)
S_0630, S_0620, S_0501 = D("2026-06-30"), D("2026-06-20"), D("2026-05-01")
BOUGHT = D("2026-06-28")  # the last purchase in the window, when there is one
COVER_COLUMNS = [
    "customer_id",
    "product_id",
    "stock_snapshot_date",
    "stock_quantity",
    "sell_in_quantity",
    "sell_in_value",
    "last_purchase_date",
]
# customer, product, latest snapshot, stock on it, sell-in quantity and value in 28 days,
# last purchase day
COVER = pl.DataFrame(
    [
        ("K1", "P1", S_0630, 140.0, 280.0, 28000.0, BOUGHT),
        ("K1", "P2", S_0630, 50.0, 56.0, 5600.0, BOUGHT),
        ("K2", "P1", S_0630, 30.0, 84.0, 8400.0, BOUGHT),
        ("K2", "P2", None, None, 28.0, 2800.0, BOUGHT),
        ("K3", "P1", S_0501, 500.0, 28.0, 2800.0, BOUGHT),
        ("K3", "P2", S_0630, 0.0, 0.0, 0.0, None),
        ("K3", "P3", S_0630, 0.0, 14.0, 700.0, BOUGHT),
        ("N1", "P1", S_0630, 1.0, 280.0, 28000.0, BOUGHT),
        ("K1", "P9", D("2025-12-31"), 7.0, 0.0, 0.0, None),
        ("K1", "P3", S_0630, None, 28.0, 2800.0, BOUGHT),  # bought, not on K1's snapshot
        ("K1", "P4", S_0630, None, -5.0, -500.0, None),  # only returned, not on the snapshot
        ("K3", "P4", S_0501, None, 28.0, 2800.0, BOUGHT),  # not on a snapshot too old to trust
        # K4's latest snapshot is ten days old
        ("K4", "P1", S_0620, 20.0, 28.0, 2800.0, BOUGHT),
        ("K4", "P2", S_0620, None, 28.0, 2800.0, D("2026-06-25")),  # delivered since
        ("K4", "P3", S_0620, None, 28.0, 2800.0, D("2026-06-15")),  # none bought since
    ],
    schema=COVER_COLUMNS,
    orient="row",
).with_columns(sell_in_days=pl.lit(28))

NOT_ON_SNAPSHOT = "not on the customer's latest stock snapshot"
COUNTED_AS_ZERO = "not on the latest stock snapshot: counted as zero stock"
BOUGHT_SINCE = "bought after the latest stock snapshot, not on it: stock unknown"
OLD_SNAPSHOT = "latest stock snapshot older than 45 days"


def _cfg(config, **update):
    return config.supply_cover.model_copy(update=update)


def _rows(result: pl.DataFrame) -> dict:
    return {
        (r["customer_id"], r["product_id"]): (
            r["avg_daily_sell_in"],
            r["days_of_cover"],
            r["is_below_threshold"],
            r["cover_note"],
        )
        for r in result.iter_rows(named=True)
    }


def test_days_of_cover_flags_and_notes_when_the_erp_lists_zero_stock(config):
    # today's behaviour: a product missing from the snapshot has no known stock
    cfg = _cfg(config, erp_omits_zero_stock_lines=False, min_sell_in_value_cny=0)
    result = supply_cover(COVER, TIERS, cfg, D("2026-06-30"), "v-test")
    assert _rows(result) == {
        ("K1", "P1"): (10.0, 14.0, False, None),  # 140 / (280 / 28): on the threshold, not below
        ("K1", "P2"): (2.0, 25.0, False, None),  # 50 / (56 / 28)
        ("K2", "P1"): (3.0, 10.0, True, None),  # 30 / (84 / 28) < 14
        ("K2", "P2"): (1.0, None, False, "no stock snapshot"),
        ("K3", "P1"): (1.0, None, False, OLD_SNAPSHOT),  # 60 days
        ("K3", "P2"): (0.0, None, False, "no sell-in in the last 28 days"),
        ("K3", "P3"): (0.5, 0.0, True, None),  # out of stock while selling
        # bought, but absent from K1's latest snapshot: no older figure is carried forward
        ("K1", "P3"): (1.0, None, False, NOT_ON_SNAPSHOT),
        ("K1", "P4"): (-0.1786, None, False, NOT_ON_SNAPSHOT),
        ("K3", "P4"): (1.0, None, False, OLD_SNAPSHOT),
        ("K4", "P1"): (1.0, 20.0, False, None),
        ("K4", "P2"): (1.0, None, False, NOT_ON_SNAPSHOT),
        ("K4", "P3"): (1.0, None, False, NOT_ON_SNAPSHOT),
    }  # N1 (medium, B) is not a key account; K1's P9 was neither bought nor recently stocked
    assert not result["stock_counted_as_zero"].any()
    # with no minimum only K1's returns (-500 CNY) fall short of one
    assert result.filter(~pl.col("has_min_sell_in"))["product_id"].to_list() == ["P4"]
    assert set(result["threshold_days"]) == {14.0}
    assert result["peak_season"].null_count() == result.height
    assert set(result["config_version"]) == {"v-test"}
    assert result.filter(pl.col("customer_id") == "K1")["size_tier"].to_list() == ["vip"] * 4


def test_a_product_missing_from_a_recent_snapshot_is_zero_stock_when_the_erp_omits_zero_lines(
    config,
):
    cfg = _cfg(config, erp_omits_zero_stock_lines=True, min_sell_in_value_cny=0)
    result = supply_cover(COVER, TIERS, cfg, D("2026-06-30"), "v-test")
    rows = _rows(result)
    # K1 bought 28 of P3 (1 a day) and its 2026-06-30 snapshot has no line: 0 / 1 = 0 days
    assert rows["K1", "P3"] == (1.0, 0.0, True, COUNTED_AS_ZERO)
    # only returned: zero stock too, but no sell-in to cover
    assert rows["K1", "P4"] == (
        -0.1786,
        None,
        False,
        COUNTED_AS_ZERO + "; no sell-in in the last 28 days",
    )
    # K3's snapshot is 60 days old: its absence says nothing about today's stock
    assert rows["K3", "P4"] == (1.0, None, False, OLD_SNAPSHOT)
    # K4 last bought P3 before its 2026-06-20 snapshot, which has none: a stock-out; P2 was
    # delivered on 2026-06-25, after the snapshot: what it holds now is not known
    assert rows["K4", "P3"] == (1.0, 0.0, True, COUNTED_AS_ZERO)
    assert rows["K4", "P2"] == (1.0, None, False, BOUGHT_SINCE)
    zero = result.filter("stock_counted_as_zero")
    assert zero.select("customer_id", "product_id").rows() == [
        ("K1", "P3"),
        ("K1", "P4"),
        ("K4", "P3"),
    ]
    assert zero["stock_quantity"].to_list() == [0.0, 0.0, 0.0]
    assert zero["stock_snapshot_date"].to_list() == [S_0630, S_0630, S_0620]
    # every other row as with the setting off
    off_cfg = _cfg(config, erp_omits_zero_stock_lines=False, min_sell_in_value_cny=0)
    off = _rows(supply_cover(COVER, TIERS, off_cfg, D("2026-06-30"), "v-test"))
    changed = {("K1", "P3"), ("K1", "P4"), ("K4", "P2"), ("K4", "P3")}
    assert {k: v for k, v in rows.items() if k not in changed} == {
        k: v for k, v in off.items() if k not in changed
    }


def test_only_products_with_the_minimum_sell_in_raise_a_flag(config):
    cfg = _cfg(config, erp_omits_zero_stock_lines=True, min_sell_in_value_cny=1000)
    cover = pl.concat(
        [
            COVER,
            pl.DataFrame(
                [
                    ("K2", "P3", S_0630, 10.0, 28.0, 1000.0, BOUGHT),  # exactly the minimum
                    ("K2", "P4", S_0630, 5.0, 28.0, 999.99, BOUGHT),  # a cent short of it
                ],
                schema=COVER_COLUMNS,
                orient="row",
            ).with_columns(sell_in_days=pl.lit(28)),
        ]
    )
    result = supply_cover(cover, TIERS, cfg, D("2026-06-30"), "v-test")
    rows = _rows(result)
    assert rows["K2", "P3"] == (1.0, 10.0, True, None)
    below = "not flagged: sell-in of {} CNY in 28 days is below the 1000 CNY minimum"
    # the figure stays, the flag does not: 700 CNY of K3's P3 in 28 days, out of stock
    assert rows["K3", "P3"] == (0.5, 0.0, False, below.format(700))
    assert rows["K2", "P4"] == (1.0, 5.0, False, below.format(1000))  # 999.99 shown rounded
    assert rows["K1", "P3"] == (1.0, 0.0, True, COUNTED_AS_ZERO)  # 2,800 CNY
    flagged = result.filter("is_below_threshold").select("customer_id", "product_id").rows()
    assert flagged == [("K1", "P3"), ("K2", "P1"), ("K2", "P3"), ("K4", "P3")]
    assert result.filter(~pl.col("has_min_sell_in"))["product_id"].to_list() == [
        "P4",  # K1's returns, -500 CNY
        "P4",  # K2's 999.99 CNY
        "P2",  # K3: no sell-in
        "P3",  # K3: 700 CNY
    ]


def test_the_stricter_threshold_applies_before_a_peak_season(config):
    # same stock and sell-in seen on 2026-09-01, 24 days before Mid-Autumn: 28 days required
    cover = COVER.with_columns(stock_snapshot_date=pl.lit(D("2026-08-31")))
    cfg = _cfg(config, erp_omits_zero_stock_lines=False, min_sell_in_value_cny=0)
    result = supply_cover(cover, TIERS, cfg, D("2026-09-01"), "v-test")
    below = result.filter("is_below_threshold").select("customer_id", "product_id").rows()
    # 25 and 20 < 28 now
    assert below == [("K1", "P1"), ("K1", "P2"), ("K2", "P1"), ("K3", "P3"), ("K4", "P1")]
    assert set(result["peak_season"]) == {"mid_autumn"}
    assert set(result["threshold_days"]) == {28.0}


def _cover_row(customer, tier, abc, product, stock, value, days, has_min, below, zero=False):
    return {
        "customer_id": customer,
        "product_id": product,
        "as_of_date": D("2026-06-30"),
        "size_tier": tier,
        "abc_class": abc,
        "stock_snapshot_date": None if stock is None else S_0630,
        "stock_quantity": stock,
        "stock_counted_as_zero": zero,
        "sell_in_quantity": 28.0,
        "sell_in_value": value,
        "days_of_cover": days,
        "threshold_days": 14.0,
        "peak_season": None,
        "has_min_sell_in": has_min,
        "is_below_threshold": below,
        "config_version": "v-test",
    }


def test_the_summary_counts_the_products_at_risk_per_key_account_and_ranks_by_value():
    cover = pl.DataFrame(
        [
            # A: two at risk worth 3,000 + 2,000; P4 is out of stock but below the minimum
            _cover_row("A", "vip", "A", "P1", 0.0, 3000.0, 0.0, True, True, zero=True),
            _cover_row("A", "vip", "A", "P2", 5.0, 2000.0, 5.0, True, True),
            _cover_row("A", "vip", "A", "P3", 100.0, 5000.0, 100.0, True, False),
            _cover_row("A", "vip", "A", "P4", 0.0, 500.0, 0.0, False, False),
            # B: one at risk worth 8,000, one bought without a stock figure
            _cover_row("B", "large", "B", "P1", 10.0, 8000.0, 10.0, True, True),
            _cover_row("B", "large", "B", "P2", None, 4000.0, None, True, False),
            # C: nothing at risk
            _cover_row("C", "medium", "A", "P1", 50.0, 2500.0, 50.0, True, False),
            # D: 5,000 at risk like A, but one product against A's two
            _cover_row("D", "vip", "B", "P1", 1.0, 5000.0, 2.0, True, True),
        ]
    )
    summary = key_account_supply_risk(cover)
    columns = [
        "customer_id",
        "size_tier",
        "products_in_scope",
        "products_with_min_sell_in",
        "products_at_risk",
        "stock_outs",
        "stock_outs_not_on_snapshot",
        "products_cover_unknown",
        "min_days_of_cover",
        "sell_in_value",
        "sell_in_value_at_risk",
        "risk_rank",
    ]
    assert summary.select(columns).rows() == [
        ("B", "large", 2, 2, 1, 0, 0, 1, 10.0, 12000.0, 8000.0, 1),
        ("A", "vip", 4, 3, 2, 1, 1, 0, 0.0, 10500.0, 5000.0, 2),
        ("D", "vip", 1, 1, 1, 0, 0, 0, 2.0, 5000.0, 5000.0, 3),
        ("C", "medium", 1, 1, 0, 0, 0, 0, 50.0, 2500.0, 0.0, None),
    ]
    assert set(summary["as_of_date"]) == {D("2026-06-30")}
    assert set(summary["threshold_days"]) == {14.0}
    assert set(summary["config_version"]) == {"v-test"}


def test_the_summary_of_the_supply_cover_frame(config):
    cfg = _cfg(config, erp_omits_zero_stock_lines=True, min_sell_in_value_cny=1000)
    summary = key_account_supply_risk(supply_cover(COVER, TIERS, cfg, D("2026-06-30"), "v"))
    rows = {r["customer_id"]: r for r in summary.iter_rows(named=True)}
    # K2: P1 at risk (10 days, 8,400 CNY); P2 bought without a snapshot
    assert (rows["K2"]["products_at_risk"], rows["K2"]["sell_in_value_at_risk"]) == (1, 8400.0)
    assert rows["K2"]["products_cover_unknown"] == 1
    # K1: P3 is missing from the snapshot: a stock-out worth 2,800 CNY
    assert (rows["K1"]["stock_outs"], rows["K1"]["stock_outs_not_on_snapshot"]) == (1, 1)
    assert rows["K1"]["sell_in_value"] == 28000 + 5600 + 2800 - 500
    # K3: its only stock-out sells 700 CNY, below the minimum: nothing at risk
    assert rows["K3"]["products_at_risk"] == 0 and rows["K3"]["risk_rank"] is None
    # K4: P3 a stock-out worth 2,800 CNY, like K1's; P2's stock unknown
    assert (rows["K4"]["stock_outs_not_on_snapshot"], rows["K4"]["products_cover_unknown"]) == (
        1,
        1,
    )
    # K1 and K4 both have 2,800 CNY at risk in one product at 0 days: by customer id
    assert [(r["customer_id"], r["risk_rank"]) for r in summary.iter_rows(named=True)] == [
        ("K2", 1),
        ("K1", 2),
        ("K4", 3),
        ("K3", None),
    ]


def test_an_empty_cover_gives_an_empty_summary(config):
    empty = supply_cover(COVER.clear(), TIERS, config.supply_cover, D("2026-06-30"), "v")
    summary = key_account_supply_risk(empty)
    assert summary.is_empty()
    assert summary.columns[:2] == ["customer_id", "as_of_date"]
