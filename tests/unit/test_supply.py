"""Key-account supply cover (F18) and the peak-season rule, on hand-made frames."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipelines.scoring.supply import supply_cover

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
        "customer_id": ["K1", "K2", "K3", "N1"],
        "size_tier": ["vip", "large", "medium", "medium"],
        "abc_class": ["C", "A", "A", "B"],
    }
)
COVER = pl.DataFrame(
    {
        "customer_id": ["K1", "K1", "K2", "K2", "K3", "K3", "K3", "N1", "K1", "K1"],
        "product_id": ["P1", "P2", "P1", "P2", "P1", "P2", "P3", "P1", "P9", "P3"],
        "stock_snapshot_date": [
            D("2026-06-30"),
            D("2026-06-30"),
            D("2026-06-30"),
            None,
            D("2026-05-01"),
            D("2026-06-30"),
            D("2026-06-30"),
            D("2026-06-30"),
            D("2025-12-31"),
            D("2026-06-30"),
        ],
        "stock_quantity": [140.0, 50.0, 30.0, None, 500.0, 0.0, 0.0, 1.0, 7.0, None],
        "sell_in_quantity": [280.0, 56.0, 84.0, 28.0, 28.0, 0.0, 14.0, 280.0, 0.0, 28.0],
        "sell_in_days": [28] * 10,
    }
)


def test_days_of_cover_flags_and_notes(config):
    result = supply_cover(COVER, TIERS, config.supply_cover, D("2026-06-30"), "v-test")
    rows = {
        (r["customer_id"], r["product_id"]): (
            r["avg_daily_sell_in"],
            r["days_of_cover"],
            r["is_below_threshold"],
            r["cover_note"],
        )
        for r in result.iter_rows(named=True)
    }
    assert rows == {
        ("K1", "P1"): (10.0, 14.0, False, None),  # 140 / (280 / 28): on the threshold, not below
        ("K1", "P2"): (2.0, 25.0, False, None),  # 50 / (56 / 28)
        ("K2", "P1"): (3.0, 10.0, True, None),  # 30 / (84 / 28) < 14
        ("K2", "P2"): (1.0, None, False, "no stock snapshot"),
        ("K3", "P1"): (1.0, None, False, "latest stock snapshot older than 45 days"),  # 60 days
        ("K3", "P2"): (0.0, None, False, "no sell-in in the last 28 days"),
        ("K3", "P3"): (0.5, 0.0, True, None),  # out of stock while selling
        # bought, but absent from K1's latest snapshot: no older figure is carried forward
        ("K1", "P3"): (1.0, None, False, "not on the customer's latest stock snapshot"),
    }  # N1 (medium, B) is not a key account; K1's P9 was neither bought nor recently stocked
    assert set(result["threshold_days"]) == {14.0}
    assert result["peak_season"].null_count() == result.height
    assert set(result["config_version"]) == {"v-test"}
    assert result.filter(pl.col("customer_id") == "K1")["size_tier"].to_list() == ["vip"] * 3


def test_the_stricter_threshold_applies_before_a_peak_season(config):
    # same stock and sell-in seen on 2026-09-01, 24 days before Mid-Autumn: 28 days required
    cover = COVER.with_columns(stock_snapshot_date=pl.lit(D("2026-08-31")))
    result = supply_cover(cover, TIERS, config.supply_cover, D("2026-09-01"), "v-test")
    below = result.filter("is_below_threshold").select("customer_id", "product_id").rows()
    assert below == [("K1", "P1"), ("K1", "P2"), ("K2", "P1"), ("K3", "P3")]  # 25 < 28 now
    assert set(result["peak_season"]) == {"mid_autumn"}
    assert set(result["threshold_days"]) == {28.0}
