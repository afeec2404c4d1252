"""Shared fixtures: the configuration, and an isolated environment per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One test process runs the pipeline on many landing folders, and the daily partitions are
# fixed when the definitions are first imported (pipelines.defs.partitions): here they start
# before every fixture's dates. Tests of the start itself run the CLI in a process of its own.
os.environ.setdefault("CRM_FIRST_AS_OF_DATE", "2000-01-01")

from pipelines.config import CrmConfig, load_config  # noqa: E402
from pipelines.settings import PROJECT_ROOT, Settings, apply_environment  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def pii_secret():
    """The secret of the PII join keys, from the environment as in production."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_PII_KEY", "a-secret-for-tests-only")
        yield


@pytest.fixture(scope="session")
def config() -> CrmConfig:
    return load_config(PROJECT_ROOT / "config" / "crm.yaml")


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Landing folder, warehouse and Dagster instance under tmp_path, restored afterwards."""
    monkeypatch.setenv("CRM_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CRM_WAREHOUSE_PATH", str(tmp_path / "warehouse" / "crm.duckdb"))
    monkeypatch.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    monkeypatch.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CRM_WORK_DB", "")
    return apply_environment()
