"""Benchmark: import_study of a generated study, through the write pipeline, into an empty
database, and the rule evaluation it ends with.

    make bench-import SIZES="30 300"

For each size: a database with a generated study of that many subjects (about 200 records each:
35 lab panels of 4 values, the cycle, AEs, MRD samples and results, visits ...), exported as the
sponsor's CSV ZIP; then a second, freshly migrated database into which `manage.py import_study`
loads the ZIP, timed as a whole (wall and this process's CPU) with its queries counted.
"""

import os
import resource
import sys
import time
from pathlib import Path

from common import generate_study, setup_bench_database  # noqa: I001

SOURCE = "blinacell_bench_import_src"
TARGET = "blinacell_bench_import"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(sizes: list[int]) -> None:
    for size in sizes:
        setup_bench_database(SOURCE)
        generate_study(size, with_history=True, lab_panels=35, day1_days_ago=200)
        from exports.csv_export import study_csv_write

        out = Path(f"/tmp/blinacell-bench-import-{size}.zip")
        counts = study_csv_write(out, site_ids=None)
        records = (
            sum(n for name, n in counts.items() if name.endswith(".csv"))
            - counts.get("audit_trail.csv", 0)
            - counts.get("data_dictionary.csv", 0)
        )

        setup_bench_database(TARGET)
        from django.core.management import call_command
        from django.db import connection

        from alerts.models import Alert

        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        with open(os.devnull, "w") as quiet, connection.execute_wrapper(count):
            wall, cpu = time.perf_counter(), _cpu()
            call_command("import_study", str(out), stdout=quiet)
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        print(
            f"{size} subjects, {records:,} records: import_study {wall:.1f} s "
            f"(CPU of this process {cpu:.1f} s), {queries:,} queries, "
            f"{Alert.objects.count()} alerts raised; {records / wall:,.0f} records/s",
            flush=True,
        )
        out.unlink(missing_ok=True)


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or [30, 300])
