"""Failures of the machine through the real CLI: a corrupted working database, a full disk, a
read-only working folder, nothing writable at all, and a second run on the same warehouse.
Every run ends with the summary, one alert (none for a refused run) and the published
warehouse unchanged; permanent errors are not retried. The site lives in a folder whose
name holds a single quote: its publication proves the paths are quoted into SQL."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner

from pipelines.cli import EXIT_REFUSED, main
from pipelines.contract import EXTRACTS
from pipelines.demo.generator import DemoSpec, generate
from pipelines.settings import PROJECT_ROOT, apply_environment
from pipelines.storage.run_lock import run_lock_path

pytestmark = pytest.mark.slow

AS_OF = date(2026, 3, 31)
NEXT = date(2026, 4, 1)
SPEC = DemoSpec(customers=30, days=90, end_date=AS_OF, seed=21)
SUMMARY = "FAILED; nothing was published"


def _environment(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setenv("CRM_LANDING_DIR", str(root / "landing"))
    mp.setenv("CRM_WAREHOUSE_PATH", str(root / "warehouse" / "crm.duckdb"))
    mp.setenv("CRM_CONFIG_PATH", str(PROJECT_ROOT / "config" / "crm.yaml"))
    mp.setenv("CRM_HEADER_MAP_PATH", str(PROJECT_ROOT / "config" / "header_map.yaml"))
    mp.setenv("CRM_EXPECTATIONS_DIR", str(PROJECT_ROOT / "expectations"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    mp.setenv("CRM_WORK_DB", "")
    mp.delenv("CRM_ALERT_LOG", raising=False)
    mp.delenv("CRM_ALERT_WEBHOOK_URL", raising=False)


def _run(as_of: date):
    return CliRunner().invoke(main, ["run", "--as-of", as_of.isoformat()])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """90 days of history published once as of 2026-03-31, in a folder named `site w'q`."""
    root = tmp_path_factory.mktemp("failures") / "site w'q"
    generate(root / "landing", SPEC)
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root)
        settings = apply_environment()
        result = _run(AS_OF)
        assert result.exit_code == 0, result.output
        assert f"published {AS_OF} to {settings.warehouse_path}" in result.output
        yield settings


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _alerts(settings) -> list[dict]:
    path = settings.dagster_home / "alerts.log"
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def _run_id(output: str) -> str:
    return re.search(r"Dagster run ([0-9a-f-]{36})", output).group(1)


def _step_events(run_id: str) -> list[tuple[str, str]]:
    with dg.DagsterInstance.get() as instance:
        return [
            (record.dagster_event.event_type_value, record.dagster_event.step_key)
            for record in instance.all_logs(run_id)
            if record.dagster_event and record.dagster_event.step_key
        ]


def _failed_once(settings, result, recovery: str) -> str:
    """Assert exit status 1 without a traceback and the summary naming `recovery`; return
    the output."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"run for {NEXT} {SUMMARY}, {settings.warehouse_path} is unchanged." in result.output
    assert recovery in result.output
    return result.output


@pytest.fixture
def published(site):
    """The digest of the published warehouse, asserted unchanged after the test."""
    digest = _digest(site.warehouse_path)
    alerts = len(_alerts(site))
    yield site, alerts
    assert _digest(site.warehouse_path) == digest


@pytest.fixture
def next_day_sales(site):
    """A small sales file for 2026-04-01 in the landing folder: ingestion has rows to write."""
    rows = sorted((site.landing_dir / "sales").glob("sales_*.csv"))[-1].read_text("utf-8")
    lines = rows.splitlines()
    header, first = lines[0], lines[1].split(",")
    first[2] = NEXT.isoformat()
    assert header == ",".join(EXTRACTS["sales"].column_names)
    path = site.landing_dir / "sales" / f"sales_{NEXT:%Y%m%d}.csv"
    path.write_text(header + "\n" + ",".join(first) + "\n", encoding="utf-8")
    yield path
    path.unlink()


@pytest.fixture
def corrupted_work_db(site):
    """The working database overwritten with random bytes, restored afterwards."""
    work = site.work_db
    saved = work.with_name(work.name + ".saved")
    shutil.copy2(work, saved)
    try:
        work.write_bytes(os.urandom(64 * 1024))
        yield work
    finally:
        os.replace(saved, work)


