"""Run the daily job for one as-of date on the persistent Dagster instance."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.defs.operations.notify import notify
from pipelines.settings import Settings

_log = logging.getLogger(__name__)

_DAGSTER_YAML = """\
# Dagster instance of the crm pipeline: runs recorded by the CLI are shown by `make ui`.
telemetry:
  enabled: false
# One run at a time: every run writes the one working database. The schedule, the sensors
# and the UI's backfills queue their runs here; the CLI holds the warehouse's run lock.
concurrency:
  runs:
    max_concurrent_runs: 1
"""
# what earlier releases wrote: replaced by the above, any other file is the user's own
_EARLIER_YAML = """\
# Dagster instance of the crm pipeline: runs recorded by the CLI are shown by `make ui`.
telemetry:
  enabled: false
"""


def write_instance_config(dagster_home: Path) -> None:
    """The instance's dagster.yaml in `dagster_home`, unless one of the user's is there."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists() or config.read_text(encoding="utf-8") == _EARLIER_YAML:
        config.write_text(_DAGSTER_YAML, encoding="utf-8")


@dataclass
class RunOutcome:
    """What a run did: published or not, its messages, its report; `refused` when another
    run held the warehouse's run lock and this one did not start."""

    success: bool
    run_id: str
    errors: list[str] = field(default_factory=list)
    published_rows: dict[str, int] = field(default_factory=dict)
    report: Path | None = None
    refused: bool = False
    # the warehouse holds this run's publication although a closing step failed after it
    published_anyway: bool = False


