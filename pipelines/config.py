"""The versioned business configuration (`config/crm.yaml`), validated on load."""

from __future__ import annotations

import functools
from datetime import date, time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AbcConfig(_Strict):
    a_max_cumulative_share: float = Field(gt=0, lt=1)
    b_max_cumulative_share: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> AbcConfig:
        if self.a_max_cumulative_share >= self.b_max_cumulative_share:
            raise ValueError("abc.a_max_cumulative_share must be below b_max_cumulative_share")
        return self


class AbsoluteTiers(_Strict):
    vip_min: float = Field(gt=0)
    large_min: float = Field(gt=0)
    medium_min: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> AbsoluteTiers:
        if not self.vip_min > self.large_min > self.medium_min:
            raise ValueError("size_tier.absolute_cny needs vip_min > large_min > medium_min")
        return self


class SizeTierConfig(_Strict):
    method: Literal["quantile", "absolute"]
    vip_top_share: float = Field(gt=0, lt=1)
    large_next_share: float = Field(gt=0, lt=1)
    medium_next_share: float = Field(gt=0, lt=1)
    absolute_cny: AbsoluteTiers

    @model_validator(mode="after")
    def _fits(self) -> SizeTierConfig:
        if self.vip_top_share + self.large_next_share + self.medium_next_share >= 1:
            raise ValueError("size_tier shares must add up to less than 1 (the rest is small)")
        return self


class GradeConfig(_Strict):
    a_max_cumulative_share: float = Field(gt=0, lt=1)
    b_max_cumulative_share: float = Field(gt=0, lt=1)
    c_max_cumulative_share: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> GradeConfig:
        if not (
            self.a_max_cumulative_share < self.b_max_cumulative_share < self.c_max_cumulative_share
        ):
            raise ValueError("grades: a_max < b_max < c_max cumulative shares required")
        return self


class RfmSegment(_Strict):
    segment: str = Field(min_length=1)
    r: list[int]
    f: list[int]


class RfmConfig(_Strict):
    segments: list[RfmSegment]
    new_customer_max_days: int = Field(ge=0)
    new_segment: str = Field(min_length=1)
    new_cell_otherwise: str = Field(min_length=1)

    @model_validator(mode="after")
    def _covers_every_cell_once(self) -> RfmConfig:
        cells = [(r, f) for s in self.segments for r in s.r for f in s.f]
        expected = {(r, f) for r in range(1, 6) for f in range(1, 6)}
        if sorted(cells) != sorted(expected):
            missing = sorted(expected - set(cells))
            doubled = sorted({c for c in cells if cells.count(c) > 1})
            raise ValueError(
                f"rfm.segments must cover each R x F cell 1-5 exactly once "
                f"(missing {missing}, more than once {doubled})"
            )
        names = {s.segment for s in self.segments}
        if self.new_segment not in names or self.new_cell_otherwise not in names:
            raise ValueError(
                "rfm.new_segment and rfm.new_cell_otherwise must be segments of the grid"
            )
        return self


class ClvConfig(_Strict):
    horizon_months: int = Field(ge=1, le=120)
    month_days: int = Field(ge=1)
    monthly_discount_rate: float = Field(ge=0, lt=1)
    fit_sample_customers: int = Field(default=250_000, ge=1_000)


class ValueClassConfig(_Strict):
    mvc_top_share: float = Field(gt=0, lt=1)
    mgc_top_share: float = Field(gt=0, lt=1)
    mgc_min_prior_12m_net_sales: float = Field(ge=0)
    mgc_min_growth_rate: float
    mgc_min_p_alive: float = Field(ge=0, le=1)
    return_handling_rate: float = Field(ge=0)
    overdue_carrying_rate: float = Field(ge=0)
    provision_91_180: float = Field(ge=0, le=1)
    provision_over_180: float = Field(ge=0, le=1)


class DimensionConfig(_Strict):
    high_frequency_min_orders_per_month: float = Field(gt=0)
    medium_frequency_min_orders_per_month: float = Field(gt=0)
    long_term_min_years: float = Field(gt=0)
    high_satisfaction_min: float = Field(ge=1, le=5)
    low_satisfaction_max: float = Field(ge=1, le=5)


