"""Ingestion: landed extract files, checked against the contract, into the raw tables."""

import dagster as dg

from pipelines.defs.ingestion.assets import raw_extracts
from pipelines.defs.ingestion.checks import RAW_EXTRACT_CHECKS
from pipelines.defs.ingestion.sensors import landing_sensor

defs = dg.Definitions(
    assets=[raw_extracts], asset_checks=RAW_EXTRACT_CHECKS, sensors=[landing_sensor]
)
