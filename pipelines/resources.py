"""Dagster resources: where the pipeline reads and writes, from the CRM_* environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.config import CrmConfig, load_config, load_header_map
from pipelines.defs.ingestion.contract import EXTRACTS
from pipelines.defs.ingestion.loader import IngestOptions
from pipelines.defs.ingestion.pii import pii_key_from_env
from pipelines.settings import duckdb_memory_limit, work_db_for
from pipelines.storage.failures import fail_at_once_if_permanent, permanent_failure
from pipelines.storage.run_lock import RunInProgress, run_lock, run_lock_path

# How long a run Dagster launched waits for another run on the same warehouse to finish.
RUN_LOCK_WAIT = timedelta(hours=1)


def checkpoint_work_db(work_db: Path) -> None:
    """Write what a run's steps left in the write-ahead log (CrmResource.connect) into the
    working database file, so that the file alone holds everything. Skipped when there is
    no file yet, or another process holds it (the log is durable; its next writer
    checkpoints). Any other error is raised (the runner reports it)."""
    if not work_db.exists():
        return
    try:
        con = duckdb.connect(str(work_db), config={"memory_limit": duckdb_memory_limit()})
    except duckdb.IOException as exc:
        if permanent_failure(exc, work_db) is None:
            return  # held by another process
        raise
    try:
        con.execute("checkpoint")
    finally:
        con.close()


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
        """A connection to the working database, closed on exit (dbt needs the file free).

        A run's many short steps each write a little (scores, check results). Their
        connections close without a checkpoint: what they wrote stays in the write-ahead log
        (durable at each commit, replayed by whoever opens the file next, checkpointed by
        DuckDB itself past 16 MiB and by dbt's build) instead of each close rewriting the
        database's metadata (0.2 s a step at M). The run ends with `checkpoint_work_db`.

        A full disk, a folder that is not writable or a corrupted working database, met at
        the opening or inside the block, fail the step at once with the way to recover
        (operations.failures); a lock held by another process stays retryable."""
        with fail_at_once_if_permanent(self.work_db):
            self.work_db.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(
                str(self.work_db),
                read_only=read_only,
                config={"memory_limit": duckdb_memory_limit()},
            )
            try:
                if not read_only:
                    con.execute("pragma disable_checkpoint_on_shutdown")
                yield con
            finally:
                con.close()

    def config(self) -> CrmConfig:
        return load_config(Path(self.config_path))

    def ingest_options(self) -> IngestOptions:
        """Header map, bad-row tolerance, date bounds and the other rules of ingestion."""
        tolerance = self.config().ingestion
        return IngestOptions(
            header_map=load_header_map(Path(self.header_map_path), list(EXTRACTS)),
            max_rejected_share=tolerance.max_rejected_share,
            min_rows_for_share=tolerance.min_rows_for_share,
            earliest_date=tolerance.earliest_date,
            max_days_after_business_date=tolerance.max_days_after_business_date,
            reference_wait_days=tolerance.reference_wait_days,
            unrecognised_files=tolerance.unrecognised_files,
            pii_key=pii_key_from_env(),
        )

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
