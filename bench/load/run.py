"""Load benchmark: the trial's real mix against gunicorn with a real Celery worker.

    make bench-load USERS="25 50 100"

Makes a database of its own (`blinacell_load`), generates a study of 1,000 subjects with full
treatment histories (bench/common.generate_study, with their creation history), creates the
users of every role with a known password, collects the static files, and starts gunicorn
(as the site serves it, 5 single-threaded workers; production settings: DEBUG off; see
bench_settings.py) and a Celery worker on a
private queue. Then, for each number of simulated users, runs bench/load/locustfile.py headless
(a ramp of RAMP seconds, then DURATION seconds measured) and prints p50/p95/p99 and failures per
request type, the error rate, and whether the targets are met:
pages p95 <= 300 ms, saves p95 <= 500 ms, errors < 0.1 %.

Environment: LOAD_SUBJECTS (1000), LOAD_DURATION (60), LOAD_RAMP (15), LOAD_THINK ("2,6":
seconds each simulated user waits between tasks), LOAD_WORKERS and LOAD_THREADS (gunicorn
workers, 5, and threads per worker, 1).
Everything it starts is stopped at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "bench"), str(HERE)]

DATABASE = "blinacell_load"
PASSWORD = "load-bench-password-2026!"  # noqa: S105 - the generated accounts of this benchmark
SUBJECTS = int(os.environ.get("LOAD_SUBJECTS", "1000"))
DURATION = int(os.environ.get("LOAD_DURATION", "60"))
RAMP = int(os.environ.get("LOAD_RAMP", "15"))
# gunicorn as the site serves it (blinacell_site/gunicorn_conf.py), unless these say otherwise.
WORKERS = os.environ.get("LOAD_WORKERS", os.environ.get("WEB_WORKERS", "5"))
THREADS = os.environ.get("LOAD_THREADS", os.environ.get("WEB_THREADS", "1"))
PAGE_P95_MS, SAVE_P95_MS, ERROR_RATE = 300, 500, 0.001


def configure(workdir: Path) -> None:
    """Production-like settings for this process and every process it starts."""
    static = workdir / "static"
    static.mkdir()
    exports = workdir / "exports"
    exports.mkdir()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench_settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOAD_STATIC_ROOT=str(static),
        EXPORT_ROOT=str(exports),
        PYTHONPATH=os.pathsep.join([str(HERE), str(PROJECT)]),
    )
    os.environ.setdefault("CELERY_QUEUE", f"blinacell-load-{os.getpid()}")


def setup_database(name: str = DATABASE, *, keep: bool = False) -> str:
    """A fresh database `name`, migrated (with `keep`, an existing one is kept and migrated);
    returns its URL for the web server and the worker."""
    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    with connection._nodb_cursor() as cursor:  # the server's `postgres` database
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not (keep and cursor.fetchone()):
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    db = connection.settings_dict
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgresql://{quote(db['USER'], safe='')}{password}@{host}{port}/{name}"


def generate(fixture: Path, size: int = SUBJECTS) -> None:
    from common import generate_study
    from django.contrib.auth import get_user_model

    from crf.models import Role, Site, Subject
    from crf.services import membership_grant
    from mrd.models import MrdSample

    started = time.perf_counter()
    User = get_user_model()
    seed = User.objects.create_user("load.seed", password=PASSWORD)
    generate_study(size, seed_user=seed, with_history=True)
    sites = {site.number: site for site in Site.objects.all()}

    def user(username, role, site_numbers=(None,)):
        account = User.objects.create_user(username, password=PASSWORD, last_name=username)
        for number in site_numbers:
            membership_grant(
                user=account, role=role, site=sites.get(number), granted_by=None
            )  # fmt: skip
        return username

    users = {
        "investigator": [
            user(f"load.inv{n}.{k}", Role.INVESTIGATOR, [n]) for n in sites for k in (1, 2, 3)
        ],
        "monitor": [user(f"load.monitor.{k}", Role.MONITOR, list(sites)) for k in (1, 2)],
        "central_lab": [user(f"load.lab.{k}", Role.CENTRAL_LAB) for k in (1, 2)],
        "sponsor": [user("load.sponsor", Role.SPONSOR)],
        "data_manager": [user("load.dm", Role.DATA_MANAGER)],
    }
    subjects: dict[str, list[str]] = {}
    for study_id, number in Subject.objects.values_list("study_id", "site__number"):
        subjects.setdefault(str(number), []).append(study_id)
    # Week-11 samples taken a week ago or earlier (a report dated today is after sampling).
    taken = datetime.date.today() - datetime.timedelta(days=7)
    samples = list(
        MrdSample.objects.filter(timepoint="W11", sampled_on__lte=taken)
        .order_by("id")
        .values_list("accession", flat=True)
    )
    fixture.write_text(
        json.dumps({"password": PASSWORD, "users": users, "subjects": subjects, "samples": samples})
    )
    from django.db import connection

    with connection.cursor() as cursor:
        # Statistics of the freshly loaded tables, as autovacuum would gather them in a while: a
        # planner that still believes the tables empty chooses plans no running site would get.
        cursor.execute("ANALYZE")
    print(
        f"Generated {size} subjects and {sum(map(len, users.values()))} users "
        f"in {time.perf_counter() - started:.0f} s.",
        flush=True,
    )


def _number(cell: str, missing: float = float("nan")) -> float:
    """A percentile cell of Locust's CSV: empty or "N/A" where a type had no request."""
    try:
        return float(cell)
    except ValueError:
        return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        args, cwd=PROJECT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def stop(process: subprocess.Popen | None) -> None:
    """SIGTERM to the process group of one process we started, SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer within {timeout} s; see {log}")


def wait_for_worker(process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    from blinacell_site.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Celery worker exited; see {log}")
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit(f"the Celery worker did not answer within {timeout} s; see {log}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def is_request(name: str) -> bool:
    return not name.startswith("export:")


def report(users: int, prefix: Path, samples_file: Path) -> dict:
    """Print the step's table; return its verdict."""
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] != "Aggregated"]
    raw = json.loads(samples_file.read_text()) if samples_file.exists() else {"samples": {}}
    samples = raw["samples"]
    print(f"\n=== {users} simulated users ({DURATION} s after a {RAMP} s ramp) ===")
    print(
        f"{'request type':34} {'count':>6} {'fail':>5} {'req/s':>6} "
        f"{'p50':>7} {'p95':>7} {'p99':>7}"
    )
    total = failures = 0
    for row in sorted(rows, key=lambda r: r["Name"]):
        name, count, failed = row["Name"], int(row["Request Count"]), int(row["Failure Count"])
        if is_request(name):
            total, failures = total + count, failures + failed
        times = samples.get(name)
        if times:  # exact, from the raw times (Locust's CSV rounds its percentiles)
            p50, p95, p99 = (percentile(times, q) for q in (0.5, 0.95, 0.99))
        else:
            p50, p95, p99 = (_number(row[k]) for k in ("50%", "95%", "99%"))
        print(
            f"{name:34} {count:6d} {failed:5d} {float(row['Requests/s']):6.1f} "
            f"{p50:7.0f} {p95:7.0f} {p99:7.0f}"
        )
    verdict = {"users": users}
    for kind, limit in (("page", PAGE_P95_MS), ("save", SAVE_P95_MS)):
        times = [t for n, ts in samples.items() if n.startswith(f"{kind}:") for t in ts]
        over = sorted(
            r["Name"]
            for r in rows
            if r["Name"].startswith(f"{kind}:")
            and percentile(samples.get(r["Name"]) or [_number(r["95%"], 0.0)], 0.95) > limit
        )
        p95 = percentile(times, 0.95)
        verdict[kind] = (p95, not over and p95 <= limit, over)
        print(
            f"all {kind}s: p50 {percentile(times, 0.5):.0f} ms, p95 {p95:.0f} ms, "
            f"p99 {percentile(times, 0.99):.0f} ms (target p95 <= {limit} ms for every type: "
            f"{'met' if not over and p95 <= limit else 'NOT met: ' + ', '.join(over) or 'overall'})"
        )
    rate = failures / total if total else 0.0
    verdict["errors"] = (rate, rate < ERROR_RATE, total)
    print(
        f"errors: {failures} of {total} requests = {rate:.3%} (target < 0.1 %: "
        f"{'met' if rate < ERROR_RATE else 'NOT met'})"
    )
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        with failures_csv.open(encoding="utf-8") as f:
            for r in list(csv.DictReader(f))[:8]:
                print(f"  failure: {r['Name']}: {r['Error'][:140]} x{r['Occurrences']}")
    return verdict


