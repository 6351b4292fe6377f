"""Benchmark: evaluating the protocol rules for every subject of a generated study.

    make bench-alerts-scale SIZES="100 1000 5000"

Each size is a fresh study (bench/common.py: full treatment history per subject); the figure is
the wall time of the beat job that evaluates every subject (alerts.services.all_subjects_evaluate)
the first time (alerts created) and again (nothing changes).
"""

import sys
import time

from common import generate_study, setup_bench_database  # noqa: I001


def main(sizes: list[int]) -> None:
    setup_bench_database()
    from alerts.models import Alert
    from alerts.services import all_subjects_evaluate
    from crf.models import Subject

    for size in sizes:
        Alert.objects.all().delete()
        Subject.objects.update(status=Subject.Status.COMPLETED)  # earlier sizes are left out
        generated = time.perf_counter()
        ids = generate_study(size)
        made = time.perf_counter()
        first = time.perf_counter()
        all_subjects_evaluate(ids)
        first_done = time.perf_counter()
        all_subjects_evaluate(ids)
        second_done = time.perf_counter()
        print(
            f"{size} subjects (generated in {made - generated:.1f} s): first evaluation "
            f"{first_done - first:.1f} s ({(first_done - first) / size * 1000:.1f} ms/subject, "
            f"{Alert.objects.count()} alerts), again {second_done - first_done:.1f} s"
        )


if __name__ == "__main__":
    main([int(s) for s in (sys.argv[1:] or ["100", "1000"])])
