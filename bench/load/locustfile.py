"""The trial's real mix, for Locust (run by bench/load/run.py; see its docstring).

Investigators browse their site's subjects, open casebooks, labs, adverse events and MRD pages,
and correct a visit's notes or a baseline weight (reading the optimistic-lock `version` from
the form page, with a reason for change); the central laboratory reads its worklist and uploads
small CSV files of results (preview, then commit); monitors read the audit trails, the query
list and the SDV pages; the sponsor reads the reports and, rarely, runs an export and polls it.

Requests are named by type: "page: ..." (a GET of a page), "save: ..." (a POST that writes),
"auth: login". LOAD_FIXTURE names the JSON file run.py writes (users, study IDs, samples);
LOAD_SAMPLES, if set, is where every response time after the ramp is written, for exact
percentiles per request class.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import html
import io
import itertools
import json
import os
import random
import re
import time
from html.parser import HTMLParser

from locust import HttpUser, between, events, task

FIXTURE = json.loads(open(os.environ["LOAD_FIXTURE"], encoding="utf-8").read())  # noqa: SIM115
PASSWORD = FIXTURE["password"]
_think = [float(x) for x in os.environ.get("LOAD_THINK", "2,6").split(",")]
THINK = between(_think[0], _think[1])

# --- Raw response times after the ramp (exact percentiles per class in run.py) ---------------
_samples: dict[str, list[float]] = {}
_failures: dict[str, int] = {}
_recording = {"on": False}


@events.spawning_complete.add_listener
def _start_recording(user_count, **_):
    _samples.clear()
    _failures.clear()
    _recording["on"] = True


@events.request.add_listener
def _record(name, response_time, exception, **_):
    if not _recording["on"]:
        return
    _samples.setdefault(name, []).append(response_time)
    if exception is not None:
        _failures[name] = _failures.get(name, 0) + 1


@events.quitting.add_listener
def _dump(environment, **_):
    path = os.environ.get("LOAD_SAMPLES")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"samples": _samples, "failures": _failures}, out)


# --- HTML forms ---------------------------------------------------------------------------
class _Forms(HTMLParser):
    """Every <form> of a page with the values a browser would submit (submit buttons aside)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["fields"].append(
                [a["name"], a.get("value", "on" if kind == "checkbox" else "")]
            )
        elif tag == "select" and a.get("name"):
            self._select, self._select_value, self._select_first = a["name"], None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            value = self._select_value if self._select_value is not None else self._select_first
            self._form["fields"].append([self._select, value or ""])
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["fields"].append([self._textarea, "".join(self._text).lstrip("\n")])
            self._textarea = None
        elif tag == "form":
            self._form = None


def form_with(html: str, field: str) -> dict | None:
    """The page's form that has `field`, as {name: value} (last value of a repeated name)."""
    parser = _Forms()
    parser.feed(html)
    for form in parser.forms:
        names = [name for name, _ in form["fields"]]
        if field in names:
            return dict(form["fields"])
    return None


def pick(values: list):
    return values[random.randrange(len(values))]  # noqa: S311 - load generation


