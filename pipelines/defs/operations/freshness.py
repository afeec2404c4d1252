"""Deliveries that should have landed by now and have not (plain functions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines.config import OperationsConfig
from pipelines.defs.ingestion.landing import DATE_FORMAT, file_name_for, landed_dates


@dataclass(frozen=True)
class LateDelivery:
    extract: str
    business_date: date
    deadline: datetime

    @property
    def key(self) -> str:
        return f"{self.extract}/{self.business_date:{DATE_FORMAT}}"

    @property
    def expected_file(self) -> str:
        return file_name_for(self.extract, self.business_date)


def late_deliveries(landing_dir: Path, now: datetime, cfg: OperationsConfig) -> list[LateDelivery]:
    """For each extract expected daily, every business date of the last `lookback_days`
    whose file is missing although its deadline (the configured time on the next day) has
    passed. A file counts whatever its case (`SALES_20261123.csv` too)."""
    late = []
    for extract, deadline_time in cfg.expected_daily.items():
        landed = set(landed_dates(landing_dir, extract))
        for back in range(1, cfg.lookback_days + 1):
            day = now.date() - timedelta(days=back)
            deadline = datetime.combine(day + timedelta(days=1), deadline_time)
            if now >= deadline and day not in landed:
                late.append(LateDelivery(extract, day, deadline))
    return sorted(late, key=lambda d: (d.business_date, d.extract))
