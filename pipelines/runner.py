"""Run the daily job for one as-of date on the persistent Dagster instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.operations.notify import notify
from pipelines.settings import Settings

_DAGSTER_YAML = """\
# Dagster instance of the crm pipeline: runs recorded by the CLI are shown by `make ui`.
telemetry:
  enabled: false
"""


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    errors: list[str] = field(default_factory=list)
    published_rows: dict[str, int] = field(default_factory=dict)
    report: Path | None = None


def instance_for(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance in DAGSTER_HOME (created on first use)."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(_DAGSTER_YAML, encoding="utf-8")
    return dg.DagsterInstance.get()


def _failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            cause = error.cause if error and error.cause else error
            lines = [ln for ln in (cause.message if cause else "").splitlines() if ln.strip()]
            messages.append(f"{event.step_key}: {lines[0] if lines else 'failed'}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                messages.append(
                    f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                    f"failed: {evaluation.description}"
                )
    return messages or ["the run did not complete; see the Dagster log"]


def run_pipeline(
    settings: Settings, as_of: date, log_level: str = "INFO", full_refresh: bool = False
) -> RunOutcome:
    """Execute the daily job for `as_of` in process, recorded in the persistent instance;
    `full_refresh` rebuilds the compact sales facts from every order line and the AR ledger
    of every customer."""
    from pipelines.definitions import DAILY_JOB, defs
    from pipelines.publishing.assets import PUBLISHED_WAREHOUSE
    from pipelines.resources import checkpoint_work_db

    job = defs.resolve_job_def(DAILY_JOB)
    with instance_for(settings) as instance:
        result = job.execute_in_process(
            instance=instance,
            partition_key=as_of.isoformat(),
            raise_on_error=False,
            tags={"crm/trigger": "cli"},
            run_config={
                "loggers": {"console": {"config": {"log_level": log_level}}},
                "ops": {"crm_dbt_models": {"config": {"full_refresh": full_refresh}}},
            },
        )
    checkpoint_work_db(settings.work_db)  # a failed run's steps too
    published = [
        event.step_materialization_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == PUBLISHED_WAREHOUSE
    ]
    if not result.success or not published:
        messages = _failure_messages(result)
        report = _report_of_failure(settings, as_of, result.run_id, messages)
        notify(
            "run_failed",
            f"run for {as_of} failed; nothing was published: {'; '.join(messages)}",
            run_id=result.run_id,
            as_of_date=as_of.isoformat(),
            errors=messages,
            report=str(report) if report else None,
        )
        return RunOutcome(False, result.run_id, messages, report=report)
    metadata = published[-1].metadata
    rows = {
        k.removeprefix("rows_"): int(v.value) for k, v in metadata.items() if k.startswith("rows_")
    }
    report = metadata.get("report")
    return RunOutcome(
        True, result.run_id, published_rows=rows, report=Path(report.value) if report else None
    )


def _report_of_failure(
    settings: Settings, as_of: date, run_id: str, messages: list[str]
) -> Path | None:
    """The auditors' report of a run that did not publish (what was checked, what failed),
    when the run got as far as the working database."""
    from pipelines.config import load_config
    from pipelines.publishing.report import RunFacts, build_report

    if not settings.work_db.exists():
        return None
    try:
        version = load_config(settings.config_path).version
    except ValueError:
        version = "unreadable configuration"
    facts = RunFacts(run_id, as_of, version, published=False, messages=tuple(messages))
    return build_report(settings.work_db, settings.warehouse_path, facts)
