"""dbt models (staging -> intermediate -> marts) as Dagster assets, built per as-of date."""

import importlib.metadata
import json
import os
import shutil
import sys
from collections.abc import Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from pipelines.defs.partitions import as_of_date, as_of_partitions, one_date_per_run
from pipelines.defs.transform import manifest
from pipelines.defs.transform.dbt_vars import dbt_vars
from pipelines.resources import CrmResource
from pipelines.settings import DBT_PROJECT_DIR, dbt_executable, environment_set
from pipelines.storage.audit import CheckOutcome, record
from pipelines.storage.failures import permanent_message

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)


class CrmDbtCliResource(DbtCliResource):
    """The dbt CLI resource without two fixed costs per run that this project never uses:
    a `dbt --version` subprocess (the version of the dbt-core installed beside us is read
    from its package metadata instead) and an in-process dbt adapter, which dagster-dbt
    opens only to fetch row counts and column schemas (`_with_row_counts` counts the rows
    of the as-of date itself). Together a few seconds of every run; the behaviour of `cli()`
    is otherwise unchanged. tests/unit/test_operations.py fails if a dagster-dbt upgrade
    renames what is overridden here."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ANN202 - dagster-dbt's signature
        return None


def _manifest_is_stale() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    newest_source = max(
        p.stat().st_mtime
        for folder in ("models", "macros", "tests")
        for p in (DBT_PROJECT_DIR / folder).rglob("*")
        if p.is_file()
    )
    newest_source = max(newest_source, (DBT_PROJECT_DIR / "dbt_project.yml").stat().st_mtime)
    return manifest.stat().st_mtime < newest_source


if _manifest_is_stale():  # `dbt parse` once per change of the project, not per run
    CrmDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()).cli(
        ["parse", "--quiet"], target_path=dbt_project.target_path
    ).wait()

# The domain (Dagster group) of each dbt model that serves one; the other models are the
# staging views (`staging`) and the shared building blocks several domains read, the
# masters in force and the compact sales facts (`transform`).
MODEL_GROUPS = {
    **dict.fromkeys(
        [
            "customer_facts",
            "int_customer_pareto_classes",
            "int_customer_mix_12m",
            "int_customer_order_intervals",
            "int_customer_complaints",
            "customer_monthly_performance",
            "customer_retention_monthly",
            "region_monthly_performance",
            "complaints_monthly",
            "product_performance",
            "int_channel_turnover_whole_months",
            "int_channel_turnover_monthly",
            "int_channel_turnover_product_monthly",
        ],
        "customer_value",
    ),
    # the AR ledger (F21) and payment behaviour (F22) the credit rating and flags read
    **dict.fromkeys(
        [
            "int_ar_ledger_customers",
            "int_ar_invoices",
            "int_ar_credits",
            "int_ar_credit_applications",
            "int_ar_items",
            "int_ar_items_aged",
            "customer_ar",
            "customer_payment_behaviour",
        ],
        "credit",
    ),
    "int_customer_product_cover": "supply",
    "int_prospects_in_force": "prospects",
}


# dagster-dbt gives every invocation its own target folder (artifacts and dbt.log, about
# 5 MB); the newest are kept for debugging, older ones would grow the disk by the day.
KEEP_DBT_TARGETS = 20


def prune_dbt_targets(target_dir: Path, keep: int = KEEP_DBT_TARGETS) -> list[Path]:
    """Delete all but the `keep` newest per-invocation dbt target folders; returns them."""
    runs = sorted(
        (p for p in target_dir.glob("crm_dbt_models-*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
    )
    doomed = runs[:-keep] if keep else runs
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def keep_parsed_project(invocation_target: Path) -> None:
    """Make the project as a build parsed it the one the next build starts from.

    dagster-dbt seeds each invocation's target folder with the project's
    partial_parse.msgpack, but dbt writes its updated parse into the invocation's folder. The
    seed comes from `dbt parse` without the pipeline's --vars, so without this every build
    would parse the whole project again (seconds, every run). dbt itself checks the kept parse
    against the files, vars, profile and environment of the next build and re-parses what
    differs."""
    project = Path(dbt_project.project_dir)
    parsed = project / invocation_target / "partial_parse.msgpack"
    if not parsed.exists():
        return
    seed = project / dbt_project.target_path / "partial_parse.msgpack"
    tmp = seed.with_name(f".{seed.name}.{os.getpid()}.tmp")
    shutil.copyfile(parsed, tmp)
    os.replace(tmp, seed)  # atomic: a build starting now reads the old or the new parse


class CrmDbtTranslator(DagsterDbtTranslator):
    """Sources map to the ingestion assets (raw/<extract>); models are grouped by domain;
    dbt tests become asset checks described by their own `description:`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        name = dbt_resource_props["name"]
        if name in MODEL_GROUPS:
            return MODEL_GROUPS[name]
        folder = dbt_resource_props.get("fqn", ["", "staging"])[1]
        return "staging" if folder == "staging" else "transform"

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        # dagster-dbt reads a test's meta.description; dbt (1.9 and later) gives data tests a
        # description of their own, which is what the YAML of this project sets
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        description = manifest["nodes"].get(unique_id, {}).get("description")
        if spec is None or spec.description or not description:
            return spec
        return spec._replace(description=description)


