"""The failure path of a run: SQL literals for paths, permanent errors of the machine, the
run lock, alerts that cannot be written."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.operations.notify import notify
from pipelines.resources import CrmResource
from pipelines.settings import PROJECT_ROOT
from pipelines.sql import sql_literal
from pipelines.storage.failures import permanent_failure
from pipelines.storage.run_lock import RunInProgress, run_lock, run_lock_path


def _crm(warehouse: Path) -> CrmResource:
    return CrmResource(
        landing_dir="landing",
        warehouse_path=str(warehouse),
        config_path=str(PROJECT_ROOT / "config" / "crm.yaml"),
        header_map_path=str(PROJECT_ROOT / "config" / "header_map.yaml"),
        expectations_dir=str(PROJECT_ROOT / "expectations"),
    )


def _child(code: str) -> subprocess.Popen:
    """A Python process of the project running `code`; its stdout is a pipe."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    "text", ["w'q", "'; drop table t; --", "a''b", "back\\slash", "中文 'quoted'"]
)
def test_sql_literal_reads_back_as_the_same_text(text):
    assert duckdb.sql(f"select {sql_literal(text)}").fetchone()[0] == text


def test_attach_takes_no_parameter_and_a_quoted_path_attaches(tmp_path):
    folder = tmp_path / "w'q"
    folder.mkdir()
    path = folder / "crm.duckdb"
    con = duckdb.connect()
    with pytest.raises(duckdb.ParserException):
        con.execute("attach ? as x", [str(path)])
    con.execute(f"attach {sql_literal(path)} as x")
    con.execute("create table x.t as select 1 as one")
    con.execute("detach x")
    assert sql_literal(path) == "'" + str(path).replace("'", "''") + "'"
    with duckdb.connect(str(path), read_only=True) as check:
        assert check.execute("select one from t").fetchall() == [(1,)]


def test_a_corrupted_working_database_fails_the_step_at_once_with_the_recovery(tmp_path):
    crm = _crm(tmp_path / "warehouse" / "crm.duckdb")
    crm.work_db.parent.mkdir(parents=True)
    crm.work_db.write_bytes(os.urandom(20_000))
    with pytest.raises(dg.Failure) as failure:
        with crm.connect():
            pass
    assert failure.value.allow_retries is False
    assert f"the working database {crm.work_db} is corrupted or truncated" in str(failure.value)
    assert "remove it" in str(failure.value) and "rebuilds it from the landing folder" in str(
        failure.value
    )


def test_a_truncated_working_database_is_permanent_too(tmp_path):
    crm = _crm(tmp_path / "warehouse" / "crm.duckdb")
    crm.work_db.parent.mkdir(parents=True)
    with duckdb.connect(str(crm.work_db)) as con:
        con.execute("create table t as select range as i from range(200000)")
    crm.work_db.write_bytes(crm.work_db.read_bytes()[:8192])
    with pytest.raises(dg.Failure, match="corrupted or truncated") as failure:
        with crm.connect(read_only=True) as con:
            con.execute("select count(*) from t").fetchall()
    assert failure.value.allow_retries is False


def test_a_lock_held_by_another_process_stays_retryable(tmp_path):
    crm = _crm(tmp_path / "warehouse" / "crm.duckdb")
    crm.work_db.parent.mkdir(parents=True)
    holder = _child(
        f"""
        import sys, time, duckdb
        con = duckdb.connect({str(crm.work_db)!r})
        print("held", flush=True)
        time.sleep(60)
        """
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException, match="Conflicting lock is held") as error:
            with crm.connect():
                pass
        assert permanent_failure(error.value, crm.work_db) is None
    finally:
        holder.kill()
        holder.wait()


