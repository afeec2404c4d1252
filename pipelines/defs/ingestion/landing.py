"""The landing folder: which of its entries are deliveries, their business dates and hashes.

A delivery is a file `<extract>/<extract>_YYYYMMDD.csv` (any case) named for the business
date it covers. This module is the one home of that rule: whatever finds, names or dates a
delivery (ingestion, its sensor, the freshness alerts, the partitions, the CLI, the demo
generator) calls the functions here. Plain functions (no Dagster).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pipelines.contract import EXTRACTS
from pipelines.defs.ingestion.options import FileRejected

# the business date in a delivery's name, as strftime and strptime spell it
DATE_FORMAT = "%Y%m%d"


def _name(extract: str, day: str) -> str:
    return f"{extract}_{day}.csv"


def expected_name(extract: str) -> str:
    """How the deliveries of `extract` are named, as messages quote it: sales_YYYYMMDD.csv."""
    return _name(extract, "YYYYMMDD")


# the rule as messages and reports quote it: <extract>/<extract>_YYYYMMDD.csv
NAMING_RULE = f"<extract>/{expected_name('<extract>')}"


def file_name_for(extract: str, day: date) -> str:
    """The file name (extract/file, relative to the landing folder) of the delivery of
    `extract` for the business date `day`."""
    return f"{extract}/{_name(extract, day.strftime(DATE_FORMAT))}"


def _name_pattern(extract: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(extract)}_(\d{{8}})\.csv$", re.IGNORECASE)


def business_date_of(path: Path) -> date | None:
    """The business date in the name of `path`, an entry of its extract's folder; None when
    the name is not a delivery's. FileRejected when it is, but its digits are not a date."""
    extract = path.parent.name
    match = _name_pattern(extract).match(path.name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), DATE_FORMAT).date()
    except ValueError as exc:
        raise FileRejected(
            f"{extract}/{path.name}: the date in the file name is not a valid YYYYMMDD "
            f"date; rename it to {expected_name(extract)} with the business date it covers",
            f"{extract}/{path.name}",
        ) from exc


def landed_files(landing_dir: Path, extract: str) -> list[Path]:
    """The files of the extract's folder named as its deliveries, in name order (those
    whose digits are not a date among them: `business_date_of` refuses them)."""
    folder = landing_dir / extract
    if not folder.is_dir():
        return []
    pattern = _name_pattern(extract)
    return [p for p in sorted(folder.iterdir()) if pattern.match(p.name) and p.is_file()]


def landed_dates(landing_dir: Path, extract: str) -> list[date]:
    """The business dates of the extract's deliveries in `landing_dir`, oldest first (a file
    whose name's digits are not a date is not counted)."""
    dates = []
    for path in landed_files(landing_dir, extract):
        try:
            day = business_date_of(path)
        except FileRejected:
            continue
        if day is not None:
            dates.append(day)
    return sorted(dates)


def first_landed(landing_dir: Path, extract: str) -> date | None:
    """The earliest business date of the extract's deliveries, by name; None if none."""
    return next(iter(landed_dates(landing_dir, extract)), None)


def landing_problem(landing_dir: Path) -> str | None:
    """Why `landing_dir` cannot be loaded at all (missing, not a folder, empty), or None."""
    if not landing_dir.is_dir():
        return (
            f"the landing folder {landing_dir} does not exist or is not a folder: point "
            "--landing (or CRM_LANDING_DIR) at the folder the ERP delivers to"
        )
    if not any(landing_dir.iterdir()):
        return (
            f"the landing folder {landing_dir} is empty: no extract has landed there; point "
            "--landing (or CRM_LANDING_DIR) at the folder the ERP delivers to"
        )
    return None


@dataclass(frozen=True)
class LandedFile:
    extract: str
    path: Path
    business_date: date
    sha256: str
    size: int
    mtime_ns: int

    @property
    def file_name(self) -> str:
        return f"{self.extract}/{self.path.name}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover(
    landing_dir: Path,
    as_of: date,
    known: dict[str, tuple[str, int, int]] | None = None,
    leave_out: Collection[str] = (),
) -> tuple[list[LandedFile], list[tuple[str, str]]]:
    """(landed, unrecognised): every contract file under `landing_dir` dated on or before
    `as_of`, and every other entry of an extract folder with why it is not loaded.

    `known` maps file names to the (sha256, size, mtime_ns) of their current manifest row: a
    file with the same size and modification time keeps that hash without being read. The
    file names in `leave_out` (extract/file) are passed over as if they had not landed.
    FileRejected for a delivery whose name's digits are not a date.
    """
    known = known or {}
    found, unrecognised = [], []
    if landing_dir.is_dir():
        for path in sorted(landing_dir.iterdir()):
            if path.name not in EXTRACTS:
                unrecognised.append(
                    (
                        path.name,
                        "not an extract folder, so not read (the folders are "
                        f"{', '.join(EXTRACTS)})",
                    )
                )
    for extract in EXTRACTS.values():
        folder = landing_dir / extract.name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if f"{extract.name}/{path.name}" in leave_out:
                continue
            business_date = business_date_of(path)
            if business_date is None or not path.is_file():
                unrecognised.append((f"{extract.name}/{path.name}", why_not_loaded(path)))
                continue
            if business_date > as_of:
                continue
            stat = path.stat()
            previous = known.get(f"{extract.name}/{path.name}")
            if previous and previous[1:] == (stat.st_size, stat.st_mtime_ns):
                digest = previous[0]
            else:
                digest = sha256_of(path)
            found.append(
                LandedFile(
                    extract.name, path, business_date, digest, stat.st_size, stat.st_mtime_ns
                )
            )
    return found, unrecognised


def why_not_loaded(path: Path) -> str:
    """Why an entry of an extract folder is not a delivery, and what to do about it."""
    extract = path.parent.name
    expected = expected_name(extract)
    if path.is_dir():
        return f"a folder, not a file: only files named {expected} are loaded"
    if not path.is_file():
        return f"not a regular file: only files named {expected} are loaded"
    day = re.search(
        r"(?<![0-9])(20[0-9]{2}|19[0-9]{2})[-_.]?([01][0-9])[-_.]?([0-3][0-9])", path.name
    )
    hint = (
        f"; if it is the delivery of that day, rename it {_name(extract, ''.join(day.groups()))}"
        if day
        else ""
    )
    return f"not named {expected}, so not loaded{hint}"