class _Role(HttpUser):
    abstract = True
    wait_time = THINK
    usernames: list[str] = []

    def on_start(self):
        self.username = pick(self.usernames)
        self.login()

    def login(self):
        page = self.client.get("/accounts/login/", name="page: login")
        form = form_with(page.text, "username") or {}
        form.update(username=self.username, password=PASSWORD)
        with self.client.post(
            "/accounts/login/", data=form, name="auth: login", allow_redirects=False,
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 302:
                response.failure(f"login refused ({response.status_code})")
        self.client.get("/", name="page: home")

    def page(self, url: str, name: str, **kwargs):
        with self.client.get(url, name=name, catch_response=True, **kwargs) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif "/accounts/login/" in response.url:
                response.failure("sent to the login page")
            return response

    def save(self, url: str, data: dict, name: str, *, expect: str = "", **kwargs):
        """POST; success is a redirect (to `expect`, if given). A form shown again is a failure
        with its first error."""
        with self.client.post(
            url, data=data, name=name, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code == 302 and expect in location:
                return response
            if response.status_code == 200:
                found = re.search(r'class="[^"]*(?:invalid-feedback|alert-danger|errorlist)[^"]*"'
                                  r'[^>]*>(.*?)</', response.text, re.S)  # fmt: skip
                message = re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else "?"
                response.failure(f"form shown again: {message[:120]}")
            else:
                response.failure(f"HTTP {response.status_code} {location}")
            return response


class Investigator(_Role):
    """A site investigator: browses the site's subjects and corrects visit and baseline data."""

    weight = 10
    usernames = FIXTURE["users"]["investigator"]

    def on_start(self):
        super().on_start()
        site = self.username.split(".")[1].removeprefix("inv")
        self.subjects = FIXTURE["subjects"][site]

    @task(3)
    def subject_list(self):
        pages = max(1, len(self.subjects) // 25)
        self.page(f"/subjects/?page={random.randint(1, pages)}", "page: subject list")  # noqa: S311

    def casebook(self) -> tuple[str, str]:
        study_id = pick(self.subjects)
        return study_id, self.page(f"/subjects/{study_id}/", "page: casebook").text

    @task(4)
    def open_casebook(self):
        self.casebook()

    @task(2)
    def correct_visit(self):
        study_id, page = self.casebook()
        visits = re.findall(rf"/subjects/{re.escape(study_id)}/records/visit/(\d+)/", page)
        if visits:
            url = f"/subjects/{study_id}/records/visit/{pick(visits)}/"
            self._correct(url, "visit", notes=f"seen at {time.strftime('%H:%M:%S')} (load)")

    @task(1)
    def correct_baseline(self):
        study_id, page = self.casebook()
        found = re.search(rf"/subjects/{re.escape(study_id)}/records/baseline/(\d+)/", page)
        if found:
            url = f"/subjects/{study_id}/records/baseline/{found.group(1)}/"
            self._correct(url, "baseline", weight_kg=pick(["70.0", "70.5", "71.0", "71.5"]))

    def _correct(self, url: str, kind: str, **values):
        form = form_with(self.page(url, "page: record form").text, "version")
        if form is None:
            return
        if all(_same(form.get(k), v) for k, v in values.items()):
            return  # already so: nothing to change
        if form.get("actual_date", "") > datetime.date.today().isoformat():
            return  # a generated visit dated ahead: the form rightly refuses it until corrected
        form.update(values, reason_for_change="transcription error corrected (load test)")
        response = self.save(url, form, f"save: {kind}", expect="/subjects/")
        if response.status_code == 200 and 'name="confirm_warnings"' in response.text:
            again = form_with(response.text, "version") or form
            again.update(confirm_warnings="on")
            self.save(url, again, f"save: {kind}", expect="/subjects/")

    @task(2)
    def labs(self):
        self.page(f"/subjects/{pick(self.subjects)}/labs/", "page: labs")

    @task(2)
    def adverse_events(self):
        self.page(f"/subjects/{pick(self.subjects)}/adverse-events/", "page: adverse events")

    @task(1)
    def mrd(self):
        self.page(f"/subjects/{pick(self.subjects)}/mrd/", "page: subject MRD")


def _same(shown, value: str) -> bool:
    """Whether the form already holds `value`: numbers as numbers (the form shows a stored 70.0
    as "70", and saving "70.0" over it changes nothing, which the form rightly refuses)."""
    try:
        return decimal.Decimal(str(shown).replace(",", ".")) == decimal.Decimal(value)
    except decimal.InvalidOperation:
        return str(shown) == value


_lab_numbers = itertools.count()


class CentralLab(_Role):
    """The central MRD laboratory: its worklist and small CSV uploads of results (corrections
    of stored results, each with its reason), preview then commit."""

    weight = 2
    usernames = FIXTURE["users"]["central_lab"]
    COLUMNS = (
        "accession method result value sensitivity quantitative_range markers report_date "
        "not_evaluable_reason comment reason_for_change"
    ).split()

    def on_start(self):
        super().on_start()
        # Each simulated laboratory user corrects its own share of the samples (no two users
        # committing the same result at the same moment).
        number = next(_lab_numbers)
        samples = FIXTURE["samples"]
        self.samples = [s for k, s in enumerate(samples) if k % 16 == number % 16]

    @task(3)
    def worklist(self):
        self.page("/mrd/worklist/", "page: MRD worklist")

    @task(1)
    def upload(self):
        page = self.page("/mrd/upload/", "page: MRD upload")
        token = (form_with(page.text, "csrfmiddlewaretoken") or {}).get("csrfmiddlewaretoken", "")
        today = datetime.date.today().isoformat()
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.COLUMNS, lineterminator="\n")
        writer.writeheader()
        for accession in random.sample(self.samples, min(5, len(self.samples))):
            writer.writerow({
                "accession": accession, "method": "qpcr", "result": "negative", "value": "",
                "sensitivity": pick(["1E-5", "5E-6", "1E-6"]), "quantitative_range": "",
                "markers": "IGH", "report_date": today,
                "reason_for_change": "sensitivity re-assessed (load test)",
            })  # fmt: skip
        name = f"load-{self.username}-{time.time_ns()}.csv"
        response = self.save(
            "/mrd/upload/", {"csrfmiddlewaretoken": token}, "save: MRD upload",
            expect="/mrd/upload/", files={"file": (name, out.getvalue().encode(), "text/csv")},
        )  # fmt: skip
        preview_url = response.headers.get("Location", "")
        if response.status_code != 302 or not preview_url:
            return
        commit_url = f"{preview_url.rstrip('/')}/commit/"
        with self.client.get(
            preview_url, name="page: MRD upload preview", catch_response=True
        ) as preview:
            if preview.status_code != 200 or commit_url not in preview.text:
                preview.failure("the file has errors: nothing to commit")
                return
        commit = form_with(preview.text, "csrfmiddlewaretoken") or {}
        self.save(commit_url, commit, "save: MRD upload commit",
                  expect="/mrd/upload/")  # fmt: skip


# The audit trail's link to its next older page (templates/monitoring/_trail_pages.html).
_OLDER = re.compile(r'<a class="page-link" rel="next" href="([^"]+)">Older')


class Monitor(_Role):
    """A monitor of all four sites: audit trails, queries and source data verification."""

    weight = 3
    usernames = FIXTURE["users"]["monitor"]

    trail_older = ""  # the study trail's next older page, as its "Older" link names it
    trail_depth = 0

    @task(2)
    def study_audit(self):
        """The study trail read back from the newest page, one page a time, five at most."""
        if self.trail_depth >= 5:
            self.trail_older, self.trail_depth = "", 0
        response = self.page(f"/audit-trail/{self.trail_older}", "page: audit trail (study)")
        found = _OLDER.search(response.text or "")
        self.trail_older = html.unescape(found.group(1)) if found else ""
        self.trail_depth = self.trail_depth + 1 if found else 0

    @task(3)
    def subject_audit(self):
        site = pick(list(FIXTURE["subjects"]))
        study_id = pick(FIXTURE["subjects"][site])
        self.page(f"/subjects/{study_id}/audit-trail/", "page: audit trail (subject)")

    @task(2)
    def queries(self):
        self.page("/queries/", "page: queries")

    @task(2)
    def sdv(self):
        self.page("/sdv/", "page: SDV overview")

    @task(1)
    def sdv_changed(self):
        self.page("/sdv/changed/", "page: SDV changed")


class DataManager(_Role):
    """The data manager: locks, queries and the export list."""

    weight = 1
    usernames = FIXTURE["users"]["data_manager"]

    @task
    def locks(self):
        self.page("/locks/", "page: locks")

    @task
    def queries(self):
        self.page("/queries/", "page: queries")

    @task
    def exports(self):
        self.page("/exports/", "page: exports")


_last_export = {"at": 0.0}


class Sponsor(_Role):
    """The sponsor: reports, and now and then a study export, polled until complete."""

    weight = 1
    usernames = FIXTURE["users"]["sponsor"]
    EXPORT_EVERY = float(os.environ.get("LOAD_EXPORT_EVERY", "60"))

    @task(5)
    def reports(self):
        self.page("/reports/", "page: reports")

    @task(2)
    def exports(self):
        self.page("/exports/", "page: exports")

    @task(1)
    def export(self):
        if time.monotonic() - _last_export["at"] < self.EXPORT_EVERY:
            return  # rarely: one export a minute at most across all sponsor users
        _last_export["at"] = time.monotonic()
        page = self.page("/exports/", "page: exports")
        form = form_with(page.text, "csrfmiddlewaretoken") or {}
        form["format"] = "csv"
        response = self.save("/exports/start/", form, "save: export start", expect="/exports/")
        detail = response.headers.get("Location", "")
        if response.status_code != 302:
            return
        started = time.monotonic()
        problem = RuntimeError("not complete within 300 s")
        while time.monotonic() - started < 300:
            time.sleep(2)  # the page refreshes itself every 2 s
            text = self.page(detail, "page: export status").text
            if 'id="export-status">Complete' in text:
                problem = None
                break
            if 'id="export-status">Failed' in text:
                problem = RuntimeError("export failed")
                break
        # Not a request: the time from the start to the complete file, reported beside them.
        events.request.fire(
            request_type="EXPORT", name="export: start to complete", response_length=0,
            response_time=(time.monotonic() - started) * 1000, exception=problem, context={},
        )  # fmt: skip
