"""Write-audit-publish under failure and under readers, through the real CLI in subprocesses.

A run killed at any moment, even while it writes the new publication file, leaves the
published warehouse byte for byte as it was, and the next run publishes a complete state.
BI readers on DuckDB 1.4 are safe while a run replaces the file: a connection kept open
goes on reading the old, complete state; a new connection sees the old or the new state,
each complete and from one run, never a mix; and the run is never held up by them.

No test waits for a fixed time or races a clock: every wait is for an event (a file
appearing, a line in the run's log, a process ending), and SAFETY_NET is only a limit
against a hung process. The reader needs only to be quicker than the publication itself:
one observation takes milliseconds, the new file is written for about half a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.publishing.publish import (
    CURRENT_VIEWS,
    KEYS,
    PER_AS_OF_TABLES,
    PUBLISHED_TABLES,
    publish,
)
from pipelines.demo.generator import DemoSpec, generate
from pipelines.runner import _published_by
from pipelines.settings import PROJECT_ROOT, work_db_for
from pipelines.storage.audit import record_publication

pytestmark = pytest.mark.slow

D0 = date(2026, 6, 28)
D1 = date(2026, 6, 29)
D2 = date(2026, 6, 30)
SPEC = DemoSpec(customers=60, days=200, end_date=D2, seed=7)
CLI = Path(sys.executable).parent / "crm-pipeline"
SAFETY_NET = 600.0  # seconds: only against a hung process, never a condition of a test
POLL = 0.005
TMP_GLOB = ".crm.duckdb.*.tmp"  # the publication being written (publish.py)
REPORTING_TABLES = sorted([*PUBLISHED_TABLES, "publication", "publication_history"])
RUN_ID_IN_LOG = re.compile(r"daily_pipeline - ([0-9a-f-]{36}) - ")
RUN_ID_IN_OUTPUT = re.compile(r"Dagster run (\S+) is recorded")


@dataclass(frozen=True)
class Site:
    """A landing folder, its warehouse and its Dagster instance under one root."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "crm.duckdb"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CRM_LANDING_DIR=str(self.landing),
            CRM_WAREHOUSE_PATH=str(self.warehouse),
            CRM_CONFIG_PATH=str(PROJECT_ROOT / "config" / "crm.yaml"),
            CRM_HEADER_MAP_PATH=str(PROJECT_ROOT / "config" / "header_map.yaml"),
            CRM_EXPECTATIONS_DIR=str(PROJECT_ROOT / "expectations"),
            DAGSTER_HOME=str(self.root / "dagster_home"),
            CRM_WORK_DB="",
            PYTHONUNBUFFERED="1",  # the log shows each step the moment it happens
        )
        return env

    def start(self, as_of: date, log: Path) -> subprocess.Popen:
        """`crm-pipeline run` in its own process group, its output going to `log`."""
        with log.open("wb") as sink:
            return subprocess.Popen(
                [str(CLI), "run", "--as-of", as_of.isoformat()]
                + ["--landing", str(self.landing), "--warehouse", str(self.warehouse)],
                env=self.env(),
                cwd=self.root,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def run(self, as_of: date) -> tuple[int, str]:
        log = self.root / f"run_{as_of:%Y%m%d}_{time.monotonic_ns()}.log"
        proc = self.start(as_of, log)
        code = proc.wait(timeout=SAFETY_NET)
        return code, log.read_text(encoding="utf-8", errors="replace")

    def leftovers(self) -> list[str]:
        """Temporary publication files (and their WAL) in the warehouse folder."""
        return sorted(p.name for p in self.warehouse.parent.glob(f"{TMP_GLOB}*"))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A landing folder of 200 days ending on D2, published once as of D1."""
    assert CLI.exists(), f"{CLI} missing: run `make setup`"
    site = Site(tmp_path_factory.mktemp("wap_baseline"))
    generate(site.landing, SPEC)
    code, output = site.run(D1)
    assert code == 0, output
    return site.root


@pytest.fixture
def site(baseline: Path, tmp_path: Path) -> Site:
    """A private copy of the baseline (landing, warehouse, working database, Dagster instance)."""
    root = tmp_path / "site"
    shutil.copytree(baseline, root, symlinks=True)
    return Site(root)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _publication(warehouse: Path) -> tuple[str, date]:
    rows = _query(warehouse, "select run_id, as_of_date from reporting.publication")
    assert len(rows) == 1, rows
    return rows[0]


def _snapshot(site: Site) -> dict:
    stat = site.warehouse.stat()
    return {
        "sha256": _sha256(site.warehouse),
        "inode": stat.st_ino,
        "publication": _publication(site.warehouse),
    }


def _group_alive(pgid: int) -> list[int]:
    """Processes of the process group that are still running (zombies hold nothing)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if fields[0] != "Z" and int(fields[2]) == pgid:
            alive.append(int(stat.parent.name))
    return alive


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the run and every process it started (dbt), and wait until all are gone."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=SAFETY_NET)
    deadline = time.monotonic() + SAFETY_NET
    while alive := _group_alive(proc.pid):
        assert time.monotonic() < deadline, f"processes {alive} survived SIGKILL"
        time.sleep(POLL)


def _kill_when(proc: subprocess.Popen, log: Path, moment: str, seen: Callable[[], object]):
    """Poll `seen` every few milliseconds while the run is going; kill the run's whole
    process group the moment it returns something, and return that."""
    deadline = time.monotonic() + SAFETY_NET
    while True:
        if found := seen():
            _kill_group(proc)
            return found
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            pytest.fail(
                f"the run ended (exit {proc.returncode}) before {moment}, so it was never "
                f"killed there and this test proved nothing; its log ends with:\n{tail}"
            )
        if time.monotonic() > deadline:
            _kill_group(proc)
            pytest.fail(f"{moment} did not happen within the {SAFETY_NET:.0f} s safety net")
        time.sleep(POLL)


def _assert_unchanged(site: Site, before: dict) -> None:
    """The published warehouse is the very file it was, and BI tools still read D1 from it."""
    assert site.warehouse.stat().st_ino == before["inode"]
    assert _sha256(site.warehouse) == before["sha256"]
    assert _publication(site.warehouse) == before["publication"]
    latest = _query(
        site.warehouse,
        "select (select max(as_of_date) from reporting.customer_tiers), "
        "(select max(as_of_date) from reporting.credit_flags)",
    )
    assert latest == [(D1, D1)]


def _csv(landing: Path, extract: str) -> str:
    return f"read_csv('{landing}/{extract}/*.csv', all_varchar = true, header = true)"


def _assert_next_run_publishes_d2(site: Site, before: dict, killed_run_id: str | None) -> None:
    """Run D2 again normally: it publishes a complete D2 state and clears the leftovers."""
    code, output = site.run(D2)
    assert code == 0, output
    run_id = RUN_ID_IN_OUTPUT.search(output).group(1)
    assert run_id != killed_run_id
    assert site.leftovers() == []
    warehouse = site.warehouse
    assert _publication(warehouse) == (run_id, D2)
    history = _query(
        warehouse, "select run_id, as_of_date from reporting.publication_history order by 1"
    )
    assert sorted(history) == sorted([before["publication"], (run_id, D2)])
    if killed_run_id:
        assert not [
            p for p in (warehouse.parent / "history").iterdir() if killed_run_id[:8] in p.name
        ]

    # one row per customer of the master in force on D2, in every per-customer table
    snapshot = site.landing / "customers" / f"customers_{D2:%Y%m%d}.csv"
    master = {
        r[0]
        for r in duckdb.sql(
            f"select customer_id from read_csv('{snapshot}', all_varchar = true, header = true)"
        ).fetchall()
    }
    assert len(master) == SPEC.customers
    for table in ("customer_tiers", "credit_flags", "customer_facts"):
        rows = _query(
            warehouse,
            f"select customer_id, count(*) from reporting.{table} where as_of_date = ? group by 1",
            [D2],
        )
        assert {c for c, _ in rows} == master, table
        assert {n for _, n in rows} == {1}, table

    # every delivered sale and AR document counted once: sales and AR balances reconcile
    sales = dict(
        duckdb.sql(f"""
        select customer_id, sum(net_amount::decimal(18, 2))::varchar
        from {_csv(site.landing, "sales")}
        where order_date::date > date '{D2}' - 365 and order_date::date <= date '{D2}'
        group by 1 having sum(net_amount::decimal(18, 2)) <> 0
    """).fetchall()
    )
    published_sales = dict(
        _query(
            warehouse,
            "select customer_id, monetary_12m::decimal(18, 2)::varchar "
            "from reporting.customer_tiers where as_of_date = ? and monetary_12m <> 0",
            [D2],
        )
    )
    assert published_sales == sales
    assert len(sales) > SPEC.customers // 2
    balances = dict(
        duckdb.sql(f"""
        select customer_id, sum(case when doc_type in ('invoice', 'reversal') then 1
                                     when doc_type in ('receipt', 'credit_note') then -1
                                     else 0 end * amount::decimal(18, 2))::varchar
        from {_csv(site.landing, "payments")}
        where doc_date::date <= date '{D2}' and status = 'posted'
        group by 1
    """).fetchall()
    )
    published_balances = dict(
        _query(
            warehouse,
            "select customer_id, ar_balance::decimal(18, 2)::varchar from reporting.credit_flags "
            "where as_of_date = ?",
            [D2],
        )
    )
    assert {c: v for c, v in published_balances.items() if c in balances} == balances

    # the audit trail of the run that published, with no failed critical check
    checks = _query(
        warehouse,
        "select count(*), count(*) filter (where severity = 'critical' and not passed) "
        "from reporting.data_quality_results where run_id = ?",
        [run_id],
    )
    assert checks[0][0] > 0 and checks[0][1] == 0, checks


# dbt is building an incremental model (kept from run to run) in the working database: the
# run has loaded its extracts and is mid-way through rewriting what it computes. (Kills right
# after ingestion and after dbt were tried too and recover the same way; one moment keeps
# the suite's time down.)
DURING_DBT = re.compile(r"START sql incremental model marts\.customer_facts")


def test_runs_killed_during_dbt_and_while_writing_the_publication_change_nothing_published(
    site: Site, tmp_path: Path
):
    """Two runs of D2 killed one after the other, the first while dbt rewrites the working
    database, the second while it writes the new publication file: after each, the
    published warehouse is the very file it was; the next run publishes a complete D2."""
    before = _snapshot(site)
    assert before["publication"][1] == D1

    log = tmp_path / "killed_during_dbt.log"
    proc = site.start(D2, log)

    def logged() -> re.Match | None:
        return DURING_DBT.search(log.read_text(encoding="utf-8", errors="replace"))

    _kill_when(proc, log, f"the log showed {DURING_DBT.pattern!r}", logged)
    assert proc.returncode == -signal.SIGKILL
    _assert_unchanged(site, before)
    assert site.leftovers() == []

    log = tmp_path / "killed_while_publishing.log"
    proc = site.start(D2, log)

    def publication_file() -> Path | None:
        return next(iter(site.warehouse.parent.glob(TMP_GLOB)), None)

    tmp = _kill_when(proc, log, "the publication file appeared", publication_file)
    assert proc.returncode == -signal.SIGKILL
    _assert_unchanged(site, before)
    killed_run_id = tmp.name.removeprefix(".crm.duckdb.").removesuffix(".tmp")
    assert set(site.leftovers()) <= {tmp.name, f"{tmp.name}.wal"}

    _assert_next_run_publishes_d2(site, before, killed_run_id)


# A BI reader, in its own process: one connection open for the whole run (queried again and
# again), and in a tight loop a fresh connection per observation, each observation checking
# in one connection that what it reads is complete and from one run. Every observation is a
# JSON line, marked with what had happened when it started (run started / ended, publication
# file being written). It stops when the `stop` file appears, after one last observation.
#
# Within one process, DuckDB's instance cache hands `duckdb.connect(path)` the database
# already open on that path, so while a `connect(path)` connection is open, a "fresh"
# `connect(path)` would share it and never see a new file. The long-lived connection
# therefore attaches the file read-only to its own in-memory database (the same file open,
# the same locks), and the fresh ones are opened the way the README tells BI users to.
READER = r"""
import json
import sys
from pathlib import Path

import duckdb

warehouse, out, control = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
tables = json.loads(sys.argv[4])


def marks():
    return {
        "run_started": (control / "run_started").exists(),
        "run_ended": (control / "run_ended").exists(),
        "publishing": any(warehouse.parent.glob(".crm.duckdb.*.tmp")),
    }


def one(con, sql, params=()):
    return con.execute(sql, list(params)).fetchone()[0]


def observe(con, observation):
    pub = con.execute("select run_id, as_of_date::varchar from reporting.publication").fetchall()
    run_id, as_of = pub[0]
    present = {
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'reporting'"
        ).fetchall()
    }
    observation.update(
        publication_rows=len(pub),
        run_id=run_id,
        as_of=as_of,
        tiers_max=one(con, "select max(as_of_date)::varchar from reporting.customer_tiers"),
        flags_max=one(con, "select max(as_of_date)::varchar from reporting.credit_flags"),
        facts_max=one(con, "select max(as_of_date)::varchar from reporting.customer_facts"),
        tiers_rows=one(
            con, "select count(*) from reporting.customer_tiers where as_of_date = ?", [as_of]
        ),
        current_tiers_rows=one(con, "select count(*) from reporting.current_customer_tiers"),
        flags_rows=one(
            con, "select count(*) from reporting.credit_flags where as_of_date = ?", [as_of]
        ),
        dq_rows=one(
            con, "select count(*) from reporting.data_quality_results where run_id = ?", [run_id]
        ),
        history_last=one(
            con,
            "select run_id from reporting.publication_history order by published_at desc limit 1",
        ),
        missing_tables=sorted(set(tables) - present),
    )


def long_lived(con):
    observation = {"kind": "long", **marks()}
    try:
        observe(con, observation)
    except Exception as exc:
        observation["error"] = f"{type(exc).__name__}: {exc}"
    return observation


def fresh():
    observation = {"kind": "fresh", **marks()}
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            observe(con, observation)
    except Exception as exc:
        observation["error"] = f"{type(exc).__name__}: {exc}"
    return observation


long_con = duckdb.connect()
long_con.execute(f"attach '{warehouse}' as published (read_only)")
long_con.execute("use published")
with out.open("w", encoding="utf-8") as sink:

    def write(observation):
        sink.write(json.dumps(observation) + "\n")
        sink.flush()

    write({"kind": "version", "duckdb": duckdb.__version__})
    write(long_lived(long_con))
    write(fresh())
    (control / "ready").touch()
    loop = 0
    while True:
        stopping = (control / "stop").exists()
        if loop % 5 == 0 or stopping:  # mostly fresh connections, the race that matters
            write(long_lived(long_con))
        write(fresh())
        loop += 1
        if stopping:
            break
long_con.close()
"""


def _inconsistent(observation: dict) -> bool:
    """Not one complete state: the tables disagree with reporting.publication."""
    as_of = observation["as_of"]
    return not (
        observation["publication_rows"] == 1
        and observation["tiers_max"] == observation["flags_max"] == as_of
        and observation["facts_max"] == as_of
        and observation["tiers_rows"] > 0
        and observation["current_tiers_rows"] == observation["tiers_rows"]
        and observation["flags_rows"] == observation["tiers_rows"]
        and observation["dq_rows"] > 0
        and observation["history_last"] == observation["run_id"]
        and observation["missing_tables"] == []
    )


def test_readers_keep_a_complete_state_while_a_run_replaces_the_warehouse(
    site: Site, tmp_path: Path
):
    assert duckdb.__version__.startswith("1.4"), duckdb.__version__
    old_run_id, old_as_of = _publication(site.warehouse)
    assert old_as_of == D1
    control = tmp_path / "control"
    control.mkdir()
    observations_file = tmp_path / "observations.jsonl"
    script = tmp_path / "reader.py"
    script.write_text(READER, encoding="utf-8")
    reader_log = tmp_path / "reader.log"
    with reader_log.open("wb") as sink:
        reader = subprocess.Popen(
            [sys.executable, str(script), str(site.warehouse), str(observations_file)]
            + [str(control), json.dumps(REPORTING_TABLES)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SAFETY_NET
        while not (control / "ready").exists():
            assert reader.poll() is None, reader_log.read_text()
            assert time.monotonic() < deadline, "the reader never got ready"
            time.sleep(POLL)

        (control / "run_started").touch()
        code, output = site.run(D2)
        (control / "run_ended").touch()
        reader_alive_after_the_run = reader.poll() is None
        (control / "stop").touch()
        reader_code = reader.wait(timeout=SAFETY_NET)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()

    assert code == 0, output
    assert reader_alive_after_the_run, reader_log.read_text()
    assert reader_code == 0, reader_log.read_text()
    new_run_id, new_as_of = _publication(site.warehouse)
    assert new_as_of == D2 and new_run_id != old_run_id
    old, new = (old_run_id, old_as_of.isoformat()), (new_run_id, new_as_of.isoformat())

    lines = observations_file.read_text(encoding="utf-8").splitlines()
    version, *observations = (json.loads(line) for line in lines)
    assert version["duckdb"].startswith("1.4"), version
    errors = [o for o in observations if "error" in o]
    assert not errors, f"{len(errors)} observations failed, e.g. {errors[:3]}"
    mixed = [o for o in observations if _inconsistent(o)]
    assert not mixed, f"{len(mixed)} observations saw no single complete state, e.g. {mixed[:3]}"
    long = [o for o in observations if o["kind"] == "long"]
    fresh = [o for o in observations if o["kind"] == "fresh"]

    # the connection kept open saw the old complete state throughout, and after the run
    assert {(o["run_id"], o["as_of"]) for o in long} == {old}
    assert any(o["run_ended"] for o in long)

    # fresh connections: the old state until the publication, the new one after it, nothing else
    states = [(o["run_id"], o["as_of"]) for o in fresh]
    assert set(states) == {old, new}
    switch = states.index(new)
    assert states[:switch] == [old] * switch and states[switch:] == [new] * (len(states) - switch)
    assert all((o["run_id"], o["as_of"]) == old for o in fresh if not o["run_started"])
    assert all((o["run_id"], o["as_of"]) == new for o in fresh if o["run_ended"])
    # ... and they were reading all through the run: before the publication, while the new
    # file was being written, and after it replaced the old one (before the run ended)
    during = [o for o in fresh if o["run_started"] and not o["run_ended"]]
    assert {(o["run_id"], o["as_of"]) for o in during} == {old, new}
    assert any(o["publishing"] for o in during), "no fresh reader observed during publication"


def _backfill_d0(site: Site) -> tuple[str, str]:
    """Publish D0, a date before the published D1, through the publication step alone (no
    pipeline run): the working database's D1 rows stand in for D0's, as a backfill would
    have computed them. Returns the runs that published D1 and D0."""
    d1_run, as_of = _publication(site.warehouse)
    assert as_of == D1
    assert _published_by(site.warehouse, d1_run)
    work_db = work_db_for(site.warehouse)
    with duckdb.connect(str(work_db)) as con:
        for source, _ in PER_AS_OF_TABLES.values():
            con.execute(
                f"insert into {source} select * replace (?::date as as_of_date) from {source} "
                "where as_of_date = ?",
                [D0, D1],
            )
    _, publication = publish(
        work_db, site.warehouse, run_id="backfill-d0", as_of=D0, config_version="backfill"
    )
    with duckdb.connect(str(work_db)) as con:  # as the publishing asset does
        record_publication(con, publication)
    return d1_run, "backfill-d0"


def test_a_backfill_of_an_older_date_leaves_bi_on_the_newest_date(site: Site):
    """reporting.publication and the reporting.current_ views stay on the newest as-of date
    when an older date is published after it; the last run is recorded beside it."""
    d1_run, d0_run = _backfill_d0(site)
    ((run_id, as_of, last_run_id, last_as_of),) = _query(
        site.warehouse,
        "select run_id, as_of_date, last_run_id, last_run_as_of_date from reporting.publication",
    )
    assert (run_id, as_of, last_run_id, last_as_of) == (d1_run, D1, d0_run, D0)
    assert _published_by(site.warehouse, d0_run) and not _published_by(site.warehouse, d1_run)
    assert _query(
        site.warehouse,
        "select as_of_date, count(*) from reporting.customer_tiers group by 1 order by 1",
    ) == [(D0, SPEC.customers), (D1, SPEC.customers)]
    for view, table in CURRENT_VIEWS.items():
        newest = f"select * from reporting.{table} where as_of_date = '{D1}'"
        current = f"select * from reporting.{view}"
        ((n_current, n_newest, only_current, only_newest),) = _query(
            site.warehouse,
            f"select (select count(*) from ({current})), (select count(*) from ({newest})), "
            f"(select count(*) from ({current} except all {newest})), "
            f"(select count(*) from ({newest} except all {current}))",
        )
        assert (n_current, only_current, only_newest) == (n_newest, 0, 0), view
    assert _query(site.warehouse, "select count(*) from reporting.current_customer_tiers") == [
        (SPEC.customers,)
    ]


def test_every_published_key_is_unique_and_never_null(site: Site):
    """On a real publication of two as-of dates, each table's key (publish.KEYS, in its
    description) picks out one row."""
    _backfill_d0(site)
    with duckdb.connect(str(site.warehouse), read_only=True) as con:
        for table, key in KEYS.items():
            columns = ", ".join(key)
            nulls = " or ".join(f"{c} is null" for c in key)
            rows, keys, null_keys = con.execute(
                f"select count(*), count(distinct ({columns})), count(*) filter ({nulls}) "
                f"from reporting.{table}"
            ).fetchone()
            assert (keys, null_keys) == (rows, 0), table
            comment = con.execute(
                "select comment from duckdb_tables() where schema_name = 'reporting' "
                "and table_name = ?",
                [table],
            ).fetchone()[0]
            assert comment.endswith(f"Key: {columns}."), table
        dated = con.execute(
            "select count(distinct as_of_date) from reporting.customer_tiers"
        ).fetchone()
        assert dated == (2,)
