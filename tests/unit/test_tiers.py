"""Size tiers (F5) on hand-made frames with hand-computed classes. The ABC classes (F4) are
computed by dbt and tested there (int_customer_pareto_classes' unit tests)."""

from __future__ import annotations

import polars as pl

from pipelines.config import AbsoluteTiers, SizeTierConfig
from pipelines.defs.customer_value.size_tiers import size_tiers


def _frame(values: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_id": list(values), "net_sales_12m": [float(v) for v in values.values()]}
    )


def _classes(frame: pl.DataFrame, column: str) -> dict[str, str]:
    return dict(frame.select("customer_id", column).iter_rows())


def test_size_tiers_quantile_counts_are_ceilings_of_shares():
    cfg = SizeTierConfig(
        method="quantile",
        vip_top_share=0.02,
        large_next_share=0.08,
        medium_next_share=0.30,
        absolute_cny=AbsoluteTiers(vip_min=3, large_min=2, medium_min=1),
    )
    # 20 transacting customers: vip ceil(0.4)=1, large ceil(1.6)=2, medium ceil(6)=6, rest 11
    values = {f"c{i:02d}": float(100 - i) for i in range(20)} | {"z0": 0.0, "z1": -5.0}
    result = size_tiers(_frame(values), cfg)
    tiers = _classes(result, "size_tier")
    assert [tiers[f"c{i:02d}"] for i in range(20)] == (
        ["vip"] + ["large"] * 2 + ["medium"] * 6 + ["small"] * 11
    )
    assert tiers["z0"] == tiers["z1"] == "non_transacting"


def test_size_tiers_absolute_thresholds():
    cfg = SizeTierConfig(
        method="absolute",
        vip_top_share=0.02,
        large_next_share=0.08,
        medium_next_share=0.30,
        absolute_cny=AbsoluteTiers(vip_min=1000, large_min=500, medium_min=100),
    )
    result = size_tiers(_frame({"a": 1000, "b": 999.99, "c": 100, "d": 99, "e": 0}), cfg)
    assert _classes(result, "size_tier") == {
        "a": "vip",
        "b": "large",
        "c": "medium",
        "d": "small",
        "e": "non_transacting",
    }
