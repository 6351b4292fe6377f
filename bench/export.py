"""Benchmark: the full CSV export against PostgreSQL's own COPY of the same rows.

    make bench-export SIZES="100 1000 5000"

For each size: a fresh database with a generated study of that many subjects, each with a full
history (every record with its history row); then, in a separate process (so that its peak
memory is the export's own), the whole CSV export as a user gets it (ZIP of every domain, the
audit trail and the dictionary); then, in this process, `COPY (query) TO STDOUT WITH CSV` of the
same domain queries, and of the history tables the audit trail is read from.
"""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import generate_study, setup_bench_database  # noqa: I001

BENCH_DATABASE = "blinacell_bench_export"

HERE = Path(__file__).resolve().parent


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM). Not ru_maxrss: Linux carries that over
    from the parent through fork and exec, so it would show the generator's memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _export_child(out: str) -> None:
    """Run in a child process: the export alone, then its figures as JSON on stdout."""
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blinacell_site.settings")
    os.environ["DEBUG"] = "1"
    django.setup()
    settings.DATABASES["default"]["NAME"] = BENCH_DATABASE
    from exports.csv_export import study_csv_write
    from exports.domains import domains

    marks = {}
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        marks[done] = time.perf_counter() - start

    counts = study_csv_write(Path(out), site_ids=None, progress=progress)
    seconds = time.perf_counter() - start
    domain_seconds = marks[len(domains())]
    audit_seconds = marks[len(domains()) + 1] - domain_seconds
    peak_mb = _peak_rss_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "domain_seconds": domain_seconds,
                "audit_seconds": audit_seconds,
                "counts": counts,
                "peak_mb": peak_mb,
            }
        )
    )


def _copy(sql: str) -> tuple[float, int]:
    """Seconds and rows of PostgreSQL's own COPY (sql) TO STDOUT WITH CSV, read and dropped."""
    from django.db import connection

    from exports.csv_export import COPY_SETTINGS

    connection.ensure_connection()
    raw = connection.connection
    start = time.perf_counter()
    with raw.cursor() as cursor:
        for setting in COPY_SETTINGS:  # as the export runs its queries
            cursor.execute(f"SET {setting}")
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH CSV") as stream:
            for _ in stream:
                pass
        return time.perf_counter() - start, cursor.rowcount


def _copy_baselines() -> dict[str, tuple[float, int]]:
    """COPY of the export's own queries (the same rows), and of the raw source tables."""
    import psycopg
    from django.db import connection

    from exports.audit_sql import audit_trail_sql
    from exports.domains import domain_copy_sql, domains
    from monitoring.audit_review import _sources

    connection.ensure_connection()
    mogrify = psycopg.ClientCursor(connection.connection).mogrify
    totals = {}
    seconds = rows = 0
    for domain in domains():
        s, n = _copy(mogrify(*domain_copy_sql(domain, None)))
        seconds, rows = seconds + s, rows + n
    totals["domains"] = (seconds, rows)
    totals["audit"] = _copy(audit_trail_sql(None))
    seconds = rows = 0
    for source in _sources():
        if source.model is None:
            continue
        qs = source.model.history.model.objects.values()
        s, n = _copy(mogrify(*qs.query.sql_with_params()))
        seconds, rows = seconds + s, rows + n
    totals["history"] = (seconds, rows)
    return totals


def main(sizes: list[int]) -> None:
    for size in sizes:
        setup_bench_database(BENCH_DATABASE)
        start = time.perf_counter()
        generate_study(size, with_history=True)
        generated = time.perf_counter() - start
        out = f"/tmp/blinacell-bench-export-{size}.zip"
        child = subprocess.run(
            [sys.executable, str(HERE / "export.py"), "--child", out],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        counts = figures["counts"]
        audit_rows = counts.pop("audit_trail.csv")
        counts.pop("data_dictionary.csv")
        domain_rows = sum(counts.values())
        copy = _copy_baselines()
        domain_ratio = (domain_rows / figures["domain_seconds"]) / (
            copy["domains"][1] / copy["domains"][0]
        )
        audit_ratio = (audit_rows / figures["audit_seconds"]) / (
            copy["audit"][1] / copy["audit"][0]
        )
        all_rows = domain_rows + audit_rows
        copy_seconds = copy["domains"][0] + copy["audit"][0]
        overall = (all_rows / figures["seconds"]) / (all_rows / copy_seconds)
        history_s, history_rows = copy["history"]
        values = domain_rows * 10 + audit_rows * 12
        print(
            f"{size} subjects (generated in {generated:.0f} s), ZIP "
            f"{Path(out).stat().st_size / 1e6:.1f} MB, ~{values / 1e6:.1f} M values, "
            f"export peak memory {figures['peak_mb']:.0f} MB\n"
            f"  domain files: {domain_rows:,} rows in {figures['domain_seconds']:.2f} s; COPY of "
            f"the same queries {copy['domains'][0]:.2f} s: ratio {domain_ratio:.2f}\n"
            f"  audit trail: {audit_rows:,} rows in {figures['audit_seconds']:.2f} s; COPY of the "
            f"same query {copy['audit'][0]:.2f} s: ratio {audit_ratio:.2f}\n"
            f"  whole export {figures['seconds']:.2f} s = {all_rows / figures['seconds']:,.0f} "
            f"rows/s vs COPY {copy_seconds:.2f} s = {all_rows / copy_seconds:,.0f} rows/s: "
            f"ratio {overall:.2f} (target >= 0.5)\n"
            f"  for scale: a raw COPY of the {history_rows:,} history rows the trail is made "
            f"from takes {history_s:.2f} s",
            flush=True,
        )
        Path(out).unlink(missing_ok=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _export_child(sys.argv[2])
    else:
        main([int(n) for n in sys.argv[1:]] or [100, 1000])
