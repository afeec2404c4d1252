"""The package is built in floors, each importing only from its own floor or below, and the
business rules stay free of the orchestrator:

    entry points   pipelines.definitions, pipelines.runner, pipelines.cli
    domains        pipelines.defs.<domain>: Dagster's assets, checks, sensors, schedules
                   (and keys, definitions, the shared partitions and metadata) over
    rules          the plain modules beside them (no Dagster import), and pipelines.demo
    resources      pipelines.resources
    quality        pipelines.quality (the GX runner, check factories)
    storage        pipelines.storage (working database, tables, run lock, audit trail)
    foundation     pipelines.settings, pipelines.config, pipelines.contract (the extract
                   contract every floor reads), pipelines.sql
"""

from __future__ import annotations

import ast
from pathlib import Path

import dagster as dg
import pytest

from pipelines.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "pipelines"
DOMAINS = [
    "ingestion",
    "transform",
    "customer_value",
    "credit",
    "supply",
    "prospects",
    "publishing",
    "operations",
]
# modules of a domain that speak Dagster; every other module of a domain is a rule module
DAGSTER_MODULES = {
    "assets",
    "checks",
    "sensors",
    "schedules",
    "keys",
    "definitions",
    "partitions",
    "metadata",
}
FLOORS = ["foundation", "storage", "quality", "resources", "rules", "domains", "entry points"]


def _module(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def floor_of(module: str) -> str:
    parts = module.split(".")
    if module in {"pipelines", "pipelines.defs"} or parts[1] in {
        "settings",
        "config",
        "sql",
        "contract",
    }:
        return "foundation"
    if parts[1] == "demo":
        return "rules"
    if parts[1] in {"storage", "quality", "resources"}:
        return parts[1]
    if parts[1] == "defs":
        return "domains" if parts[-1] in DAGSTER_MODULES else "rules"
    if parts[1] in {"definitions", "runner", "cli"}:
        return "entry points"
    raise AssertionError(f"{module} belongs to no floor: add it to the table above")


def _imports(path: Path) -> set[str]:
    """Every module an import statement of the file names, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from pipelines.defs.operations import sensors` imports a module too
            names |= {
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in MODULES
            }
    return names


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_a_floor(module: str):
    own = FLOORS.index(floor_of(module))
    upward = sorted(
        f"{name} ({floor_of(name)})"
        for name in _imports(MODULES[module])
        if name.startswith("pipelines.") and FLOORS.index(floor_of(name)) > own
    )
    assert upward == [], f"{module} ({floor_of(module)}) imports from above"


def test_rule_modules_do_not_import_dagster():
    speaking = sorted(
        module
        for module, path in MODULES.items()
        if floor_of(module) == "rules"
        and any(name.split(".")[0] in {"dagster", "dagster_dbt"} for name in _imports(path))
    )
    assert speaking == []


def test_each_domain_has_its_room():
    """Every domain holds its definitions; one with assets holds them in assets.py, and its
    checks in checks.py beside them (dbt's tests are the dbt project's own)."""
    defs = PACKAGE / "defs"
    assert sorted(p.name for p in defs.iterdir() if p.is_dir() and p.name != "__pycache__") == (
        sorted(DOMAINS)
    )
    for domain in DOMAINS:
        room = defs / domain
        assert (room / "definitions.py").exists(), domain
        if domain != "operations":
            assert (room / "assets.py").exists(), domain
        if domain not in {"transform", "publishing", "operations"}:
            assert (room / "checks.py").exists(), domain


def test_every_asset_and_check_is_defined_in_its_domain():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    places = set()
    for node in graph.asset_nodes:
        compute = node.assets_def.op.compute_fn.decorated_fn
        places.add((node.group_name, compute.__module__))
    for module in {m for _, m in places}:
        assert module.startswith("pipelines.defs.") and module.endswith(".assets"), module
    # dbt's tests are checks of the dbt asset; every other check is made in the checks.py of
    # the domain whose asset it checks
    import importlib

    made_in = {}
    for domain in DOMAINS:
        if (PACKAGE / "defs" / domain / "checks.py").exists():
            module = importlib.import_module(f"pipelines.defs.{domain}.checks")
            for value in vars(module).values():
                for checks in value if isinstance(value, list) else [value]:
                    if isinstance(checks, dg.AssetChecksDefinition):
                        made_in |= dict.fromkeys(checks.check_keys, domain)
    defined = {key for checks in defs.asset_checks for key in checks.check_keys}
    assert set(made_in) == defined
    for key, domain in made_in.items():
        assert graph.get(key.asset_key).group_name == domain, key.to_user_string()
