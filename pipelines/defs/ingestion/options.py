"""What every step of ingestion shares: how tolerant it is (`IngestOptions`, read from the
versioned configuration by `ingest_options`) and the refusal of a whole file (`FileRejected`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.config import CrmConfig, load_header_map
from pipelines.contract import EXTRACTS
from pipelines.defs.ingestion.pii import pii_key_from_env


class FileRejected(Exception):
    """A whole file is refused: nothing from it (or from this run) is loaded. `file_name`
    (extract/file) names the file refused; None when the refusal is the run's own (a landing
    folder that is missing or empty, an extract that has not landed, misnamed entries)."""

    def __init__(self, message: str, file_name: str | None = None) -> None:
        super().__init__(message)
        self.file_name = file_name


@dataclass(frozen=True)
class IngestOptions:
    """How tolerant ingestion is, and how ERP headers map to the contract."""

    header_map: dict[str, dict[str, str]] = field(default_factory=dict)
    max_rejected_share: float = 0.20
    min_rows_for_share: int = 20
    # rows validated and written at a time (a first load of years of files is never held whole)
    chunk_rows: int = 1_000_000
    # secret of the PII join keys (ingestion.pii); None leaves the keys empty
    pii_key: bytes | None = None
    # plausible dates: none before `earliest_date`, none more than this many days after the
    # business date of the file (a due date of 9999-12-31, an onboarding in year 1)
    earliest_date: date = date(1950, 1, 1)
    max_days_after_business_date: int = 1830
    # days a payments file whose documents reference one not delivered yet is read again
    reference_wait_days: int = 7
    # an entry of an extract folder not named as a delivery (landing.NAMING_RULE): "warn"
    # or "refuse"
    unrecognised_files: str = "warn"


def ingest_options(config: CrmConfig, header_map_path: Path) -> IngestOptions:
    """The options of a run: the configuration's `ingestion` tolerances, the ERP header map
    at `header_map_path` and the PII key from the environment. ValueError for a header map
    that cannot be read or names an unknown extract."""
    tolerance = config.ingestion
    return IngestOptions(
        header_map=load_header_map(header_map_path, list(EXTRACTS)),
        max_rejected_share=tolerance.max_rejected_share,
        min_rows_for_share=tolerance.min_rows_for_share,
        earliest_date=tolerance.earliest_date,
        max_days_after_business_date=tolerance.max_days_after_business_date,
        reference_wait_days=tolerance.reference_wait_days,
        unrecognised_files=tolerance.unrecognised_files,
        pii_key=pii_key_from_env(),
    )