def _test_outcomes(run_results: dict) -> list[CheckOutcome]:
    """dbt test results as audit rows: one per test, on the model it tests."""
    nodes = manifest.nodes(dbt_project.manifest_path)
    outcomes = []
    for result in run_results.get("results", []):
        node = nodes.get(result["unique_id"])
        if node is None or node["resource_type"] != "test":
            continue
        # generic tests name their model; singular tests say it in meta.dagster.ref
        ref = (node["config"].get("meta") or {}).get("dagster", {}).get("ref", {}).get("name")
        attached = nodes.get(node.get("attached_node") or "", {}).get("name") or ref
        metadata = node.get("test_metadata") or {}
        outcomes.append(
            CheckOutcome(
                suite_name=attached or "dbt",
                expectation_type=metadata.get("name") or node["name"],
                column_name=node.get("column_name"),
                parameters=json.dumps({"test": node["name"]}),
                severity="warning"
                if node["config"].get("severity", "").lower() == "warn"
                else "critical",
                passed=result["status"] == "pass",
                element_count=None,
                unexpected_count=result.get("failures"),
            )
        )
    return outcomes


def _with_row_counts(events: list, crm: CrmResource, as_of: date):
    """Attach `dagster/row_count` (rows of this as-of date where the table keeps history)."""
    tables = manifest.materialized_tables(dbt_project.manifest_path)
    with crm.connect(read_only=True) as con:
        for event in events:
            uid = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
            table = tables.get(getattr(uid, "value", uid))
            if table is None:
                yield event
                continue
            schema, name = table
            columns = {r[0] for r in con.execute(f"describe {schema}.{name}").fetchall()}
            where = " where as_of_date = ?" if "as_of_date" in columns else ""
            params = [as_of] if where else []
            count = con.execute(f"select count(*) from {schema}.{name}{where}", params).fetchone()
            yield event.with_metadata({**event.metadata, "dagster/row_count": int(count[0])})


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt step (the UI's launchpad, or `crm-pipeline run
    --full-refresh`)."""

    full_refresh: bool = False
    """Rebuild the compact sales facts from every order line instead of only the days
    loaded since the last build, and settle every customer's AR ledger again instead of
    only those whose documents changed. Per-as-of-date marts keep their earlier dates."""


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=CrmDbtTranslator(),
    partitions_def=as_of_partitions,
    backfill_policy=one_date_per_run,
)
def crm_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: CrmDbtCliResource,
    crm: CrmResource,
    config: DbtBuildConfig,
):
    """Build and test every dbt model for the partition's as-of date; tables report the
    rows of that date as `dagster/row_count`. The compact sales facts are incremental by
    day, and the AR ledger by customer, unless `full_refresh` is set."""
    as_of = as_of_date(context)
    settings = crm.config()
    # the configuration changes rarely; the date daily, so it travels outside --vars (see
    # macros/as_of_date.sql): the project is parsed again only when something else changes
    given = json.dumps(dbt_vars(settings))
    # dbt's unit tests check the models' logic on fixed inputs, not the day's data: the test
    # suite runs them (tests/integration/test_deliveries.py), a daily run need not
    args = ["build", "--exclude-resource-type", "unit_test", "--vars", given]
    if config.full_refresh:
        args.append("--full-refresh")
    with environment_set(
        CRM_AS_OF_DATE=as_of.isoformat()
    ):  # read by the dbt subprocess as it starts
        invocation = dbt.cli(args, context=context, raise_on_error=False)
    events = list(invocation.stream())
    keep_parsed_project(invocation.target_path)
    with crm.connect() as con:
        record(
            con,
            run_id=context.run.run_id,
            as_of=as_of,
            source="dbt_test",
            outcomes=_test_outcomes(invocation.get_artifact("run_results.json")),
        )
    yield from _with_row_counts(events, crm, as_of)
    prune_dbt_targets(Path(dbt_project.project_dir) / dbt_project.target_path)
    if not invocation.is_successful():
        error = invocation.get_error()
        message = str(error) if error else "dbt build failed; see the dbt log above"
        # a failing model or test is about the data and fails alike on a retry, and so does
        # a full disk or a corrupted working database (said with the way to recover); a lock
        # held on the working database is not, and may be retried
        permanent = permanent_message(message, crm.work_db)
        raise dg.Failure(
            permanent or message, allow_retries=permanent is None and "lock" in message.lower()
        ) from error
