"""Benchmark: every role's pages, one user at a time, against the production server.

    make bench-pages                  # the load benchmark's study of 1,000 subjects
    make bench-pages SUBJECTS=200 REPEAT=5

Builds the load benchmark's generated study of SUBJECTS subjects with their creation history
and its users of every role (bench/load/run.py) in a database of its own (`blinacell_pages`, or
PAGES_DATABASE), or reuses it if it is already built with that many subjects; starts gunicorn
with production settings (DEBUG off) and a Celery worker as the load benchmark does; logs in
once per role. Then each page of each role's work is requested to warm up (twice per gunicorn
process, each of which has its own caches) and REPEAT
times measured, sequentially (page 50 of the study audit trail is first reached, untimed, as a
reader reaches it: by following its "Older" link from the newest page). /healthz is measured
REPEAT times before the pages and REPEAT times after; its median over both is the run's
yardstick.

Prints, for each page and role: the median and p95 in ms, the median's ratio to /healthz's
median, and whether the target is met (median <= 10 x /healthz's median); writes the same as
JSON to bench/results/pages-<timestamp>.json. Exits 0 whatever the timings (a measurement), 1 if
a page answered an unexpected status (listed at the end).
"""

from __future__ import annotations

import datetime
import html
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from load.run import WORKERS, percentile  # noqa: E402

RESULTS = BENCH / "results"
TARGET_RATIO = 10.0
HEALTHZ = "/healthz"

# The generated users (bench/load/run.py, generate), one per role.
ROLES = {
    "investigator": "load.inv1.1",
    "central lab": "load.lab.1",
    "monitor": "load.monitor.1",
    "data manager": "load.dm",
    "sponsor": "load.sponsor",
}
START, LOGIN = "start page", "login POST"
# Each role's work: (page, URL). {study_id} is the first subject of site 1 (the investigator's).
PAGES: dict[str, list[tuple[str, str]]] = {
    "investigator": [
        (START, "/"),
        ("subject list", "/subjects/"),
        ("casebook", "/subjects/{study_id}/"),
        ("lab page", "/subjects/{study_id}/labs/"),
        ("infusion page", "/subjects/{study_id}/infusion/"),
        ("MRD subject page", "/subjects/{study_id}/mrd/"),
        ("alert inbox", "/alerts/"),
        (LOGIN, "/accounts/login/"),
    ],
    "central lab": [
        (START, "/"),
        ("MRD worklist", "/mrd/worklist/"),
        (LOGIN, "/accounts/login/"),
    ],
    "monitor": [
        (START, "/"),
        ("subject audit trail", "/subjects/{study_id}/audit-trail/"),
        ("study audit trail", "/audit-trail/"),
        ("study audit trail, page 50", "/audit-trail/{page_50}"),
        ("SDV overview", "/sdv/"),
        ("queries", "/queries/"),
        (LOGIN, "/accounts/login/"),
    ],
    "data manager": [
        (START, "/"),
        ("locks", "/locks/"),
        ("queries", "/queries/"),
        ("exports list", "/exports/"),
        (LOGIN, "/accounts/login/"),
    ],
    "sponsor": [
        (START, "/"),
        ("reports", "/reports/"),
        ("report JSON", "/reports/report.json"),
        ("exports list", "/exports/"),
        (LOGIN, "/accounts/login/"),
    ],
}


@dataclass
class Row:
    page: str
    role: str
    url: str
    median_ms: float
    p95_ms: float
    ratio: float
    meets_target: bool


def summarise(page: str, role: str, url: str, times_ms: list[float], healthz_ms: float) -> Row:
    """One page's figures: median, p95 and the median's ratio to /healthz's median."""
    median = statistics.median(times_ms)
    ratio = median / healthz_ms if healthz_ms > 0 else float("inf")
    return Row(page, role, url, median, percentile(times_ms, 0.95), ratio, ratio <= TARGET_RATIO)


