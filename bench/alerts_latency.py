"""Benchmark: time from the commit of a save to its alert row, through Redis and a worker.

    make bench-alerts-latency SAVES=200

A subject on blinatumomab gets SAVES lab panels, one at a time, each with ALT 6 x ULN (AL-HEP
for that lab value); for each, the time from the end of the saving transaction to the moment
the alert row is visible is measured. Prints median, p95 and max.
"""

import datetime
import statistics
import sys
import time

from common import setup_bench_database  # noqa: I001


def main(saves: int) -> None:
    setup_bench_database()
    from django.utils import timezone

    from alerts.models import Alert
    from crf.models import Role
    from tests.alerts.worker import Worker, stop_all
    from tests.factories import (
        SiteFactory,
        baseline_for,
        day11_for,
        enrol,
        infusion_started_for,
        lab_panel_for,
        user_with_role,
    )

    site = SiteFactory(number=1, city="Prague")
    investigator = user_with_role(Role.INVESTIGATOR, site, username="bench.latency")
    subject = enrol(site, by=investigator, day1_date=timezone.localdate() - datetime.timedelta(40))
    baseline_for(subject, by=investigator)
    day11_for(subject, by=investigator)
    infusion_started_for(subject, by=investigator)
    worker = Worker().start()
    latencies = []
    try:
        time.sleep(1)
        for n in range(saves):
            panel = lab_panel_for(
                subject, by=investigator, alt=str(240 + n), uln="40", days=12 + (n % 25)
            )
            committed = time.perf_counter()
            record = f"lab:{panel.values.get().pk}"
            while not Alert.objects.filter(subject=subject, record=record).exists():
                if time.perf_counter() - committed > 30:
                    raise SystemExit(f"no alert for {record} within 30 s")
                time.sleep(0.005)
            latencies.append(time.perf_counter() - committed)
    finally:
        worker.stop()
        stop_all()
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"{saves} saves: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (commit to alert row)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
