"""Every write route's valid POST with each field replaced in turn by each value of the corpus
of its kind (tests/hostile/corpus.py): never a 500, nothing written by a refusal, text stored
exactly when accepted, no NaN or infinity stored, markup never reflected or shown unescaped.

Routes: every case of tests/audit/routes.py (crf, mrd, safety, alerts) and, built here, the
monitoring write routes (queries, SDV, locks, signatures), the export start and the account
forms (login, password change). The MRD upload's file is fuzzed in test_uploads.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from crf.models import Role
from monitoring import sdv
from monitoring.locks import lock_create
from monitoring.models import Lock
from monitoring.queries import query_answer, query_close, query_open
from monitoring.records import record_pointer
from tests.audit.routes import CASES, Submission, World, build_world
from tests.factories import PASSWORD, baseline_for, user_with_role

from .probe import Probe, fuzz

pytestmark = pytest.mark.verifies("UR-ACC-05")

# Cases whose form another case fuzzes in full: a smoke corpus here keeps the suite fast.
SMOKE = {
    "screen_failure",  # enrol
    "baseline_new",  # baseline_edit
    "day11_new",  # day11_edit
    "mrd_result_new",  # mrd_result_edit
    "adverse_event_new",  # adverse_event_edit
    "alert_close",  # alert_acknowledge
    "lock_record",  # lock_subject
    "lock_subject_by_id",  # lock_site
    "sign_record",  # sign_casebook
    "query_reopen",  # query_close
}

# Fields a view legitimately ignores in that case (so accepted text is not stored).
NOT_STORED = {
    "enrol": {"failure_reason"},  # an eligible patient has no screen-failure reason
    "visit_edit": {"notes"},
}


@pytest.fixture
def world(site_a, investigator_a, subject_a):
    return build_world(site_a, investigator_a, subject_a)


def pages_of(world: World) -> list[str]:
    study_id = world.subject.study_id
    return [
        reverse("crf:subject_detail", args=[study_id]),
        reverse("monitoring:subject_audit", args=[study_id]),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("case", [c for c in CASES if c.route not in {"mrd:upload",
                                   "mrd:upload_commit"}], ids=lambda c: c.id)  # fmt: skip
def test_data_route_survives_the_corpus(client, world, case):
    submission = case.arrange(world)
    user = case.writer_user(world)
    client.force_login(user)
    client.raise_request_exception = False
    pages = pages_of(world)
    if case.route == "crf:subject_enrol":
        pages.append(reverse("crf:screening_log"))
    if case.writer == Role.CENTRAL_LAB:
        pages = [reverse("mrd:subject", args=[world.subject.study_id]), *pages]
    probe = Probe(pages=pages, not_stored=frozenset(NOT_STORED.get(case.id, ())))
    problems = fuzz(client, submission, probe, smoke=case.id in SMOKE)
    assert not problems, "\n".join(problems)


# --- Monitoring, exports and accounts ----------------------------------------------------------


@dataclass(frozen=True)
class ExtraCase:
    id: str
    arrange: Callable[[World], tuple[object, Submission]]  # (the user who posts, the POST)
    not_stored: frozenset[str] = frozenset()


def _monitor(w: World):
    return user_with_role(Role.MONITOR, w.site, username="mon.a")


def _data_manager(w: World):
    return user_with_role(Role.DATA_MANAGER, None, username="dm")


def _baseline(w: World):
    return baseline_for(w.subject, by=w.investigator)


def _record_url(name: str, w: World, record) -> str:
    return reverse(name, args=[w.subject.study_id, *record_pointer(record)])


def query_new(w):
    record = _baseline(w)
    data = {"field_name": "weight_kg", "text": "Source says 57 kg: please check."}
    return _monitor(w), Submission(_record_url("monitoring:query_new", w, record), data)


def _query(w, monitor):
    return query_open(record=_baseline(w), field_name="weight_kg", text="check", user=monitor)


def query_answer_(w):
    query = _query(w, _monitor(w))
    url = reverse("monitoring:query_detail", args=[w.subject.study_id, query.pk])
    data = {"action": "answer", "answer-answer": "Checked: 75 kg is right.", "next": url}
    return w.investigator, Submission(url, data)


def query_close_(w):
    monitor = _monitor(w)
    query = _query(w, monitor)
    url = reverse("monitoring:query_detail", args=[w.subject.study_id, query.pk])
    return monitor, Submission(url, {"action": "close", "close-text": "Thank you."})


def query_reopen_(w):
    monitor = _monitor(w)
    query = _query(w, monitor)
    query = query_answer(query=query, text="ok", user=w.investigator)
    query_close(query=query, text="", user=monitor)
    url = reverse("monitoring:query_detail", args=[w.subject.study_id, query.pk])
    return monitor, Submission(url, {"action": "reopen", "reopen-text": "Source disagrees."})


def record_verify(w):
    data = {"scope": "fields", "fields": "weight_kg"}
    return _monitor(w), Submission(_record_url("monitoring:record_verify", w, _baseline(w)), data)


def verification_withdraw(w):
    monitor = _monitor(w)
    mark = sdv.record_verify(record=_baseline(w), user=monitor)
    url = reverse("monitoring:verification_withdraw", args=[w.subject.study_id, mark.pk])
    return monitor, Submission(url, {"reason": "verified the wrong chart"})


def lock_subject(w):
    url = reverse("monitoring:lock_subject", args=[w.subject.study_id])
    return _data_manager(w), Submission(url, {"reason": "interim analysis"})


def lock_record(w):
    url = _record_url("monitoring:lock_form", w, _baseline(w))
    return _data_manager(w), Submission(url, {"reason": "baseline verified"})


def lock_site(w):
    data = {"level": "site", "site-site": str(w.site.pk), "site-reason": "interim analysis"}
    return _data_manager(w), Submission(reverse("monitoring:locks"), data)


def lock_subject_by_id(w):
    data = {"level": "subject", "subject-study_id": "1-01", "subject-reason": "interim"}
    return _data_manager(w), Submission(reverse("monitoring:locks"), data)


def unlock(w):
    manager = _data_manager(w)
    lock = lock_create(level=Lock.Level.SUBJECT, subject=w.subject, reason="x", user=manager)
    url = reverse("monitoring:unlock", args=[lock.pk])
    return manager, Submission(url, {"reason": "analysis done"})


def _pi(w):
    return user_with_role(Role.INVESTIGATOR, w.site, principal_investigator=True, username="pi")


def sign_casebook(w):
    _baseline(w)
    url = reverse("monitoring:sign_casebook", args=[w.subject.study_id])
    return _pi(w), Submission(url, {"password": PASSWORD})


def sign_record(w):
    url = _record_url("monitoring:sign_form", w, _baseline(w))
    return _pi(w), Submission(url, {"password": PASSWORD})


def export_start(w):
    return _data_manager(w), Submission(reverse("exports:start"), {"format": "csv"})


def login(w):
    data = {"username": w.investigator.username, "password": PASSWORD}
    return None, Submission(reverse("accounts:login"), data)


def password_change(w):
    data = {
        "old_password": PASSWORD,
        "new_password1": "a-new-long-passphrase-42",
        "new_password2": "a-new-long-passphrase-42",
    }
    return w.investigator, Submission(reverse("accounts:password_change"), data)


_SECRET = frozenset({"password", "old_password", "new_password1", "new_password2"})
EXTRA_CASES = [
    ExtraCase("query_new", query_new),
    ExtraCase("query_answer", query_answer_, frozenset({"next"})),
    ExtraCase("query_close", query_close_),
    ExtraCase("query_reopen", query_reopen_),
    ExtraCase("record_verify", record_verify),
    ExtraCase("verification_withdraw", verification_withdraw),
    ExtraCase("lock_subject", lock_subject),
    ExtraCase("lock_record", lock_record),
    ExtraCase("lock_site", lock_site),
    ExtraCase("lock_subject_by_id", lock_subject_by_id),
    ExtraCase("unlock", unlock),
    ExtraCase("sign_casebook", sign_casebook, _SECRET),
    ExtraCase("sign_record", sign_record, _SECRET),
    ExtraCase("export_start", export_start),
    ExtraCase("login", login, _SECRET | {"username"}),
    ExtraCase("password_change", password_change, _SECRET),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", EXTRA_CASES, ids=lambda c: c.id)
def test_monitoring_export_and_account_route_survives_the_corpus(client, world, case):
    user, submission = case.arrange(world)
    if user is not None:
        client.force_login(user)
    client.raise_request_exception = False
    probe = Probe(
        pages=pages_of(world) if user is not None else [],
        not_stored=case.not_stored,
        before_each=(lambda: client.force_login(user)) if user is not None else client.logout,
    )
    problems = fuzz(client, submission, probe, smoke=case.id in SMOKE, secrets=_SECRET)
    assert not problems, "\n".join(problems)
