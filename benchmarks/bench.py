"""Benchmark the pipeline against its floors (`make bench`; SIZES=S,M BENCH_DIR=...).

For each size it generates a demo extract set, then measures, each in its own process:

- the cold full run (`crm-pipeline run` on an empty warehouse), per stage from Dagster's
  step timings: ingest, dbt, Polars scoring, GX and reconciliation checks, publish;
- a one-day incremental run: the next day's files land and `crm-pipeline run` again;
- floor 1, a plain DuckDB read of the same CSV files;
- floor 2, a hand-written DuckDB SQL script doing the core of the job (12m customer
  facts, ABC by the cumulative share, the AR balance per customer) straight from the CSVs;

with the peak resident memory of each process tree. Figures go to
benchmarks/results/<size>.json and, as a table with ratios, into the README's performance
section. With HISTORY_DAYS=365,730,2190 (the Makefile's default) it then measures the
one-day run against the length of history alone: S's customers with each number of days
of history (benchmarks/results/history.json and its own README table). Nothing here is
asserted: the machine is shared and timings are noisy.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from pipelines.settings import duckdb_memory_limit  # noqa: E402

BIN = Path(sys.executable).parent
# customers x days -> about 1M / 10M / 100M order lines
SIZES = {"S": (3_000, 730), "M": (30_000, 730), "L": (100_000, 2_190)}
END = date(2026, 6, 30)
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
HISTORY_START, HISTORY_END = "<!-- history:start -->", "<!-- history:end -->"

FLOOR_SQL = """
create table sales as select * from read_csv('{landing}/sales/*.csv', header = true);
create table payments as select * from read_csv('{landing}/payments/*.csv', header = true);
create table facts as
select customer_id, sum(net_amount) as net_sales_12m,
       sum(net_amount - coalesce(cost_amount, 0)) as gross_margin_12m,
       count(distinct order_date) as order_days_12m, max(order_date) as last_order_date
from sales where order_date > date '{as_of}' - 365 and order_date <= date '{as_of}'
group by all;
create table abc as
select *, case when coalesce(sum(greatest(net_sales_12m, 0)) over w, 0)
                    / sum(greatest(net_sales_12m, 0)) over () < 0.80 then 'A'
               when coalesce(sum(greatest(net_sales_12m, 0)) over w, 0)
                    / sum(greatest(net_sales_12m, 0)) over () < 0.95 then 'B'
               else 'C' end as abc_class
from facts
window w as (order by net_sales_12m desc, customer_id
             rows between unbounded preceding and 1 preceding);
create table ar as
select customer_id, sum(case when doc_type in ('invoice', 'reversal') then amount
                             when doc_type in ('receipt', 'credit_note') then -amount
                             else 0 end) as ar_balance
from payments where status = 'posted' and doc_date <= date '{as_of}' group by all;
"""


def _measured(command: list[str], env: dict, log: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB of the process tree) of one command in a fresh process."""
    wrapper = (
        "import resource, subprocess, sys, json, time;"
        "t = time.perf_counter();"
        f"r = subprocess.run({command!r}, stdout=open({str(log)!r}, 'w'), stderr=subprocess.STDOUT);"
        "s = time.perf_counter() - t;"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024;"
        "print(json.dumps([r.returncode, s, m]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper], env=env, capture_output=True, text=True, check=True
    )
    code, seconds, peak = json.loads(out.stdout.strip().splitlines()[-1])
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {code}); see {log}")
    return seconds, peak


