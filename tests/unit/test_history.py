"""Tier migrations (F13) between two as-of dates."""

from __future__ import annotations

import polars as pl

from pipelines.defs.customer_value.tier_migrations import DIMENSIONS, EVIDENCE, tier_migrations


def _tiers(rows: dict[str, dict]) -> pl.DataFrame:
    base = dict.fromkeys(DIMENSIONS) | dict.fromkeys(EVIDENCE, 0.0)
    return pl.DataFrame(
        [base | {"customer_id": c} | r for c, r in rows.items()],
        schema={
            "customer_id": pl.String,
            **dict.fromkeys(DIMENSIONS, pl.String),
            **dict.fromkeys(EVIDENCE, pl.Float64),
        },
    )


def test_upgrades_downgrades_new_lost_and_reasons():
    before = _tiers(
        {
            "up": {"abc_class": "B", "size_tier": "small", "monetary_12m": 100.0},
            "down": {"abc_class": "A", "value_class": "MVC", "monetary_12m": 900.0},
            "same": {"abc_class": "C"},
            "gone": {"abc_class": "C"},
        }
    )
    after = _tiers(
        {
            "up": {"abc_class": "A", "size_tier": "small", "monetary_12m": 150.5},
            "down": {"abc_class": "A", "value_class": "BZC", "monetary_12m": 800.0},
            "same": {"abc_class": "C"},
            "fresh": {"abc_class": "C"},
        }
    )
    moves = tier_migrations(before, after)
    assert moves.select(
        "customer_id", "dimension", "from_class", "to_class", "direction"
    ).rows() == [
        ("down", "value_class", "MVC", "BZC", "downgrade"),
        ("fresh", "abc_class", None, "C", "new"),
        ("gone", "abc_class", "C", None, "lost"),
        ("up", "abc_class", "B", "A", "upgrade"),
    ]
    assert moves.filter(pl.col("customer_id") == "up")["reason"].item() == (
        "12m net sales 100.0 -> 150.5; net value 0.0 -> 0.0; CLV 0.0 -> 0.0"
    )


def test_no_previous_date_means_no_migrations():
    after = _tiers({"a": {"abc_class": "A"}})
    assert tier_migrations(after.clear(), after).is_empty()
