"""No link leads a user to a page they may not open: for each role, on the demo study, every
page reachable by links from the start page (and every alert of the role, every kind of record
on the review page) is opened with the role's login, and every link within the site must answer
(not 403, 404 or 500)."""

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse

from alerts.services import alerts_for, all_subjects_evaluate
from tests.factories import baseline_for, enrol, lab_panel_for

pytestmark = [pytest.mark.django_db, pytest.mark.verifies("UR-ACC-02")]

# Not pages (files, downloads, logging out, the Django admin).
SKIPPED = re.compile(
    r"^/(static|admin|media)/|/accounts/logout/|/keepalive/|/download/|\.(csv|json|png|svg|zip|xml)$"
)
ROLES = ["investigator.prague", "centrallab", "monitor", "datamanager", "sponsor"]
SEES_SUBJECTS = {"investigator.prague", "centrallab", "monitor", "datamanager"}
FULL_STORY = "/subjects/1-01/"  # the demo's subject with every kind of record
MAX_PAGES = 150
BROKEN = {403, 404, 500}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _links(html: str, page: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    paths = []
    for href in parser.hrefs:
        parts = urlsplit(urljoin(f"http://testserver{page}", href))
        if parts.scheme in ("http", "https") and parts.netloc == "testserver":
            if not SKIPPED.search(parts.path):
                paths.append(parts.path)
    return paths


def _shape(path: str) -> str:
    """One visit per kind of page: identifiers replaced, but the record review page kept per
    kind of record (each links to a different page) and every alert kept (each rule links to
    its own triggering record and actions)."""
    path = re.sub(r"^/mrd/samples/[^/]+/[^/]+/", "/mrd/samples/A/M/", path)
    path = re.sub(r"/subjects/\d+-\d+/", "/subjects/S/", path)
    review = re.match(r"^(/subjects/S/records/\d+/)\d+(/review/)$", path)
    if review:
        return f"{review.group(1)}N{review.group(2)}"
    if re.match(r"^/alerts/\d+/$", path):
        return path
    return re.sub(r"/\d+(?=/)", "/N", path)


@pytest.fixture
def demo_study(db):
    call_command(
        "load_demo_study", "--password", "demo-study-password-2026", "--force", verbosity=0
    )
    all_subjects_evaluate()  # the alerts a worker would raise


def _crawl(client, start: list[str]) -> tuple[set[str], list[str]]:
    """Opens every kind of page reachable from `start` (bounded); returns the kinds visited and
    the links that answer 403/404/500, with the page that offered them."""
    visited: set[str] = set()
    dead: list[str] = []
    queue = [(path, "start") for path in start]
    while queue and len(visited) < MAX_PAGES:
        path, linked_from = queue.pop(0)
        shape = _shape(path)
        if shape in visited:
            continue
        response = client.get(path, follow=True)
        visited.add(shape)
        if response.status_code in BROKEN:
            dead.append(f"{path} answers {response.status_code} (linked from {linked_from})")
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = response.redirect_chain[-1][0] if response.redirect_chain else path
        queue.extend((p, path) for p in _links(response.content.decode(), urlsplit(page).path))
    return visited, dead


@pytest.mark.parametrize("username", ROLES)
def test_no_link_answers_403_404_or_500(client, demo_study, username):
    user = get_user_model().objects.get(username=username)
    client.force_login(user)
    start = ["/"]
    if username in SEES_SUBJECTS:
        start.append(FULL_STORY)
    start += [f"/alerts/{pk}/" for pk in alerts_for(user).values_list("pk", flat=True)]
    visited, dead = _crawl(client, start)
    assert len(visited) > 3, visited
    assert not dead, f"{username}: dead links\n" + "\n".join(dead)


def _alert_for_lab_value(subject, by):
    from django.utils import timezone

    from alerts import services
    from alerts.models import Alert
    from protocol import rules
    from safety.models import LabValue

    lab_panel_for(subject, by=by)
    value = LabValue.objects.get(panel__subject=subject)
    definition = rules.ALERT_RULES["AL-HEP"]
    key = f"lab:{value.pk}"
    finding = rules.Finding(
        "AL-HEP", definition.severity, "ALT grade 3", key, definition.actors,
        definition.clears_when, "AL-HEP",
    )  # fmt: skip
    services._reconcile(subject, [finding], [], timezone.now())
    return Alert.objects.get(subject=subject, rule="AL-HEP", record=key), value


def _trigger_href(html: str) -> str | None:
    found = re.search(r'id="alert-trigger"><a href="([^"]+)"', html)
    return found.group(1) if found else None


def test_the_alert_links_its_record_where_each_role_reads_it(client, site_a, investigator_a):
    """The monitor reads the triggering lab value on its review page (the lab value's form is
    the investigator's); the investigator is linked to the form. Both links open."""
    from crf.models import Role
    from tests.factories import user_with_role

    subject = enrol(site_a, by=investigator_a)
    alert, value = _alert_for_lab_value(subject, investigator_a)
    monitor = user_with_role(Role.MONITOR, site_a, username="mon.a")
    hrefs = {}
    for user in (investigator_a, monitor):
        client.force_login(user)
        page = client.get(reverse("alerts:detail", args=[alert.pk]))
        assert page.status_code == 200
        hrefs[user.username] = _trigger_href(page.content.decode())
        assert hrefs[user.username], "the triggering record is linked"
        assert client.get(hrefs[user.username]).status_code == 200
    assert hrefs[investigator_a.username] == reverse(
        "safety:lab_value", args=[subject.study_id, value.pk]
    )
    assert hrefs["mon.a"].endswith(f"/{value.pk}/review/")


def test_the_review_page_links_the_form_only_to_who_may_open_it(client, site_a, investigator_a):
    from crf.models import Role
    from tests.factories import user_with_role

    subject = enrol(site_a, by=investigator_a)
    baseline = baseline_for(subject, by=investigator_a)
    form = reverse("crf:record_edit", args=[subject.study_id, "baseline", baseline.pk])
    ct = ContentType.objects.get_for_model(type(baseline)).pk
    review = reverse("monitoring:record_review", args=[subject.study_id, ct, baseline.pk])
    for role, linked in ((None, True), (Role.MONITOR, False), (Role.DATA_MANAGER, False)):
        user = investigator_a if role is None else user_with_role(role, site_a)
        client.force_login(user)
        page = client.get(review).content.decode()
        assert (f'href="{form}"' in page) == linked, role


def test_the_sponsors_alert_pages_link_no_subject_page(client, site_a, investigator_a):
    """The sponsor sees no subject pages: its alerts name the subject and the triggering
    record without linking them; every link the pages offer opens."""
    from django.utils import timezone

    from alerts import services
    from alerts.models import Alert
    from crf.models import Role
    from protocol import rules
    from tests.factories import serious_ae_for, user_with_role

    subject = enrol(site_a, by=investigator_a)
    event = serious_ae_for(subject, by=investigator_a)
    definition = rules.ALERT_RULES["AL-SAE-CLOCK"]
    finding = rules.Finding(
        "AL-SAE-CLOCK", definition.severity, "SAE report due", f"ae:{event.pk}",
        definition.actors, definition.clears_when, "AL-SAE-CLOCK",
    )  # fmt: skip
    services._reconcile(subject, [finding], [], timezone.now())
    alert = Alert.objects.get(subject=subject, rule="AL-SAE-CLOCK")
    sponsor = user_with_role(Role.SPONSOR, None, username="sponsor")
    client.force_login(sponsor)
    for page in (reverse("alerts:inbox"), reverse("alerts:detail", args=[alert.pk])):
        response = client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assert subject.study_id in html  # named ...
        assert f'href="{subject.get_absolute_url()}"' not in html  # ... not linked
        for link in set(_links(html, page)):
            assert client.get(link, follow=True).status_code not in BROKEN, (page, link)
    detail = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert _trigger_href(detail) is None
