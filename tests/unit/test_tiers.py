"""ABC (F4) and size tiers (F5) on hand-made frames with hand-computed classes."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.config import AbcConfig, AbsoluteTiers, SizeTierConfig
from pipelines.defs.customer_value.pareto import abc_classes
from pipelines.defs.customer_value.size_tiers import size_tiers

ABC = AbcConfig(a_max_cumulative_share=0.80, b_max_cumulative_share=0.95)


def _frame(values: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"customer_id": list(values), "net_sales_12m": [float(v) for v in values.values()]}
    )


def _classes(frame: pl.DataFrame, column: str) -> dict[str, str]:
    return dict(frame.select("customer_id", column).iter_rows())


def test_abc_boundary_crosser_takes_the_higher_class():
    # total 100: shares before each customer: c1 0, c2 .50, c3 .75, c4 .90, c5 .96, c6 .99
    frame = _frame({"c1": 50, "c2": 25, "c3": 15, "c4": 6, "c5": 3, "c6": 1})
    result = abc_classes(frame, ABC)
    assert _classes(result, "abc_class") == {
        "c1": "A",
        "c2": "A",
        "c3": "A",  # c3 crosses 80% (75% -> 90%): still A
        "c4": "B",  # 90% -> 96% crosses 95%: B
        "c5": "C",
        "c6": "C",
    }
    assert result["abc_rank"].to_list() == [1, 2, 3, 4, 5, 6]
    assert result["abc_cumulative_share"].to_list() == pytest.approx(
        [0.50, 0.75, 0.90, 0.96, 0.99, 1.00]
    )


def test_abc_ties_at_a_boundary_share_the_higher_class():
    # c3 and c4 both 10: shares before are .80 (c3) and .90 (c4)... c2 ends at .80 exactly
    frame = _frame({"c1": 60, "c2": 20, "c3": 10, "c4": 10})
    result = abc_classes(frame, ABC)
    # c3 starts at 0.80 (not below 0.80) -> B; c4 ties with c3 so it is B as well, although
    # it alone would start at 0.90 (< 0.95, B anyway); both equal values get one class.
    assert _classes(result, "abc_class") == {"c1": "A", "c2": "A", "c3": "B", "c4": "B"}

    frame = _frame({"c1": 70, "c2": 10, "c3": 10, "c4": 5, "c5": 5})
    # c2 starts at .70 -> A; c3 ties with c2 -> A (alone it would start at .80 -> B)
    result = abc_classes(frame, ABC)
    assert _classes(result, "abc_class") == {"c1": "A", "c2": "A", "c3": "A", "c4": "B", "c5": "B"}


def test_abc_non_positive_sales_are_c_and_do_not_count():
    frame = _frame({"c1": 100, "c2": 0, "c3": -20})
    result = abc_classes(frame, ABC)
    assert _classes(result, "abc_class") == {"c1": "A", "c2": "C", "c3": "C"}
    assert result.filter(pl.col("customer_id") == "c1")["abc_cumulative_share"].item() == 1.0


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