def instance_for(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance in DAGSTER_HOME (created on first use)."""
    write_instance_config(settings.dagster_home)
    return dg.DagsterInstance.get()


def _failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step and per failed check (a step stopped by a blocking check
    is said once, by the check)."""
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            data = event.step_failure_data
            error = data.error
            if any(
                e is not None and e.cls_name == "DagsterAssetCheckFailedError"
                for e in (error, error.cause if error else None)
            ):
                continue  # the failed check itself is listed, with what it found
            if data.user_failure_data and data.user_failure_data.description:
                text = data.user_failure_data.description  # a dg.Failure's own message
            else:
                cause = error.cause if error and error.cause else error
                text = cause.message if cause else ""
            lines = [ln for ln in text.splitlines() if ln.strip()]
            messages.append(f"{event.step_key}: {lines[0] if lines else 'failed'}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                messages.append(
                    f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                    f"failed: {evaluation.description}"
                )
    return messages or ["the run did not complete; see the Dagster log"]


def _explain(exc: BaseException, settings: Settings) -> str:
    """One line for an error of the machine: the way to recover when it is a permanent one,
    else its first line."""
    from pipelines.storage.failures import permanent_failure

    try:
        message = permanent_failure(exc, settings.work_db)
    except Exception:  # the explanation must not fail either
        message = None
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return message or f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"


def run_pipeline(
    settings: Settings, as_of: date, log_level: str = "INFO", full_refresh: bool = False
) -> RunOutcome:
    """Execute the daily job for `as_of` in process, recorded in the persistent instance;
    `full_refresh` rebuilds the compact sales facts from every order line and the AR ledger
    of every customer.

    One run at a time per warehouse (operations.run_lock): while another holds the lock the
    run is refused at once, without an alert. A run that does not publish ends with its
    messages, a `run_failed` alert and, where the disk allows, the auditors' report,
    whatever breaks on the way (the closing checkpoint, the report, the alert log)."""
    from pipelines.storage.run_lock import RunInProgress, run_lock, run_lock_path

    run_id = str(uuid.uuid4())  # known before the run starts: the lock names it
    try:
        with run_lock(run_lock_path(settings.warehouse_path), run_id):
            return _run_locked(settings, as_of, run_id, log_level, full_refresh)
    except RunInProgress as busy:
        _log.warning("run for %s refused: %s", as_of, busy)
        return RunOutcome(False, run_id, [str(busy)], refused=True)
    except OSError as exc:  # the lock file cannot be created: the run never started
        return _failed(settings, as_of, run_id, [f"run lock: {_explain(exc, settings)}"])


def _run_locked(
    settings: Settings, as_of: date, run_id: str, log_level: str, full_refresh: bool
) -> RunOutcome:
    """The run itself, under the run lock; raises nothing but interruptions."""
    try:
        from pipelines.definitions import DAILY_JOB, defs
        from pipelines.defs.publishing.assets import PUBLISHED_WAREHOUSE
        from pipelines.storage.work_db import checkpoint_work_db

        job = defs.resolve_job_def(DAILY_JOB)
        with instance_for(settings) as instance:
            result = job.execute_in_process(
                instance=instance,
                partition_key=as_of.isoformat(),
                raise_on_error=False,
                run_id=run_id,
                tags={"crm/trigger": "cli"},
                run_config={
                    "loggers": {"console": {"config": {"log_level": log_level}}},
                    "ops": {"crm_dbt_models": {"config": {"full_refresh": full_refresh}}},
                },
            )
    except Exception as exc:  # the definitions or the Dagster instance (its disk, storage)
        _log.exception("the run for %s could not be executed", as_of)
        return _failed(settings, as_of, run_id, [f"run: {_explain(exc, settings)}"])
    checkpoint_error = None
    try:
        checkpoint_work_db(settings.work_db)  # a failed run's steps too
    except Exception as exc:
        checkpoint_error = _explain(exc, settings)
        _log.warning("closing checkpoint of the working database failed: %s", checkpoint_error)
    published = [
        event.step_materialization_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == PUBLISHED_WAREHOUSE
    ]
    if not result.success or not published:
        messages = _failure_messages(result)
        if checkpoint_error and not any(checkpoint_error in m for m in messages):
            messages.append(f"closing checkpoint: {checkpoint_error}")
        return _failed(settings, as_of, result.run_id, messages)
    metadata = published[-1].metadata
    rows = {
        k.removeprefix("rows_"): int(v.value) for k, v in metadata.items() if k.startswith("rows_")
    }
    report = metadata.get("report")
    return RunOutcome(
        True, result.run_id, published_rows=rows, report=Path(report.value) if report else None
    )


def _failed(settings: Settings, as_of: date, run_id: str, messages: list[str]) -> RunOutcome:
    """The outcome of a run that did not complete, after its report (when it can be
    written) and its `run_failed` alert; raises nothing. Such a run published nothing,
    unless it failed after the atomic replace of the warehouse (in the closing checkpoint or
    the report): then the outcome and the alert say that it was published."""
    published = _published_by(settings.warehouse_path, run_id)
    report = None
    if not published:  # a published run's report belongs to its publication step
        try:
            report = _report_of_failure(settings, as_of, run_id, messages)
        except Exception as exc:
            _log.warning("no auditors' report for run %s: %s", run_id, _explain(exc, settings))
    what = (
        "was published, but a closing step failed" if published else "failed; nothing was published"
    )
    try:
        notify(
            "run_failed",
            f"run for {as_of} {what}: {'; '.join(messages)}",
            run_id=run_id,
            as_of_date=as_of.isoformat(),
            published=published,
            errors=messages,
            report=str(report) if report else None,
        )
    except Exception:  # notify does not raise; should it ever, the outcome still returns
        _log.exception("the run_failed alert of run %s was not sent", run_id)
    return RunOutcome(False, run_id, messages, report=report, published_anyway=published)


def _published_by(warehouse: Path, run_id: str) -> bool:
    """Whether the published warehouse file is the state that run `run_id` wrote: the last
    run of reporting.publication (its run_id is the newest as-of date's, which a backfill of
    an older date leaves to an earlier run)."""
    import duckdb

    if not warehouse.exists():
        return False
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            cursor = con.execute("select * from reporting.publication")
            names = [d[0] for d in cursor.description]
            row = cursor.fetchone()
    except Exception:  # unreadable, or published before publication rows existed: not ours
        return False
    if not row:
        return False
    # files of earlier releases have no last_run_id: their run_id was the last run
    last = dict(zip(names, row, strict=True))
    return last.get("last_run_id", last.get("run_id")) == run_id


def _report_of_failure(
    settings: Settings, as_of: date, run_id: str, messages: list[str]
) -> Path | None:
    """The auditors' report of a run that did not publish (what was checked, what failed),
    when the run got as far as the working database."""
    from pipelines.config import load_config
    from pipelines.defs.publishing.assets import run_started_at
    from pipelines.defs.publishing.report import RunFacts, build_report

    if not settings.work_db.exists():
        return None
    try:
        version = load_config(settings.config_path).version
    except ValueError:
        version = "unreadable configuration"
    try:
        with instance_for(settings) as instance:
            started_at = run_started_at(instance, run_id)
    except Exception:  # no instance readable: the report says the start is not known
        started_at = None
    facts = RunFacts(
        run_id, as_of, version, published=False, messages=tuple(messages), started_at=started_at
    )
    return build_report(settings.work_db, settings.warehouse_path, facts)
