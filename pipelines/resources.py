"""Dagster resources: where the pipeline reads and writes, from the CRM_* environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.config import CrmConfig, load_config
from pipelines.settings import work_db_for


class CrmResource(dg.ConfigurableResource):
    """Paths of the landing folder, the published warehouse, its working database, the
    versioned configuration and the expectation suites."""

    landing_dir: str
    warehouse_path: str
    config_path: str
    expectations_dir: str

    @property
    def work_db(self) -> Path:
        return work_db_for(Path(self.warehouse_path))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the working database, closed on exit (dbt needs the file free)."""
        self.work_db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.work_db), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def config(self) -> CrmConfig:
        return load_config(Path(self.config_path))

    def suite_path(self, table: str) -> Path:
        return Path(self.expectations_dir) / f"{table}.json"


def crm_resource_from_env() -> CrmResource:
    return CrmResource(
        landing_dir=dg.EnvVar("CRM_LANDING_DIR"),
        warehouse_path=dg.EnvVar("CRM_WAREHOUSE_PATH"),
        config_path=dg.EnvVar("CRM_CONFIG_PATH"),
        expectations_dir=dg.EnvVar("CRM_EXPECTATIONS_DIR"),
    )