class SupplyCoverConfig(_Strict):
    sell_in_days: int = Field(gt=0, le=366)
    min_days_of_cover: float = Field(ge=0)
    peak_min_days_of_cover: float = Field(ge=0)
    peak_lead_days: int = Field(ge=0)
    max_stock_age_days: int = Field(ge=0)
    # the ERP lists only products in stock: one bought but absent from a recent snapshot
    # holds none (its cover is 0 days); false leaves its cover unknown
    erp_omits_zero_stock_lines: bool = True
    # sell-in value (net sales, CNY) over the sell-in window a product needs to raise a flag
    min_sell_in_value_cny: float = Field(ge=0)
    peak_seasons: dict[str, list[date]]

    @model_validator(mode="after")
    def _stricter_at_peak(self) -> SupplyCoverConfig:
        if self.peak_min_days_of_cover < self.min_days_of_cover:
            raise ValueError("peak_min_days_of_cover must be at least min_days_of_cover")
        return self

    def peak_season(self, as_of: date) -> str | None:
        """The peak season whose date falls within `peak_lead_days` on or after `as_of`."""
        ahead = [
            (day, name)
            for name, days in self.peak_seasons.items()
            for day in days
            if 0 <= (day - as_of).days <= self.peak_lead_days
        ]
        return min(ahead)[1] if ahead else None


class ProspectConfig(_Strict):
    stage_points: dict[str, float]
    contact_within_30_days_points: float = Field(ge=0)
    contact_within_90_days_points: float = Field(ge=0)
    points_per_visit: float = Field(ge=0)
    max_visit_points: float = Field(ge=0)
    volume_points: dict[float, float]
    referral_by_key_customer_points: float = Field(ge=0)
    a_min: float
    b_min: float
    c_min: float

    @model_validator(mode="after")
    def _valid(self) -> ProspectConfig:
        stages = {"new", "contacted", "qualified", "negotiating", "trial_order", "lost"}
        if set(self.stage_points) != stages:
            raise ValueError(f"prospects.stage_points needs exactly the stages {sorted(stages)}")
        if not self.a_min > self.b_min > self.c_min:
            raise ValueError("prospects: a_min > b_min > c_min required")
        return self


class ChurnConfig(_Strict):
    interval_multiple: float = Field(gt=0)
    fallback_days: int = Field(gt=0)


# The figures a credit-rating component can score (pipelines/defs/credit/rating.py computes them).
RATING_FIGURES = (
    "late_invoice_share_12m",
    "avg_days_late_12m",
    "bounced_payments_12m",
    "extension_requests_12m",
    "overdue_share",
    "beyond_90_share",
    "cooperation_years",
    "active_months_12m",
    "net_sales_12m",
    "margin_rate_12m",
    "security_cover",
    "has_guarantor",
)


class RatingComponent(_Strict):
    """One scorecard line: the points of the first band the figure falls in."""

    component: Literal[RATING_FIGURES]  # type: ignore[valid-type]
    group: str = Field(min_length=1)
    direction: Literal["at_most", "at_least"]
    bands: list[tuple[float, float]] = Field(min_length=1)  # (bound, points)
    otherwise: float = Field(ge=0)
    missing: float = Field(ge=0)

    @property
    def max_points(self) -> float:
        return max([p for _, p in self.bands] + [self.otherwise, self.missing])

    @model_validator(mode="after")
    def _bands_in_order(self) -> RatingComponent:
        bounds = [b for b, _ in self.bands]
        ordered = sorted(bounds) if self.direction == "at_most" else sorted(bounds, reverse=True)
        if bounds != ordered or len(set(bounds)) != len(bounds):
            raise ValueError(
                f"rating component {self.component}: bounds must "
                + ("ascend" if self.direction == "at_most" else "descend")
            )
        return self