def format_table(rows: list[Row], healthz_ms: float) -> str:
    lines = [
        f"{'page':28} {'role':13} {'median ms':>9} {'p95 ms':>8} {'x healthz':>9}  target",
        "-" * 78,
    ]
    for r in rows:
        verdict = "met" if r.meets_target else "NOT met"
        lines.append(
            f"{r.page:28} {r.role:13} {r.median_ms:9.0f} {r.p95_ms:8.0f} {r.ratio:9.1f}  {verdict}"
        )
    missed = [f"{r.page} ({r.role})" for r in rows if not r.meets_target]
    lines.append(
        f"Target: every page's median <= {TARGET_RATIO:g} x /healthz's median "
        f"({healthz_ms:.1f} ms, so <= {TARGET_RATIO * healthz_ms:.0f} ms): "
        + (f"NOT met by {len(missed)}: {', '.join(missed)}" if missed else "met by every page")
    )
    return "\n".join(lines)


# --- Against the server ----------------------------------------------------------------------
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The audit trail's link to its next older page (templates/monitoring/_trail_pages.html).
_OLDER = re.compile(r'<a class="page-link" rel="next" href="([^"]+)">Older')
DEEP_PAGE = 50


def older_link(page: str) -> str | None:
    """The query string of the audit trail page's "Older" link, if it has one."""
    found = _OLDER.search(page)
    return html.unescape(found.group(1)) if found else None


def deep_page(session, url: str, path: str, number: int) -> str:
    """The query string of page `number` of the trail at `path`, reached as a reader reaches it:
    by following its "Older" link from the newest page (untimed, before the measurements)."""
    query = ""
    for reached in range(1, number):
        found = older_link(session.get(f"{url}{path}{query}", timeout=120).text)
        if found is None:
            print(f"  {path} has {reached} pages: its last is measured", flush=True)
            break
        query = found
    return query


def login_form(session, url: str, username: str, password: str) -> dict:
    """The login page's form, filled in (its CSRF cookie is now in `session`)."""
    page = session.get(f"{url}/accounts/login/", timeout=60)
    found = _TOKEN.search(page.text)
    form = {"username": username, "password": password}
    if found:
        form["csrfmiddlewaretoken"] = found.group(1)
    return form


# A stored report not computed yet answers "being computed" (page) or 202 (JSON) while the
# worker computes it: the warm-up waits for it, so that the figures are those of the report.
REPORT_PENDING = b'id="report-pending"'
REPORT_WAIT_SECONDS = 300


def _until_computed(call):
    deadline = time.monotonic() + REPORT_WAIT_SECONDS
    response = call()
    while (response.status_code == 202 or REPORT_PENDING in response.content) and (
        time.monotonic() < deadline
    ):
        time.sleep(2)
        response = call()
    return response