def test_a_corrupted_working_database_fails_once_with_the_recovery(published, corrupted_work_db):
    settings, alerts_before = published
    started = time.monotonic()
    result = _run(NEXT)
    elapsed = time.monotonic() - started

    recovery = f"the working database {corrupted_work_db} is corrupted or truncated"
    output = _failed_once(settings, result, recovery)
    assert "rebuilds it from the landing folder" in output
    new = _alerts(settings)[alerts_before:]
    assert [a["kind"] for a in new] == ["run_failed"], new
    assert recovery in new[0]["summary"] and "remove it" in new[0]["summary"]
    # the first step failed once, no retry (a retry waits 20 s first), nothing after it ran
    events = _step_events(_run_id(output))
    assert [e for e in events if e[0] == "STEP_START"] == [("STEP_START", "raw_extracts")]
    assert not [e for e in events if e[0] == "STEP_UP_FOR_RETRY"]
    assert elapsed < 20
    # the report of the failure, without the unreadable database: what failed
    report = Path(re.search(r"Auditors' report of what was checked: (.+)", output).group(1))
    assert recovery in report.read_text("utf-8") and new[0]["report"] == str(report)


def test_a_run_ends_with_its_summary_when_nothing_can_be_written(
    published, corrupted_work_db, monkeypatch
):
    """The working database, the report folder and the alert log all broken at once."""
    settings, _ = published
    reports = settings.warehouse_path.parent / "reports"
    aside = reports.with_name("reports.aside")
    blocker = settings.dagster_home.parent / "not-a-folder"
    blocker.write_text("a file where the alert log's folder should be")
    monkeypatch.setenv("CRM_ALERT_LOG", str(blocker / "alerts.log"))
    os.replace(reports, aside)
    try:
        reports.write_text("a file where the report folder should be")
        result = _run(NEXT)
    finally:
        reports.unlink()
        os.replace(aside, reports)
        blocker.unlink()
    _failed_once(settings, result, "is corrupted or truncated")
    assert "Auditors' report" not in result.output


def _mount_tmpfs(folder: Path, size: int) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")


@pytest.fixture
def small_work_folder(site):
    """The working folder on a file system of its own (a tmpfs over <warehouse>/.work,
    holding a copy of the working database); the real folder reappears when it is
    unmounted."""
    work = site.work_db
    copy = work.parent.parent / "work_db.copy"
    shutil.copy2(work, copy)
    _mount_tmpfs(work.parent, work.stat().st_size + 8 * 2**20)
    try:
        shutil.copy2(copy, work)
        yield work.parent
    finally:
        subprocess.run(["umount", str(work.parent)], check=True)
        copy.unlink()


def test_a_full_disk_fails_once_with_the_recovery(published, small_work_folder, next_day_sales):
    settings, alerts_before = published
    with (small_work_folder / "filler").open("wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 2**20)
                filler.flush()
        except OSError:
            pass
    result = _run(NEXT)

    output = _failed_once(settings, result, "the disk is full")
    assert "free space on the disk of" in output
    new = _alerts(settings)[alerts_before:]
    assert [a["kind"] for a in new] == ["run_failed"] and "the disk is full" in new[0]["summary"]
    events = _step_events(_run_id(output))
    starts = [e for e in events if e[0] == "STEP_START"]
    assert starts == [("STEP_START", "raw_extracts")], starts
    assert not [e for e in events if e[0] == "STEP_UP_FOR_RETRY"]
    assert "Auditors' report of what was checked: " in output  # its folder has space


def test_a_read_only_working_folder_fails_with_the_recovery(published, small_work_folder):
    settings, alerts_before = published
    subprocess.run(["mount", "-o", "remount,ro", str(small_work_folder)], check=True)
    result = _run(NEXT)

    output = _failed_once(settings, result, "a folder is not writable")
    assert f"give the pipeline's user write permission on {small_work_folder}" in output
    new = _alerts(settings)[alerts_before:]
    assert [a["kind"] for a in new] == ["run_failed"]
    assert "a folder is not writable" in new[0]["summary"]


def test_a_second_run_on_the_warehouse_is_refused_at_once(published):
    settings, alerts_before = published
    lock = run_lock_path(settings.warehouse_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import pathlib, time
                from pipelines.storage.run_lock import run_lock
                with run_lock(pathlib.Path({str(lock)!r}), "the-first-run"):
                    print("held", flush=True)
                    time.sleep(120)
                """
            ),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = _run(NEXT)
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == EXIT_REFUSED, result.output
    assert f"run for {NEXT} REFUSED: another run is in progress since " in result.output
    assert f"(pid {holder.pid} on " in result.output and "run the-first-run)" in result.output
    assert elapsed < 5
    assert _alerts(settings)[alerts_before:] == []  # no alert storm
