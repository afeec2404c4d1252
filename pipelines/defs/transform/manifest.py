"""The dbt manifest (target/manifest.json): the one reader of what dbt says about its models
and tests, read once per version of the file."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path


@cache
def _nodes(path: Path, mtime_ns: int) -> dict[str, dict]:
    return json.loads(path.read_text(encoding="utf-8"))["nodes"]


def nodes(manifest: Path) -> dict[str, dict]:
    """unique_id -> node of every model, test and seed of the project."""
    path = Path(manifest)
    return _nodes(path, path.stat().st_mtime_ns)


def model_columns(manifest: Path, model: str) -> dict[str, str]:
    """Column -> description of a dbt model, as its YAML describes it (empty: no such model)."""
    node = nodes(manifest).get(f"model.crm.{model}", {})
    return {c: meta.get("description", "") for c, meta in node.get("columns", {}).items()}


def model_meta(manifest: Path, model: str) -> dict:
    """The `meta` a dbt model's YAML gives it under `config:` (empty: none, or no such model)."""
    node = nodes(manifest).get(f"model.crm.{model}", {})
    return node.get("config", {}).get("meta", {}) or node.get("meta", {})


def materialized_tables(manifest: Path) -> dict[str, tuple[str, str]]:
    """unique_id -> (schema, table) of every model dbt materializes as a table (not a view)."""
    return {
        uid: (node["schema"], node["alias"])
        for uid, node in nodes(manifest).items()
        if node["resource_type"] == "model" and node["config"]["materialized"] != "view"
    }
