"""Faults, against real processes: PostgreSQL restarted during writes, Redis stopped for a
minute during saves, the worker killed again and again during alert and export tasks.

    make bench-faults

1. A private PostgreSQL cluster (Debian's binaries) with the project's schema, the app under
   gunicorn and two investigators saving a visit form in a loop; PostgreSQL is stopped for 3 s,
   for 10 s, and restarted at once (stop then start).
2. A private Redis (the broker of this process and of a real Celery worker) stopped for 60 s
   while a save that raises AL-HEP is made every 2 s; a beat stand-in sends the reconciliation
   every 10 s for marks older than 30 s (beat's own age threshold; beat's interval is 60 s).
3. A study export and then alert evaluations, their worker SIGKILLed 5 times each mid-task and
   started again each time.

Prints the figures of each scenario and exits 1 if any invariant failed. Scenarios 2 and 3 use
a database of their own (`blinacell_faults`) on the configured PostgreSQL; scenario 1 touches
neither the configured PostgreSQL nor Redis.
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import setup_bench_database  # noqa: E402, I001


def main() -> int:
    # The bench's database is created from the server's maintenance database (the configured
    # one need not exist).
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    if url.scheme.startswith("postgres"):
        os.environ["DATABASE_URL"] = urlunsplit(url._replace(path="/postgres"))
    setup_bench_database("blinacell_faults")
    from bench.faults import postgres_restart, redis_outage, servers, worker_kills
    from tests.alerts.worker import stop_all

    results = []
    export_root = Path(tempfile.mkdtemp(prefix="bc-faults-exports-"))
    started = time.monotonic()
    try:
        print("1. PostgreSQL restarted during writes", flush=True)
        results.append(postgres_restart.run(clients=2, outages=(3.0, 10.0, 0.0),
                                            traffic_between=10.0, timeout=10.0))  # fmt: skip
        print("2. Redis stopped for a minute during saves", flush=True)
        results.append(redis_outage.run(outage=60.0, save_every=2.0, saves_before=2,
                                        reconcile_every=10.0, older_than_seconds=30,
                                        settle=120.0))  # fmt: skip
        print("3. Worker killed repeatedly during export and alert tasks", flush=True)
        results.append(worker_kills.run_exports(export_root=export_root, kills=5, pause=0.3,
                                                stale_seconds=2, visibility_timeout=5,
                                                subjects=20, timeout=120))  # fmt: skip
        results.append(worker_kills.run_alerts(subjects=10, kills=5, pause=3,
                                               visibility_timeout=4, timeout=60))  # fmt: skip
    finally:
        stop_all()
        servers.stop_all()
        shutil.rmtree(export_root, ignore_errors=True)
    print(f"\nFaults ({time.monotonic() - started:.0f} s):")
    failed = False
    for result in results:
        print(f"- {result.summary()}")
        for failure in result.failures:
            failed = True
            print(f"  INVARIANT FAILED: {failure}")
    if len(results) < 4:
        failed = True
    print("\nAll invariants hold." if not failed else "\nSome invariants FAILED.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
