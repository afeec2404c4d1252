"""Environment in one place: every path the pipeline uses, read from CRM_* variables.

| variable            | default                     | meaning                                  |
|---------------------|-----------------------------|------------------------------------------|
| CRM_LANDING_DIR     | landing                     | where the ERP drops extracts             |
| CRM_WAREHOUSE_PATH  | warehouse/crm.duckdb        | the published file BI tools read         |
| CRM_CONFIG_PATH     | config/crm.yaml             | the versioned business configuration     |
| CRM_HEADER_MAP_PATH | config/header_map.yaml      | ERP column headers -> contract columns   |
| CRM_EXPECTATIONS_DIR| expectations                | Great Expectations suites (JSON)         |
| DAGSTER_HOME        | .dagster                    | the Dagster instance (runs, UI)          |
| CRM_DUCKDB_MEMORY_LIMIT | 40% of physical memory  | DuckDB's memory limit (e.g. 8GB)         |
| CRM_FIRST_AS_OF_DATE| (see pipelines/defs/partitions.py)| where the daily partitions start        |

The working database (raw tables, dbt models, scores before publication) lives next to
the warehouse in `<warehouse dir>/.work/<warehouse stem>_work.duckdb`; `CRM_WORK_DB` is
derived from the warehouse path so that dbt's profile sees the same file.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
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


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def environment_path(name: str) -> Path:
    """The path a CRM_* variable (or DAGSTER_HOME) names, or its default, without writing it
    back to the environment (for what is read before `apply_environment`)."""
    return _resolve(os.environ.get(name) or _DEFAULTS[name])


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