def test_a_full_disk_fails_the_step_at_once_with_the_recovery(tmp_path):
    """A file that may not grow (RLIMIT_FSIZE, SIGXFSZ ignored) fails a write with EFBIG
    exactly as a full disk fails it with ENOSPC."""
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    child = _child(
        f"""
        import json, resource, signal
        import dagster as dg
        from tests.unit.test_run_safety import _crm
        crm = _crm(__import__("pathlib").Path({str(warehouse)!r}))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        try:
            with crm.connect() as con:
                con.execute(
                    "create table t as select range as i, md5(range::varchar) as s "
                    "from range(300000)"
                )
                con.execute("checkpoint")
            print(json.dumps({{"raised": None}}))
        except dg.Failure as failure:
            print(json.dumps({{"raised": "Failure", "retry": failure.allow_retries,
                               "message": str(failure)}}))
        """
    )
    out, _ = child.communicate(timeout=120)
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["raised"] == "Failure" and outcome["retry"] is False, outcome
    assert outcome["message"].startswith("the disk is full (IO Error: Could not write file")
    assert "free space on the disk of" in outcome["message"]


def test_a_folder_that_cannot_be_written_fails_at_once_with_the_recovery():
    """/sys refuses new folders even to root (EPERM), as a read-only folder refuses them."""
    crm = _crm(Path("/sys/crm_pipeline_test/crm.duckdb"))
    with pytest.raises(dg.Failure, match="a folder is not writable") as failure:
        with crm.connect():
            pass
    assert failure.value.allow_retries is False
    assert "give the pipeline's user write permission on /sys" in str(failure.value)


def test_the_run_lock_refuses_a_second_run_and_is_recovered_when_its_holder_dies(tmp_path, caplog):
    path = run_lock_path(tmp_path / "warehouse" / "crm.duckdb")
    assert path == tmp_path / "warehouse" / ".work" / "crm.run.lock"
    holder = _child(
        f"""
        import pathlib, time
        from pipelines.storage.run_lock import run_lock
        with run_lock(pathlib.Path({str(path)!r}), "run-of-the-holder"):
            print("held", flush=True)
            time.sleep(60)
        """
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunInProgress) as busy:
            with run_lock(path, "second"):
                pytest.fail("a second run got the lock")
        message = str(busy.value)
        assert message.startswith("another run is in progress since ")
        assert f"(pid {holder.pid} on {socket.gethostname()}, run run-of-the-holder)" in message
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding it: nothing clears the file
        holder.wait()
    assert json.loads(path.read_text())["pid"] == holder.pid
    with caplog.at_level(logging.WARNING, logger="pipelines.storage.run_lock"):
        with run_lock(path, "third"):
            assert json.loads(path.read_text())["run_id"] == "third"
    assert f"left by run run-of-the-holder (pid {holder.pid}" in caplog.text
    assert path.read_text() == ""  # released cleanly: nothing for the next run to recover


def test_a_recent_lock_of_another_host_refuses_and_an_old_one_is_recovered(tmp_path, caplog):
    path = run_lock_path(tmp_path / "crm.duckdb")
    path.parent.mkdir(parents=True)
    recent = {"pid": 1, "host": "elsewhere", "run_id": "r1", "started_at": datetime.now()}
    path.write_text(json.dumps(recent, default=str))
    with pytest.raises(RunInProgress, match="pid 1 on elsewhere, run r1"):
        with run_lock(path, "mine"):
            pass
    old = recent | {"started_at": datetime.now() - timedelta(days=2)}
    path.write_text(json.dumps(old, default=str))
    with caplog.at_level(logging.WARNING, logger="pipelines.storage.run_lock"):
        with run_lock(path, "mine"):
            pass
    assert "left by run r1 (pid 1 on elsewhere" in caplog.text


