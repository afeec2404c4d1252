"""dbt is given the whole configuration by one road: the var crm_config."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import load_config
from pipelines.defs.transform.dbt_vars import dbt_vars
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT


def test_the_vars_carry_the_whole_configuration_and_the_date():
    config = load_config(PROJECT_ROOT / "config" / "crm.yaml")
    given = dbt_vars(config, date(2026, 11, 23))
    assert given["as_of_date"] == "2026-11-23"
    assert given["crm_config"]["abc"]["a_max_cumulative_share"] == config.abc.a_max_cumulative_share
    assert given["crm_config"]["supply_cover"]["sell_in_days"] == config.supply_cover.sell_in_days
    assert given["crm_config"]["version"] == config.version
    assert "as_of_date" not in dbt_vars(config)
    json.dumps(given)  # a --vars value


def test_crm_pipeline_prints_the_vars_of_a_build_by_hand(monkeypatch):
    monkeypatch.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    result = CliRunner().invoke(main, ["dbt-vars", "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output
    config = load_config(PROJECT_ROOT / "config" / "crm.yaml")
    assert json.loads(result.output) == dbt_vars(config, date(2026, 11, 23))


def test_the_dbt_project_holds_no_copy_of_a_configured_value():
    project = (DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8")
    assert "\nvars:" not in project
    sql = "".join(
        p.read_text(encoding="utf-8")
        for folder in ("models", "macros", "tests")
        for p in (DBT_PROJECT_DIR / folder).rglob("*.sql")
    )
    import re

    assert set(re.findall(r"(?<![\w])var\('(\w+)'", sql)) == {"as_of_date", "crm_config"}
