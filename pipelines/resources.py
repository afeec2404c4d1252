"""Dagster resources: where the pipeline reads and writes, from the CRM_* environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.config import CrmConfig, load_config
from pipelines.settings import work_db_for
from pipelines.storage.run_lock import RunInProgress, run_lock, run_lock_path
from pipelines.storage.work_db import connect_work_db

# How long a run Dagster launched waits for another run on the same warehouse to finish.
RUN_LOCK_WAIT = timedelta(hours=1)


class CrmResource(dg.ConfigurableResource):
    """Paths of the landing folder, the published warehouse, its working database, the
    versioned configuration, the ERP header map and the expectation suites."""

    landing_dir: str
    warehouse_path: str
    config_path: str
    header_map_path: str
    expectations_dir: str

    @property
    def work_db(self) -> Path:
        return work_db_for(Path(self.warehouse_path))

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[CrmResource]:
        """In a run, hold the warehouse's run lock for the whole run (operations.run_lock),
        as `crm-pipeline run` does: a run Dagster launches (the schedule, a sensor, the UI)
        waits up to RUN_LOCK_WAIT for a CLI run on the same warehouse to finish. Sensors
        and schedules, outside any run, take no lock."""
        if context.run is None:
            yield self
            return
        lock, run_id = run_lock_path(Path(self.warehouse_path)), context.run.run_id
        with ExitStack() as held:
            try:
                held.enter_context(run_lock(lock, run_id))
            except RunInProgress as busy:
                context.log.info(f"waiting for the run lock {lock}: {busy}")
                held.enter_context(run_lock(lock, run_id, wait=RUN_LOCK_WAIT))
            yield self

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the working database (storage.work_db.connect_work_db)."""
        with connect_work_db(self.work_db, read_only=read_only) as con:
            yield con

    def config(self) -> CrmConfig:
        return load_config(Path(self.config_path))

    def suite_path(self, table: str) -> Path:
        return Path(self.expectations_dir) / f"{table}.json"


def crm_resource_from_env() -> CrmResource:
    return CrmResource(
        landing_dir=dg.EnvVar("CRM_LANDING_DIR"),
        warehouse_path=dg.EnvVar("CRM_WAREHOUSE_PATH"),
        config_path=dg.EnvVar("CRM_CONFIG_PATH"),
        header_map_path=dg.EnvVar("CRM_HEADER_MAP_PATH"),
        expectations_dir=dg.EnvVar("CRM_EXPECTATIONS_DIR"),
    )
