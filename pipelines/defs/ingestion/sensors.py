"""Start a run when new or changed extract files land, keyed on their content."""

import hashlib
import json
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.contract import EXTRACTS
from pipelines.defs.ingestion.landing import business_date_of, landed_files, sha256_of
from pipelines.defs.ingestion.options import FileRejected
from pipelines.resources import CrmResource

LANDING_SENSOR = "landing_sensor"


def landed_versions(landing_dir: Path, seen: dict[str, list]) -> dict[str, list]:
    """file name -> [sha256, size, mtime_ns, business date] of every contract file landed.

    A file whose size and mtime match `seen` keeps its recorded hash without being read. A
    file whose name's digits are not a date has no business date (None): it still starts a
    run, which refuses it with the reason. The run names the entries it does not load.
    """
    current = {}
    for name in EXTRACTS:
        for path in landed_files(landing_dir, name):
            key = f"{name}/{path.name}"
            stat = path.stat()
            previous = seen.get(key)
            if previous and previous[1:3] == [stat.st_size, stat.st_mtime_ns]:
                current[key] = previous
            else:
                current[key] = [sha256_of(path), stat.st_size, stat.st_mtime_ns, _day(path)]
    return current


def _day(path: Path) -> str | None:
    try:
        day = business_date_of(path)
    except FileRejected:
        return None
    return day.isoformat() if day else None


def delivery_run_request(
    current: dict[str, list], seen: dict[str, list], latest_allowed: str
) -> dg.RunRequest | None:
    """One run for the newest business date landed (up to `latest_allowed`, ISO date), if any
    file's content is new or changed.

    The run key is the hash of the changed files' names and contents: the same delivery
    never starts two runs, a corrected file starts a new one.
    """
    changed = sorted(
        (name, entry[0])
        for name, entry in current.items()
        if name not in seen or seen[name][0] != entry[0]
    )
    if not changed:
        return None
    dates = sorted(
        entry[3] for entry in current.values() if entry[3] and entry[3] <= latest_allowed
    )
    if not dates:
        return None
    run_key = hashlib.sha256(json.dumps(changed).encode()).hexdigest()[:32]
    return dg.RunRequest(
        run_key=run_key,
        partition_key=dates[-1],
        tags={"crm/trigger": "landing_sensor", "crm/changed_files": str(len(changed))},
    )


@dg.sensor(
    name=LANDING_SENSOR,
    job_name="daily_pipeline",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the daily pipeline for the newest business date when extract files "
    "land or are corrected (content-keyed: one delivery, one run).",
)
def landing_sensor(context: dg.SensorEvaluationContext, crm: CrmResource):
    seen = json.loads(context.cursor) if context.cursor else {}
    current = landed_versions(Path(crm.landing_dir), seen)
    request = delivery_run_request(current, seen, latest_allowed=date.today().isoformat())
    context.update_cursor(json.dumps(current, sort_keys=True))
    if request is None:
        return dg.SkipReason("no new or changed extract files")
    context.log.info(f"new or changed files: run {request.run_key} for {request.partition_key}")
    return request
