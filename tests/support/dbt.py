"""Run the dbt project on a hand-filled working database, as the pipeline would."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

from pipelines.config import load_config
from pipelines.defs.transform.dbt_vars import dbt_vars
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, dbt_executable


def dbt_build(
    work_db: Path, scratch: Path, selection: list[str], as_of: str, *, full_refresh: bool = False
) -> None:
    """`dbt build --select <selection>` for `as_of` on `work_db` (with `--full-refresh` when
    asked); every model and test of the selection must pass. Artefacts and logs go under
    `scratch`."""
    _dbt("build", work_db, scratch, selection, as_of, full_refresh=full_refresh, check=True)


def dbt_test(
    work_db: Path, scratch: Path, selection: list[str], as_of: str
) -> subprocess.CompletedProcess:
    """`dbt test --select <selection>` for `as_of` on `work_db`; the finished process, its
    output captured, whether the tests passed or not."""
    return _dbt("test", work_db, scratch, selection, as_of, check=False)


def _dbt(
    command: str,
    work_db: Path,
    scratch: Path,
    selection: list[str],
    as_of: str,
    *,
    check: bool,
    full_refresh: bool = False,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            dbt_executable(),
            command,
            "--select",
            *selection,
            "--vars",
            json.dumps(
                dbt_vars(
                    load_config(PROJECT_ROOT / "config" / "crm.yaml"), date.fromisoformat(as_of)
                )
            ),
            "--target-path",
            str(scratch / "target"),
            "--log-path",
            str(scratch / "logs"),
            *(["--quiet"] if check else []),
            *(["--full-refresh"] if full_refresh else []),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "CRM_WORK_DB": str(work_db)},
        check=check,
        capture_output=not check,
        text=True,
    )
