"""Deliveries that should have landed by now and have not (plain functions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines.config import OperationsConfig


@dataclass(frozen=True)
class LateDelivery:
    extract: str
    business_date: date
    deadline: datetime

    @property
    def key(self) -> str:
        return f"{self.extract}/{self.business_date:%Y%m%d}"

    @property
    def expected_file(self) -> str:
        return f"{self.extract}/{self.extract}_{self.business_date:%Y%m%d}.csv"


def late_deliveries(landing_dir: Path, now: datetime, cfg: OperationsConfig) -> list[LateDelivery]:
    """For each extract expected daily, every business date of the last `lookback_days`
    whose file is missing although its deadline (the configured time on the next day) has
    passed. A file counts whatever its case (`SALES_20261123.csv` too)."""
    late = []
    for extract, deadline_time in cfg.expected_daily.items():
        folder = landing_dir / extract
        present = {p.name.lower() for p in folder.iterdir()} if folder.is_dir() else set()
        for back in range(1, cfg.lookback_days + 1):
            day = now.date() - timedelta(days=back)
            deadline = datetime.combine(day + timedelta(days=1), deadline_time)
            if now >= deadline and f"{extract}_{day:%Y%m%d}.csv" not in present:
                late.append(LateDelivery(extract, day, deadline))
    return sorted(late, key=lambda d: (d.business_date, d.extract))
