"""Benchmark: upload of a CSV batch of MRD results (preview, then commit), and its re-upload.

    make bench-mrd-upload ROWS=3000

Runs against a database of its own (blinacell_bench), created afresh on the configured or
embedded PostgreSQL; prints the seconds for each step.
"""

import csv
import datetime
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(rows: int) -> None:
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blinacell_site.settings")
    os.environ["DEBUG"] = "1"
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    name = "blinacell_bench"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    call_command("migrate", verbosity=0)

    from crf.models import Role
    from mrd.models import MrdResult, MrdSample
    from mrd.upload import COLUMNS, upload_commit, upload_preview, upload_receive
    from tests.factories import SiteFactory, enrol, user_with_role

    site = SiteFactory(number=1, city="Prague")
    investigator = user_with_role(Role.INVESTIGATOR, site, username="bench.inv")
    lab = user_with_role(Role.CENTRAL_LAB, None, username="bench.lab")
    per_subject = 30
    samples = []
    for _ in range(rows // per_subject + 1):
        subject = enrol(site, by=investigator)
        for k in range(per_subject):
            samples.append(
                MrdSample(
                    subject=subject,
                    accession=f"{subject.study_id}-FU-{k + 1}",
                    timepoint="FU",
                    material="bone_marrow",
                    sampled_on=datetime.date(2026, 4, 1),
                )
            )
    MrdSample.objects.bulk_create(samples[:rows])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for i, sample in enumerate(samples[:rows]):
        writer.writerow(
            {
                "accession": sample.accession,
                "method": "qpcr",
                "result": "quantifiable" if i % 3 else "negative",
                "value": "" if i % 3 == 0 else f"{1 + i % 9},{i % 10}E-4",
                "sensitivity": "1E-5",
                "quantitative_range": "1E-5",
                "report_date": "2026-04-20",
            }
        )
    raw = out.getvalue().encode()
    from django.test import Client
    from django.urls import reverse

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    browser = Client()
    browser.force_login(lab)
    for label in ("first upload", "same file again"):
        start = time.perf_counter()
        received = upload_receive(filename="bench.csv", raw=raw, user=lab)  # checked and kept
        checked = time.perf_counter()
        rss_before = _rss_mb()
        page = browser.get(reverse("mrd:upload_preview", args=[received.pk]))
        shown = time.perf_counter()
        assert page.status_code == 200
        rss_after = _rss_mb()
        preview = upload_preview(received, lab)
        assert preview.valid, [r.errors for r in preview.rows if r.errors][:3]
        committed = time.perf_counter()
        upload_commit(received, lab)
        done = time.perf_counter() - committed
        print(
            f"{label}: {rows} rows, check and keep {checked - start:.2f} s, preview page "
            f"{(shown - checked) * 1000:.0f} ms ({len(page.content) / 1e3:.0f} kB of HTML, "
            f"this process {rss_before:.0f} -> {rss_after:.0f} MB), commit {done:.2f} s "
            f"({preview.count('new')} new, {preview.count('unchanged')} unchanged)"
        )
    assert MrdResult.objects.count() == rows


def _rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