def _stages(dagster_home: Path, run_id: str) -> dict[str, float]:
    """Seconds per stage of one run, from Dagster's step statistics."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    stages = {"ingest": 0.0, "dbt": 0.0, "polars": 0.0, "checks": 0.0, "publish": 0.0}
    with dg.DagsterInstance.get() as instance:
        for step in instance.get_run_step_stats(run_id):
            seconds = (step.end_time or 0) - (step.start_time or 0)
            key = step.step_key
            if key.startswith("raw_extracts"):
                stage = "ingest"
            elif key.startswith("crm_dbt_models"):
                stage = "dbt"
            elif key.startswith("reporting__warehouse"):
                stage = "publish"
            elif "gx_" in key or "reconcile" in key:
                stage = "checks"
            else:
                stage = "polars"
            stages[stage] += seconds
    return stages


def _last_run_id(log: Path) -> str:
    for line in reversed(log.read_text(encoding="utf-8").splitlines()):
        if line.startswith("Dagster run "):
            return line.split()[2]
    raise SystemExit(f"no run id in {log}")


def bench(size: str, base: Path, days: int | None = None, floors: bool = True) -> dict:
    """Generate, run cold and run one day more for `size` (its customers; `days` of history
    instead of its own when given); with the floors unless `floors` is False."""
    customers, size_days = SIZES[size]
    days = days or size_days
    work = base / (size if days == size_days else f"{size}-{days}d")
    shutil.rmtree(work, ignore_errors=True)
    full_landing, landing = work / "generated", work / "landing"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "CRM_CONFIG_PATH": str(ROOT / "config" / "crm.yaml"),
        "CRM_EXPECTATIONS_DIR": str(ROOT / "expectations"),
        "CRM_HEADER_MAP_PATH": str(ROOT / "config" / "header_map.yaml"),
        "CRM_WORK_DB": "",
        # as in production (README): names and phones get their keyed hashes
        "CRM_PII_KEY": "benchmark-only-secret",
    }
    (work / "dagster_home").mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(
        [BIN / "crm-pipeline", "generate", "--out", full_landing, "--customers", str(customers),
         "--days", str(days), "--end-date", (END + timedelta(days=1)).isoformat(), "--seed", "1"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    generate_seconds = time.perf_counter() - started
    # everything up to END lands first; the last day's files land for the incremental run
    last = f"{END + timedelta(days=1):%Y%m%d}"
    held_back = []
    for path in full_landing.rglob("*.csv"):
        target = landing / path.relative_to(full_landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        if last in path.name:
            held_back.append((path, target))
        else:
            path.rename(target)
    order_lines = sum(1 for p in (landing / "sales").glob("*.csv") for _ in p.open()) - len(
        list((landing / "sales").glob("*.csv"))
    )
    warehouse = work / "warehouse" / "crm.duckdb"
    run = [BIN / "crm-pipeline", "run", "--landing", landing, "--warehouse", warehouse]
    full_s, full_mem = _measured(
        [*map(str, run), "--as-of", END.isoformat()], env, work / "full.log"
    )
    full_stages = _stages(work / "dagster_home", _last_run_id(work / "full.log"))
    for source, target in held_back:
        source.rename(target)
    day = (END + timedelta(days=1)).isoformat()
    inc_s, inc_mem = _measured([*map(str, run), "--as-of", day], env, work / "incremental.log")
    inc_stages = _stages(work / "dagster_home", _last_run_id(work / "incremental.log"))
    result = {
        "size": size,
        "customers": customers,
        "days": days,
        "order_lines": order_lines,
        "generate_s": round(generate_seconds, 1),
        "full_run_s": round(full_s, 1),
        "full_run_peak_mib": round(full_mem),
        "full_stages_s": {k: round(v, 1) for k, v in full_stages.items()},
        "incremental_run_s": round(inc_s, 1),
        "incremental_peak_mib": round(inc_mem),
        "incremental_stages_s": {k: round(v, 1) for k, v in inc_stages.items()},
    }
    if not floors:
        return result | _where()
    read = (
        "import duckdb, sys; c = duckdb.connect();"
        f"[c.sql(f\"select count(*) from read_csv('{landing}/{{e}}/*.csv', header = true)\")"
        ".fetchall() for e in ('sales', 'payments', 'customers', 'products', 'inventory')]"
    )
    read_s, read_mem = _measured([sys.executable, "-c", read], env, work / "floor_read.log")
    script = FLOOR_SQL.format(landing=landing, as_of=END.isoformat())
    floor_db = work / "floor.duckdb"
    sql = f"import duckdb; duckdb.connect({str(floor_db)!r}).execute({script!r})"
    sql_s, sql_mem = _measured([sys.executable, "-c", sql], env, work / "floor_sql.log")
    return (
        result
        | {
            "floor_csv_read_s": round(read_s, 1),
            "floor_sql_s": round(sql_s, 1),
            "floor_sql_peak_mib": round(sql_mem),
        }
        | _where()
    )


def _where() -> dict:
    commit = subprocess.run(
        ["git", "rev-parse", "--short=7", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "commit": commit or "unknown",
        "duckdb_memory_limit": duckdb_memory_limit(),
        "measured_on": datetime.now().strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}",
    }


def table(results: list[dict]) -> str:
    lines = [
        "| size | order lines | full run | ingest / dbt / Polars / checks / publish | peak memory "
        "| one-day run | vs. full | CSV read floor | SQL floor | full / SQL floor | checks share "
        "| commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["full_stages_s"]
        checks_share = s["checks"] / r["full_run_s"] if r["full_run_s"] else 0
        lines.append(
            f"| {r['size']} | {r['order_lines']:,} | {r['full_run_s']} s | "
            f"{s['ingest']} / {s['dbt']} / {s['polars']} / {s['checks']} / {s['publish']} s | "
            f"{r['full_run_peak_mib']:,} MiB | {r['incremental_run_s']} s | "
            f"{r['incremental_run_s'] / r['full_run_s']:.0%} | {r['floor_csv_read_s']} s | "
            f"{r['floor_sql_s']} s | {r['full_run_s'] / max(r['floor_sql_s'], 0.1):.1f}x | "
            f"{checks_share:.0%} | {r.get('commit', '')} |"
        )
    lines.append("")
    for measured_on, machine in dict.fromkeys((r["measured_on"], r["machine"]) for r in results):
        sizes = ", ".join(
            r["size"] for r in results if (r["measured_on"], r["machine"]) == (measured_on, machine)
        )
        lines.append(f"{sizes} measured on {measured_on} on {machine}.")
    return "\n".join(lines)


def history_table(results: list[dict]) -> str:
    lines = [
        "| customers | history | order lines | full run | one-day run "
        "| ingest / dbt / Polars / checks / publish | commit |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["incremental_stages_s"]
        lines.append(
            f"| {r['customers']:,} | {r['days']} days | {r['order_lines']:,} | "
            f"{r['full_run_s']} s | {r['incremental_run_s']} s | "
            f"{s['ingest']} / {s['dbt']} / {s['polars']} / {s['checks']} / {s['publish']} s | "
            f"{r.get('commit', '')} |"
        )
    lines.append("")
    lines.append(f"Measured on {results[0]['measured_on']} on {results[0]['machine']}.")
    return "\n".join(lines)


def _into_readme(start: str, end: str, text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    if start in content and end in content:
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8")


def main() -> None:
    sizes = [s for s in os.environ.get("SIZES", "S").split(",") if s.strip()]
    base = Path(os.environ.get("BENCH_DIR", ROOT / ".bench"))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for size in sizes:
        result = bench(size.strip().upper(), base)
        (out / f"{result['size']}.json").write_text(json.dumps(result, indent=2) + "\n")
        results.append(result)
        print(json.dumps(result, indent=2), flush=True)
    # the README shows every size measured so far
    recorded = [
        json.loads((out / f"{s}.json").read_text()) for s in SIZES if (out / f"{s}.json").exists()
    ]
    if recorded:
        text = table(recorded)
        print(text)
        _into_readme(README_START, README_END, text)
    # the one-day run against history length alone: S's customers, HISTORY_DAYS of history
    history_days = [int(d) for d in os.environ.get("HISTORY_DAYS", "").split(",") if d.strip()]
    if history_days:
        sweep = [bench("S", base, days=d, floors=False) for d in history_days]
        (out / "history.json").write_text(json.dumps(sweep, indent=2) + "\n")
        text = history_table(sweep)
        print(text)
        _into_readme(HISTORY_START, HISTORY_END, text)


if __name__ == "__main__":
    main()
