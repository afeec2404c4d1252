"""Reading a landed file: its bytes decoded, its lines split into records, its header mapped
to the contract's columns. Every value stays a string here (the rules check them). Plain
functions (no Dagster).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

import polars as pl

from pipelines.contract import Extract
from pipelines.defs.ingestion.landing import LandedFile
from pipelines.defs.ingestion.options import FileRejected, IngestOptions


def decode(raw: bytes, file_name: str) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM) or GB18030/GBK; returns (text, encoding). A file in
    UTF-16, with or without its byte-order mark, is refused with a word about its encoding."""
    utf16 = (
        f"{file_name}: the file looks like UTF-16 (every other byte is zero); re-export it as "
        "UTF-8 or GB18030"
    )
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileRejected(
            utf16.replace("every other byte is zero", "it starts with its BOM"), file_name
        )
    if raw[:4000].count(0) > len(raw[:4000]) // 4:  # ASCII text in UTF-16 without a BOM
        raise FileRejected(utf16, file_name)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise FileRejected(
        f"{file_name}: not readable as UTF-8 or GB18030; re-export it in one of those encodings",
        file_name,
    )


def _contract_header(
    header: list[str], extract: Extract, header_map: dict[str, str], file_name: str
) -> list[str]:
    """Map the file's header to contract names; refuse duplicated or missing columns."""
    names = [h.strip().lstrip("\ufeff").strip() for h in header]
    mapped = [header_map.get(n.lower(), n.lower()) for n in names]
    counts = Counter(mapped)
    duplicated = sorted(c for c, n in counts.items() if n > 1 and c in extract.column_names)
    if duplicated:
        sources = {c: [n for n, m in zip(names, mapped, strict=True) if m == c] for c in duplicated}
        detail = "; ".join(f"{c} from {', '.join(v)}" for c, v in sources.items())
        raise FileRejected(
            f"{file_name}: column(s) {', '.join(duplicated)} appear more than once in the "
            f"header ({detail}); keep one of each",
            file_name,
        )
    missing = [c.name for c in extract.columns if c.name not in counts and not c.may_be_absent]
    if missing:
        # only cells that name a contract column are repeated: a file delivered without its
        # header line has a data row there, and its cells may be personal data
        known = [n for n, m in zip(names, mapped, strict=True) if m in extract.column_names]
        others = len(names) - len(known)
        raise FileRejected(
            f"{file_name}: required column(s) {', '.join(missing)} missing from the header "
            f"(recognised: {', '.join(known) or 'none'}; {others} other cell(s), not shown: "
            "if the first line is a data row, the header line is missing); add them, or map "
            "the ERP's names to the contract's in config/header_map.yaml",
            file_name,
        )
    return mapped


# What Python's str.strip() removes: the fast reader strips exactly as the csv-module reader.
_WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())


def read_file(landed: LandedFile, extract: Extract, header_map: dict[str, str]) -> pl.DataFrame:
    """Read one file as strings, one row per record, with its line number and field count."""
    text, _ = decode(landed.path.read_bytes(), landed.file_name)
    if not text.strip():
        raise FileRejected(
            f"{landed.file_name}: the file is empty (not even a header line); deliver it again "
            "with the header and its rows",
            landed.file_name,
        )
    header, rows = _split_plain(text) if _is_plain(text) else _split_quoted(text, landed)
    mapped = _contract_header(header, extract, header_map, landed.file_name)
    position = {name: mapped.index(name) for name in extract.column_names if name in mapped}
    fields = pl.col("_fields")
    return (
        rows.with_columns(_field_count=fields.list.len().cast(pl.Int32))
        .select(
            *[
                fields.list.get(position[name], null_on_oob=True)
                .str.strip_chars(_WHITESPACE)
                .alias(name)
                if name in position
                else pl.lit(None, pl.String).alias(name)
                for name in extract.column_names
            ],
            "_field_count",
            pl.lit(landed.file_name).alias("_file_name"),
            "_line_number",
        )
        .with_columns(
            [pl.col(c).replace("", None) for c in extract.column_names],
            _expected_fields=pl.lit(len(mapped), pl.Int32),
            _business_date=pl.lit(landed.business_date),
            _file_sha256=pl.lit(landed.sha256),
        )
    )


def _is_plain(text: str) -> bool:
    """No quoting, no bare carriage return, no NUL: every line is one record split at commas."""
    return '"' not in text and "\x00" not in text and "\r" not in text.replace("\r\n", "")


def _split_plain(text: str) -> tuple[list[str], pl.DataFrame]:
    """(header, rows) of an unquoted file, split by Polars; the same records, fields and
    line numbers as the csv module gives (blank lines are not rows)."""
    lines = pl.DataFrame({"_line": text.replace("\r\n", "\n").split("\n")}).with_row_index(
        "_line_number", offset=1
    )
    records = lines.filter(
        pl.col("_line").str.replace_all(",", "", literal=True).str.strip_chars(_WHITESPACE) != ""
    )
    if records.is_empty():
        return [], _rows([], [])
    header = records["_line"][0].split(",")
    rows = records.slice(1).select(
        pl.col("_line_number").cast(pl.Int32), pl.col("_line").str.split(",").alias("_fields")
    )
    return header, rows


def _split_quoted(text: str, landed: LandedFile) -> tuple[list[str], pl.DataFrame]:
    """(header, rows) of a file with quoted fields (or odd line ends), by the csv module."""
    # strict: a quote opened and never closed is an error, not the rest of the file in one field
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    try:
        last_line = 0
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            if not record or all(not v.strip() for v in record):
                continue  # blank lines are not rows
            if header is None:
                header = record
            else:
                records.append(record)
                lines.append(start)
    except csv.Error as exc:
        raise FileRejected(
            f"{landed.file_name}: cannot be parsed as CSV near line {reader.line_num} ({exc}); "
            "check its quoting",
            landed.file_name,
        ) from exc
    return header or [], _rows(records, lines)


def _rows(records: list[list[str]], lines: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"_line_number": lines, "_fields": records},
        schema={"_line_number": pl.Int32, "_fields": pl.List(pl.String)},
    )


def read_in_chunks(
    files: list[LandedFile], extract: Extract, options: IngestOptions
) -> Iterator[tuple[list[LandedFile], list[pl.DataFrame]]]:
    """The files read in date order, in groups of about `options.chunk_rows` rows: a first
    load of years of history is validated and written a group at a time, never held whole."""
    group: list[LandedFile] = []
    frames: list[pl.DataFrame] = []
    rows = 0
    for landed in files:
        frame = read_file(landed, extract, options.header_map.get(extract.name, {}))
        group.append(landed)
        frames.append(frame)
        rows += frame.height
        if rows >= options.chunk_rows:
            yield group, frames
            group, frames, rows = [], [], 0
    if group:
        yield group, frames