def measure(url: str, password: str, study_id: str, repeat: int) -> tuple[list[Row], list[str]]:
    """Each page REPEAT times after a warm-up; returns the rows and the unexpected answers."""
    import requests

    errors: list[str] = []
    samples: dict[tuple[str, str, str], list[float]] = {}

    def timed(call, key: tuple[str, str, str], expected: int, warm_up: bool) -> bool:
        if warm_up and expected == 200:  # a page, not the login POST (its token is used once)
            _until_computed(call)
            # Every gunicorn process has its own caches (compiled templates, compiled queries):
            # a page is warmed in each before it is measured.
            for _ in range(2 * int(WORKERS)):
                call()
        started = time.perf_counter()
        response = call()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != expected:
            page, role, path = key
            where = response.headers.get("Location", "")
            errors.append(f"{page} ({role}) {path}: HTTP {response.status_code} {where}".strip())
            return False
        if not warm_up:
            samples.setdefault(key, []).append(elapsed)
        return True

    def healthz() -> list[float]:
        key = (HEALTHZ, "anyone", HEALTHZ)
        with requests.Session() as anonymous:
            for n in range(repeat + 1):
                timed(
                    lambda: anonymous.get(f"{url}{HEALTHZ}", allow_redirects=False, timeout=60),
                    key, 200, warm_up=n == 0,
                )  # fmt: skip
        return samples.pop(key, [])

    yardstick = healthz()
    for role, username in ROLES.items():
        session = requests.Session()
        form = login_form(session, url, username, password)
        response = session.post(f"{url}/accounts/login/", data=form, allow_redirects=False)
        if response.status_code != 302:
            errors.append(f"login of {username} ({role}): HTTP {response.status_code}")
            continue
        for page, template in PAGES[role]:
            deep = ""
            if "{page_50}" in template:
                deep = deep_page(session, url, "/audit-trail/", DEEP_PAGE)
            path = template.format(study_id=study_id, page_50=deep)
            for n in range(repeat + 1):
                if page == LOGIN:  # a fresh session each time: its form untimed, the POST timed
                    fresh = requests.Session()
                    data = login_form(fresh, url, username, password)

                    def call(fresh=fresh, data=data, path=path):
                        return fresh.post(
                            f"{url}{path}", data=data, allow_redirects=False, timeout=60
                        )

                else:

                    def call(session=session, path=path):
                        return session.get(f"{url}{path}", allow_redirects=False, timeout=120)

                if not timed(call, (page, role, path), 302 if page == LOGIN else 200, n == 0):
                    break  # one error per page is enough
        session.close()
        print(f"  {role}: {len(PAGES[role])} pages measured", flush=True)
    yardstick += healthz()
    if not yardstick:
        errors.append("/healthz never answered 200")
        return [], errors
    healthz_ms = statistics.median(yardstick)
    rows = [summarise(HEALTHZ, "anyone", HEALTHZ, yardstick, healthz_ms)]
    rows += [summarise(p, r, u, times, healthz_ms) for (p, r, u), times in samples.items()]
    return rows, errors


def study_ready(subjects: int) -> bool:
    """Is the database the load benchmark's study of `subjects` subjects, with its users?"""
    from django.contrib.auth import get_user_model

    from crf.models import Subject

    users = get_user_model().objects.filter(username__in=ROLES.values()).count()
    return users == len(ROLES) and Subject.objects.count() == subjects


def main(subjects: int, repeat: int) -> int:
    import os

    from load import run as load

    workdir = Path(tempfile.mkdtemp(prefix="blinacell-pages-"))
    load.configure(workdir)
    database = os.environ.get("PAGES_DATABASE", "blinacell_pages")
    database_url = load.setup_database(database, keep=True)
    if study_ready(subjects):
        print(f"Reusing the study of {subjects} subjects in database {database}.", flush=True)
    else:
        from django.db import connection

        connection.close()
        print(f"Generating a study of {subjects} subjects in database {database} ...", flush=True)
        database_url = load.setup_database(database)
        load.generate(workdir / "fixture.json", subjects)
    from crf.models import Subject

    study_id = (
        Subject.objects.filter(site__number=1)
        .order_by("sequence")
        .values_list("study_id", flat=True)
    ).first()
    with load.servers(workdir, database_url) as url:
        rows, errors = measure(url, load.PASSWORD, study_id, repeat)
    healthz = next((r.median_ms for r in rows if r.page == HEALTHZ), float("nan"))
    load_average = os.getloadavg()
    print(
        f"\n=== Pages, one user at a time: {subjects} subjects, median of {repeat}; "
        f"machine load average {load_average[0]:.1f} (1 min) on {os.cpu_count()} cores ==="
    )
    print(format_table(rows, healthz))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"pages-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "when": stamp, "subjects": subjects, "repeat": repeat,
                "gunicorn_workers": load.WORKERS, "gunicorn_threads": load.THREADS,
                "healthz_median_ms": healthz,
                "target_ratio": TARGET_RATIO, "load_average": load_average,
                "cpu_count": os.cpu_count(), "rows": [asdict(r) for r in rows],
                "errors": errors,
            },
            indent=2,
        )
    )  # fmt: skip
    print(f"Written to {out}")
    if errors:
        print(f"\n{len(errors)} error(s):")
        for error in errors:
            print(f"  {error}")
        return 1
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    sys.exit(main(options.subjects, options.repeat))
