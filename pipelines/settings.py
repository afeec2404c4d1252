"""Environment in one place: every environment variable the project reads, and the functions
through which the pipeline's modules read them.

Modules call the functions below instead of reading `os.environ`; resources take
`dg.EnvVar(...)` of the variables `apply_environment` fills in; dbt reads its own with
`env_var()` (profiles.yml, macros/as_of_date.sql) and Dagster reads DAGSTER_HOME. Relative
paths resolve against the project root.

| variable                | default                     | meaning                                |
|-------------------------|-----------------------------|----------------------------------------|
| CRM_LANDING_DIR         | landing                     | where the ERP drops extracts           |
| CRM_WAREHOUSE_PATH      | warehouse/crm.duckdb        | the published file BI tools read       |
| CRM_CONFIG_PATH         | config/crm.yaml             | the versioned business configuration   |
| CRM_HEADER_MAP_PATH     | config/header_map.yaml      | ERP column headers -> contract columns |
| CRM_EXPECTATIONS_DIR    | expectations                | Great Expectations suites (JSON)       |
| DAGSTER_HOME            | .dagster                    | the Dagster instance (runs, UI)        |
| CRM_WORK_DB             | from the warehouse path (1) | the working database dbt builds in     |
| CRM_DUCKDB_MEMORY_LIMIT | 40% of physical memory (2)  | DuckDB's memory limit (e.g. 8GB)       |
| CRM_AS_OF_DATE          | none (3)                    | the business date of a dbt build       |
| CRM_FIRST_AS_OF_DATE    | see (4)                     | where the daily partitions start       |
| CRM_PII_KEY             | none: no keyed hashes       | secret of the PII join keys (5)        |
| CRM_ALERT_LOG           | <DAGSTER_HOME>/alerts.log   | the alert log, one JSON line each      |
| CRM_ALERT_WEBHOOK_URL   | none: alerts only logged    | where alerts are POSTed as JSON        |
| GX_ANALYTICS_ENABLED    | false (6)                   | Great Expectations' usage analytics    |

(1) `apply_environment` sets it for dbt's profile (profiles.yml's own default, for dbt
run by hand: ../warehouse/.work/crm_work.duckdb). (2) `apply_environment` writes it back
for dbt (profiles.yml's own default: 4GB). (3) The dbt asset sets it for its subprocess
only; dbt's `as_of_date` macro reads it when `--vars '{as_of_date: ...}'` is not given and
fails without either. (4) A YYYY-MM-DD date; unset, `publishing.first_as_of_date`, else the
business date of the oldest sales file landed, else today (pipelines/defs/partitions.py). (5)
HMAC-SHA256 (pipelines/defs/ingestion/pii.py); never put it in the repository. (6) Set
when GX is first imported, unless the environment already sets it.

The working database (raw tables, dbt models, scores before publication) lives next to
the warehouse in `<warehouse dir>/.work/<warehouse stem>_work.duckdb`; `CRM_WORK_DB` is
derived from the warehouse path so that dbt's profile sees the same file.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

_DEFAULTS = {
    "CRM_LANDING_DIR": "landing",
    "CRM_WAREHOUSE_PATH": "warehouse/crm.duckdb",
    "CRM_CONFIG_PATH": "config/crm.yaml",
    "CRM_HEADER_MAP_PATH": "config/header_map.yaml",
    "CRM_EXPECTATIONS_DIR": "expectations",
    "DAGSTER_HOME": ".dagster",
}


PII_KEY_ENV = "CRM_PII_KEY"
ALERT_LOG_ENV = "CRM_ALERT_LOG"
ALERT_WEBHOOK_ENV = "CRM_ALERT_WEBHOOK_URL"
FIRST_AS_OF_DATE_ENV = "CRM_FIRST_AS_OF_DATE"


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def environment_path(name: str) -> Path:
    """The path a CRM_* variable (or DAGSTER_HOME) names, or its default, without writing it
    back to the environment (for what is read before `apply_environment`)."""
    return _resolve(os.environ.get(name) or _DEFAULTS[name])


def pii_key() -> bytes | None:
    """The secret of the PII join keys (CRM_PII_KEY), or None when it is not set."""
    secret = os.environ.get(PII_KEY_ENV, "")
    return secret.encode("utf-8") if secret else None


def alert_log_path() -> Path:
    """Where alerts are appended: CRM_ALERT_LOG, else `alerts.log` in DAGSTER_HOME."""
    configured = os.environ.get(ALERT_LOG_ENV)
    if configured:
        return _resolve(configured)
    return environment_path("DAGSTER_HOME") / "alerts.log"


def alert_webhook_url() -> str | None:
    """Where alerts are POSTed (CRM_ALERT_WEBHOOK_URL), or None when they are only logged."""
    return os.environ.get(ALERT_WEBHOOK_ENV) or None


def first_as_of_date_override() -> date | None:
    """The start of the daily partitions that CRM_FIRST_AS_OF_DATE sets, or None.

    Raises:
        ValueError: the variable is set but is not a YYYY-MM-DD date.
    """
    value = os.environ.get(FIRST_AS_OF_DATE_ENV)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{FIRST_AS_OF_DATE_ENV}={value!r} is not a YYYY-MM-DD date") from None


def disable_gx_analytics() -> None:
    """Great Expectations sends usage analytics unless told not to: turn them off before it
    is imported (a GX_ANALYTICS_ENABLED set in the environment wins)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for the pipeline's connections and dbt's: CRM_DUCKDB_MEMORY_LIMIT,
    else 40% of physical memory. DuckDB's own default (80%) would leave too little to the
    Polars and GX work of the same process; beyond the limit DuckDB spills to disk."""
    if os.environ.get("CRM_DUCKDB_MEMORY_LIMIT"):
        return os.environ["CRM_DUCKDB_MEMORY_LIMIT"]
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(physical * 0.4) // 2**20)}MiB"


def work_db_for(warehouse_path: Path) -> Path:
    """The working database that belongs to a published warehouse file."""
    return warehouse_path.parent / ".work" / f"{warehouse_path.stem}_work.duckdb"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_path: Path
    config_path: Path
    header_map_path: Path
    expectations_dir: Path
    dagster_home: Path

    @property
    def work_db(self) -> Path:
        return work_db_for(self.warehouse_path)


def apply_environment(**overrides: str | Path | None) -> Settings:
    """Fill in defaults for every CRM_* variable (and DAGSTER_HOME), apply overrides, return them.

    Absolute paths are written back to the environment so Dagster resources (`dg.EnvVar`)
    and the dbt subprocess (`env_var()` in profiles.yml) all see the same files.
    """
    names = {
        "landing": "CRM_LANDING_DIR",
        "warehouse": "CRM_WAREHOUSE_PATH",
        "config": "CRM_CONFIG_PATH",
        "header_map": "CRM_HEADER_MAP_PATH",
        "expectations": "CRM_EXPECTATIONS_DIR",
        "dagster_home": "DAGSTER_HOME",
    }
    for key, value in overrides.items():
        if value is not None:
            os.environ[names[key]] = str(value)
    for name, default in _DEFAULTS.items():
        os.environ[name] = str(_resolve(os.environ.get(name) or default))
    settings = Settings(
        landing_dir=Path(os.environ["CRM_LANDING_DIR"]),
        warehouse_path=Path(os.environ["CRM_WAREHOUSE_PATH"]),
        config_path=Path(os.environ["CRM_CONFIG_PATH"]),
        header_map_path=Path(os.environ["CRM_HEADER_MAP_PATH"]),
        expectations_dir=Path(os.environ["CRM_EXPECTATIONS_DIR"]),
        dagster_home=Path(os.environ["DAGSTER_HOME"]),
    )
    os.environ["CRM_WORK_DB"] = str(settings.work_db)
    os.environ["CRM_DUCKDB_MEMORY_LIMIT"] = duckdb_memory_limit()
    return settings


@contextmanager
def environment_set(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them (the
    as-of date a dbt subprocess reads as it starts)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
