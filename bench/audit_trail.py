"""Benchmark: opening pages of the audit trail of a subject with a long history.

    make bench-audit-trail ROWS=10000

Changes one visit's notes ROWS times (each an audited change with a reason), then times pages 1
and 100 of the subject's audit trail, and page 1 of the study's, through Django's test client.
"""

import sys
import time

from common import setup_bench_database  # noqa: I001


def main(changes: int) -> None:
    setup_bench_database()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's host and response.context
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from audit.services import audited_save
    from crf.models import Role
    from tests.factories import SiteFactory, enrol, user_with_role

    site = SiteFactory(number=1, city="Prague")
    investigator = user_with_role(Role.INVESTIGATOR, site, username="bench.audit")
    subject = enrol(site, by=investigator)
    visit = subject.visits.get(code="W11")
    for n in range(changes):
        visit.notes = f"note {n}"
        visit = audited_save(visit, user=investigator, reason=f"change {n}")
    client = Client()
    client.force_login(investigator)
    subject_url = reverse("monitoring:subject_audit", args=[subject.study_id])
    study_url = reverse("monitoring:study_audit")
    deep = {}  # page 100, reached as a reader reaches it: by its "Older" link, 99 times
    for _ in range(99):
        older = client.get(subject_url, deep).context["page"].older
        if older is None:
            break
        deep = {"after": older.token()}
    for label, url, params in (
        ("subject trail, page 1", subject_url, {}),
        ("subject trail, page 100", subject_url, deep),
        ("study trail, page 1", study_url, {}),
    ):
        client.get(url, params)  # warm up
        timings = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url, params)
                timings.append(time.perf_counter() - start)
        assert response.status_code == 200
        events = len(response.context["page"].events)
        print(
            f"{changes} changes, {label} ({events} events on it): {min(timings) * 1000:.0f} ms "
            f"(best of 3), {len(queries.captured_queries)} queries"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
