"""Run the dbt project on a hand-filled working database, as the pipeline would."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pipelines.settings import DBT_PROJECT_DIR, dbt_executable


def dbt_build(
    work_db: Path, scratch: Path, selection: list[str], as_of: str, *, full_refresh: bool = False
) -> None:
    """`dbt build --select <selection>` for `as_of` on `work_db` (with `--full-refresh` when
    asked); every model and test of the selection must pass. Artefacts and logs go under
    `scratch`."""
    subprocess.run(
        [
            dbt_executable(),
            "build",
            "--select",
            *selection,
            "--vars",
            json.dumps({"as_of_date": as_of}),
            "--target-path",
            str(scratch / "target"),
            "--log-path",
            str(scratch / "logs"),
            "--quiet",
            *(["--full-refresh"] if full_refresh else []),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "CRM_WORK_DB": str(work_db)},
        check=True,
    )