def test_notify_never_raises_when_the_alert_log_cannot_be_written(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CRM_ALERT_LOG", str(blocker / "alerts.log"))
    monkeypatch.setenv("CRM_ALERT_WEBHOOK_URL", "not-a-url")
    with caplog.at_level(logging.ERROR, logger="pipelines.defs.operations.notify"):
        alert = notify("run_failed", "run for 2026-03-31 failed", run_id="r1")
    assert alert["kind"] == "run_failed" and alert["webhook"].startswith("not sent: ")
    assert "alert not written to the alert log" in caplog.text


def test_a_run_that_failed_after_its_publication_says_it_published(isolated_env, tmp_path):
    from datetime import date

    from pipelines.runner import _failed

    settings = isolated_env
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema reporting")
        con.execute("create table reporting.publication as select 'run-1' as run_id")
    published = _failed(settings, date(2026, 3, 31), "run-1", ["closing checkpoint: x"])
    other = _failed(settings, date(2026, 3, 31), "run-2", ["publish: x"])
    assert (published.published_anyway, other.published_anyway) == (True, False)
    alerts = [
        json.loads(line)
        for line in (settings.dagster_home / "alerts.log").read_text("utf-8").splitlines()
    ]
    assert [(a["run_id"], a["published"], a["summary"]) for a in alerts] == [
        (
            "run-1",
            True,
            "run for 2026-03-31 was published, but a closing step failed: closing checkpoint: x",
        ),
        ("run-2", False, "run for 2026-03-31 failed; nothing was published: publish: x"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--as-of", "1998-01-01"],
            "the as-of date 1998-01-01 is before 2000-01-01, where the business-date "
            "partitions start (CRM_FIRST_AS_OF_DATE)",
        ),
        (["run", "--as-of", "2999-01-01"], "the as-of date 2999-01-01 is in the future"),
        (
            ["backfill", "--from", "2026-01-01", "--to", "2999-01-02"],
            "the as-of date 2999-01-02 is in the future",
        ),
    ],
)
def test_an_as_of_date_outside_the_partitions_is_refused_in_one_line(isolated_env, args, message):
    from click.testing import CliRunner

    from pipelines.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not isolated_env.dagster_home.exists()  # refused before any work


def test_a_run_dagster_launches_holds_the_run_lock_and_waits_for_a_cli_run(tmp_path, monkeypatch):
    """The crm resource holds the warehouse's run lock for the whole of a run: a run that
    starts while another process holds it waits for it; inside a CLI run it goes on under
    the CLI's lock; a sensor, outside any run, takes none."""
    import pipelines.storage.run_lock as lock_module

    monkeypatch.setattr(lock_module, "POLL_SECONDS", 0.2)
    warehouse = tmp_path / "warehouse" / "crm.duckdb"
    path = run_lock_path(warehouse)
    seen = []

    @dg.op
    def step(context, crm: CrmResource):
        seen.append((context.run_id, json.loads(path.read_text())["run_id"]))

    job = dg.GraphDefinition(name="locked", node_defs=[step]).to_job(
        resource_defs={"crm": _crm(warehouse)}
    )
    path.parent.mkdir(parents=True)
    holder = _child(
        f"""
        import pathlib, time
        from pipelines.storage.run_lock import run_lock
        with run_lock(pathlib.Path({str(path)!r}), "cli-run"):
            print("held", flush=True)
            time.sleep(3)
        print("released", flush=True)
        """
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = datetime.now()
        with dg.instance_for_test() as instance:
            result = job.execute_in_process(instance=instance)
            logs = [e.user_message for e in instance.all_logs(result.run_id)]
        waited = datetime.now() - started
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait()
    assert result.success
    assert seen == [(result.run_id, result.run_id)]  # held by the run itself
    assert waited > timedelta(seconds=1)
    waits = [m for m in logs if "waiting for the run lock" in m]
    assert len(waits) == 1 and "run cli-run" in waits[0]
    assert path.read_text() == ""  # released at the end of the run
    # inside a CLI run (this process holds the lock): the run goes on under it
    with run_lock(path, "the-cli-run"):
        inner = job.execute_in_process()
        assert json.loads(path.read_text())["run_id"] == "the-cli-run"
    assert inner.success and seen[-1] == (inner.run_id, "the-cli-run")
    # outside a run the resource takes no lock
    with run_lock(path, "another"):
        with dg.build_resources({"crm": _crm(warehouse)}) as resources:
            assert resources.crm.warehouse_path == str(warehouse)