def run_step(users: int, url: str, fixture: Path, workdir: Path) -> dict:
    prefix = workdir / f"users{users}"
    samples = workdir / f"users{users}-samples.json"
    env = {**os.environ, "LOAD_FIXTURE": str(fixture), "LOAD_SAMPLES": str(samples)}
    rate = max(1.0, users / RAMP)
    log = workdir / f"locust-{users}.log"
    locust = start(
        [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
         "-u", str(users), "-r", f"{rate:g}", "-t", f"{RAMP + DURATION}s", "--host", url,
         "--csv", str(prefix), "--reset-stats", "--only-summary", "--loglevel", "WARNING",
         "--stop-timeout", "10"],
        log, env,
    )  # fmt: skip
    try:
        locust.wait(RAMP + DURATION + 120)
    finally:
        stop(locust)
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"Locust wrote no statistics; see {log}")
    return report(users, prefix, samples)


@contextlib.contextmanager
def servers(workdir: Path, database_url: str):
    """Collect the static files, start gunicorn (WORKERS x THREADS, the settings configure()
    set) and a Celery worker on the private queue against `database_url`; yield the site's URL
    once both answer; stop both afterwards, also on an error or Ctrl-C."""
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)
    env = {**os.environ, "DATABASE_URL": database_url}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    web = worker = None
    try:
        web_log, worker_log = workdir / "gunicorn.log", workdir / "worker.log"
        web = start(
            [sys.executable, "-m", "gunicorn", "blinacell_site.wsgi",
             "-c", "python:blinacell_site.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
             "--pythonpath", str(HERE), "--no-control-socket"],
            web_log, {**env, "WEB_WORKERS": WORKERS, "WEB_THREADS": THREADS},
        )  # fmt: skip
        worker = start(
            [sys.executable, "-m", "celery", "-A", "blinacell_site", "worker", "-l", "warning",
             "--concurrency", "1", "--without-gossip", "--without-mingle",
             "-n", f"load-{os.getpid()}@%h"],
            worker_log, env,
        )  # fmt: skip
        wait_until_up(url, web, web_log)
        wait_for_worker(worker, worker_log)
        print(
            f"gunicorn ({WORKERS} workers x {THREADS} threads) at {url}, a Celery worker on queue "
            f"{os.environ['CELERY_QUEUE']}; logs and CSV files in {workdir}",
            flush=True,
        )
        yield url
    finally:
        stop(web)
        stop(worker)


def main(user_counts: list[int]) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="blinacell-load-"))
    configure(workdir)
    database_url = setup_database()
    fixture = workdir / "fixture.json"
    generate(fixture)
    with servers(workdir, database_url) as url:
        verdicts = [run_step(n, url, fixture, workdir) for n in user_counts]
    print("\n=== Summary (targets: page p95 <= 300 ms, save p95 <= 500 ms, errors < 0.1 %) ===")
    print(f"{'users':>5} {'page p95':>9} {'save p95':>9} {'errors':>8}  verdict")
    for v in verdicts:
        met = v["page"][1] and v["save"][1] and v["errors"][1]
        print(
            f"{v['users']:5d} {v['page'][0]:7.0f}ms {v['save'][0]:7.0f}ms {v['errors'][0]:8.3%}  "
            f"{'targets met' if met else 'targets NOT met'}"
        )


if __name__ == "__main__":
    counts = [int(a) for a in sys.argv[1:]] or [25, 50, 100]
    main(counts)
