"""The versioned business configuration (`config/crm.yaml`), validated on load."""

from __future__ import annotations

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


class CreditConfig(_Strict):
    overdue_flag_days: int = Field(gt=0)
    bounced_lookback_days: int = Field(gt=0)
    bad_debt_days: int = Field(gt=0)
    b_limit_multiplier: float = Field(gt=0)
    c_limit_cny: float = Field(ge=0)
    new_customer_limit_cny: float = Field(ge=0)
    new_customer_max_months: int = Field(ge=0)
    new_customer_min_orders: int = Field(ge=0)


class IngestionConfig(_Strict):
    max_rejected_share: float = Field(gt=0, le=1)
    min_rows_for_share: int = Field(ge=1)


class CrmConfig(_Strict):
    """All thresholds of SPEC §3; `version` is recorded beside every published result."""

    version: str = Field(min_length=1)
    abc: AbcConfig
    size_tier: SizeTierConfig
    credit: CreditConfig
    ingestion: IngestionConfig


def load_config(path: Path) -> CrmConfig:
    """Read and validate the configuration file; raises ValueError naming the problem."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
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