class RatingConfig(_Strict):
    components: list[RatingComponent] = Field(min_length=1)
    review_weight: float = Field(ge=0, le=1)
    review_valid_days: int = Field(gt=0)
    a_min: float
    b_min: float
    c_min: float

    @model_validator(mode="after")
    def _valid(self) -> RatingConfig:
        names = [c.component for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError("credit.rating.components: each figure once")
        if not 100 >= self.a_min > self.b_min > self.c_min >= 0:
            raise ValueError("credit.rating: 100 >= a_min > b_min > c_min >= 0 required")
        total = sum(c.max_points for c in self.components)
        if abs(total - 100) > 1e-9:
            raise ValueError(f"credit.rating.components: maximum points add up to {total}, not 100")
        return self


class DeterioratingConfig(_Strict):
    min_rise_days: float = Field(gt=0)
    min_rise_standard_errors: float = Field(ge=0)
    min_recent_invoices: int = Field(ge=1)
    min_baseline_invoices: int = Field(ge=1)


class CreditConfig(_Strict):
    # the OVERDUE_60 and BAD_DEBT_RISK_180 flags read the aging buckets of F21 (61-90 and
    # beyond, over 180): those boundaries are the buckets', not free parameters
    overdue_flag_days: Literal[60]
    bounced_lookback_days: int = Field(gt=0)
    bad_debt_days: Literal[180]
    rating: RatingConfig
    a_unlimited: bool
    a_limit_multiplier: float = Field(gt=0)
    a_min_limit_cny: float = Field(ge=0)
    b_limit_multiplier: float = Field(gt=0)
    b_min_limit_cny: float = Field(ge=0)
    c_limit_multiplier: float = Field(gt=0)
    c_min_limit_cny: float = Field(ge=0)
    c_max_limit_cny: float = Field(ge=0)
    min_sales_days: int = Field(ge=1, le=365)
    new_customer_limit_cny: float = Field(ge=0)
    new_customer_max_months: int = Field(ge=0)
    new_customer_min_orders: int = Field(ge=0)
    limit_loosen_share: float = Field(gt=0)
    limit_tighten_share: float = Field(gt=0, le=1)
    limit_step_days: int = Field(ge=1)
    deteriorating: DeterioratingConfig
    repeated_extensions_min_90d: int = Field(ge=1)
    repeated_extensions_min_share: float = Field(ge=0, le=1)
    company_assets_cny: float = Field(gt=0)
    ar_warning_share: float = Field(gt=0, le=1)
    concentration_top_n: int = Field(ge=1)


class IngestionConfig(_Strict):
    max_rejected_share: float = Field(gt=0, le=1)
    min_rows_for_share: int = Field(ge=1)
    earliest_date: date
    max_days_after_business_date: int = Field(ge=0)
    reference_wait_days: int = Field(ge=0)
    unrecognised_files: Literal["warn", "refuse"]


class OperationsConfig(_Strict):
    expected_daily: dict[str, time]
    lookback_days: int = Field(ge=1, le=31)
    max_retries: int = Field(ge=0, le=10)
    retry_delay_seconds: float = Field(ge=0)

    @model_validator(mode="after")
    def _known_extracts(self) -> OperationsConfig:
        from pipelines.contract import EXTRACTS

        unknown = set(self.expected_daily) - set(EXTRACTS)
        if unknown:
            raise ValueError(f"expected_daily: unknown extract(s) {sorted(unknown)}")
        return self


class PublishingConfig(_Strict):
    keep_history: int = Field(ge=0)
    first_as_of_date: date | None


class CrmConfig(_Strict):
    """All thresholds of the analyses (docs/analyses.md); `version` is recorded beside every published result."""

    version: str = Field(min_length=1)
    abc: AbcConfig
    size_tier: SizeTierConfig
    grades: GradeConfig
    rfm: RfmConfig
    clv: ClvConfig
    value_classes: ValueClassConfig
    dimensions: DimensionConfig
    churn: ChurnConfig
    prospects: ProspectConfig
    supply_cover: SupplyCoverConfig
    credit: CreditConfig
    ingestion: IngestionConfig
    publishing: PublishingConfig
    operations: OperationsConfig


def load_config(path: Path) -> CrmConfig:
    """Read and validate the configuration file; raises ValueError naming the problem.

    A content is validated once: the steps of a run, the definitions and the CLI share the
    one validated, frozen object for as long as the file holds the same bytes."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read configuration {path}: {exc}") from exc
    return _validated(str(path), content)


@functools.lru_cache(maxsize=8)
def _validated(path: str, content: bytes) -> CrmConfig:
    try:
        raw = yaml.safe_load(content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read configuration {path}: {exc}") from exc
    try:
        return CrmConfig.model_validate(raw)
    except Exception as exc:  # pydantic's message names the field at fault
        raise ValueError(f"invalid configuration {path}: {exc}") from exc


def load_header_map(path: Path, extracts: list[str]) -> dict[str, dict[str, str]]:
    """ERP header -> contract column, per extract (the `all` section merged under each).

    Keys are normalised (stripped, lower-case); raises ValueError for an unknown section.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ValueError(f"cannot read header map {path}: {exc}") from exc
    unknown = set(raw) - {"all", *extracts}
    if unknown:
        raise ValueError(
            f"header map {path}: unknown section(s) {sorted(unknown)}; "
            f"use 'all' or one of {extracts}"
        )
    common = {str(k).strip().lower(): str(v) for k, v in (raw.get("all") or {}).items()}
    return {
        name: common | {str(k).strip().lower(): str(v) for k, v in (raw.get(name) or {}).items()}
        for name in extracts
    }
