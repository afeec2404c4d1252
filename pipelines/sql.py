"""Text that goes into a SQL statement itself, where DuckDB takes no parameter."""

from __future__ import annotations

from pathlib import Path


def sql_literal(text: str | Path) -> str:
    """`text` as a SQL string literal: in single quotes, every single quote doubled.

    DuckDB's ATTACH (a file path) and COMMENT ON (a description) take no prepared
    parameters (`attach ? as x` is a parser error), so the text is written into the
    statement: quoted this way, a quote in a folder name or in CRM_WAREHOUSE_PATH can
    neither break the statement nor end the literal early. DuckDB's literals treat a
    backslash as an ordinary character."""
    return "'" + str(text).replace("'", "''") + "'"
