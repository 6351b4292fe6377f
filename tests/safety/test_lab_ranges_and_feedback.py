"""Labs as clinicians type them: each site's reference ranges set by its data manager (audited)
prefill the panel; an LLN of 0 is a lower limit; "12,4" is 12.4; every input of the panel is
named for a screen reader; and the page says at once when a value just saved raised an alert."""

import html
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from alerts.models import Alert
from crf.models import Role
from safety.models import LabValue, SiteLabRange
from tests.factories import day11_for, infusion_started_for, user_with_role

pytestmark = pytest.mark.verifies("UR-LAB-01")


@pytest.fixture
def data_manager(site_a):
    return user_with_role(Role.DATA_MANAGER, site_a, username="dm.a")


def _ranges_url(site):
    return reverse("safety:lab_ranges_site", args=[site.number])


def _ranges_post(**changes):
    """The ranges page as loaded (nothing set) with `changes` typed in."""
    from protocol import ctcae

    data = {f"{test}_unit": ctcae.STANDARD_UNIT[test] for test in ctcae.LabTest}
    data.update(changes)
    return data


def _panel_post(client, subject, **values):
    data = {"sampled_at": "2026-03-15T08:00", "local_lab": "IHBT"}
    data.update(values)
    return client.post(reverse("safety:labs", args=[subject.study_id]), data)


# --- The site's reference ranges ------------------------------------------------------------


@pytest.mark.verifies("UR-AUD-01")
@pytest.mark.django_db
def test_data_manager_sets_a_range_and_the_change_is_audited_with_its_reason(
    client, site_a, data_manager
):
    client.force_login(data_manager)
    page = client.get(_ranges_url(site_a)).content.decode()
    assert "Laboratory reference ranges of site 1" in page
    response = client.post(
        _ranges_url(site_a),
        _ranges_post(alt_lln="0", alt_uln="40", reason_for_change="IHBT ranges 2026"),
    )
    assert response.status_code == 302
    alt = SiteLabRange.objects.get(site=site_a, test="alt")
    assert (alt.unit, alt.lln, alt.uln) == ("U/L", Decimal(0), Decimal(40))
    assert SiteLabRange.objects.count() == 1  # the tests left empty are not stored
    history = alt.history.get()
    assert (history.history_user, history.history_change_reason) == (
        data_manager,
        "IHBT ranges 2026",
    )

    client.post(
        _ranges_url(site_a),
        _ranges_post(
            alt_lln="0",
            alt_uln="45",
            alt_version="1",
            reason_for_change="new analyser",
        ),
    )
    alt.refresh_from_db()
    assert (alt.uln, alt.version) == (Decimal(45), 2)
    assert alt.history.first().history_change_reason == "new analyser"
    page = client.get(_ranges_url(site_a)).content.decode()
    assert "new analyser" in page and "IHBT ranges 2026" in page


@pytest.mark.verifies("UR-REC-02")
@pytest.mark.django_db
def test_ranges_and_values_read_as_written_without_column_zeros(
    client, site_a, subject_a, data_manager, investigator_a
):
    client.force_login(data_manager)
    client.post(
        _ranges_url(site_a),
        _ranges_post(potassium_lln="3,5", potassium_uln="5.1", reason_for_change="IHBT"),
    )
    page = client.get(_ranges_url(site_a)).content.decode()
    assert "<td>3.5</td><td>5.1</td>" in page and "3.5000" not in page
    client.force_login(investigator_a)
    _panel_post(client, subject_a, potassium_value="4,25", potassium_unit="mmol/L",
                potassium_lln="3.5", potassium_uln="5.1")  # fmt: skip
    labs = client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    assert "4.25 mmol/L" in labs and "3.5–5.1" in labs and "4.2500" not in labs


@pytest.mark.verifies("UR-REC-02")
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        (
            {"alt_lln": "50", "alt_uln": "40"},
            "alt_lln",
            "ALT: The LLN 50 must be below the ULN 40.",
        ),
        ({"alt_uln": "0"}, "alt_uln", "ALT: The ULN 0 must be above zero."),
        ({"alt_uln": "4o"}, "alt_uln", 'ALT ULN: "4o" is not a number.'),
        ({"alt_uln": "40"}, "reason_for_change", "Give the reason for the change"),
    ],
)
def test_bad_ranges_are_refused_under_their_column_and_nothing_is_saved(
    client, site_a, data_manager, changes, column, message
):
    client.force_login(data_manager)
    data = _ranges_post(**changes)
    if column != "reason_for_change":
        data["reason_for_change"] = "IHBT ranges 2026"
    response = client.post(_ranges_url(site_a), data)
    assert response.status_code == 200
    errors = response.context["form"].errors[column]
    assert any(message in error for error in errors), errors
    assert not SiteLabRange.objects.exists()


@pytest.mark.verifies("UR-ACC-02")
@pytest.mark.django_db
def test_an_investigator_cannot_set_ranges(client, site_a, investigator_a):
    client.force_login(investigator_a)
    assert client.get(reverse("safety:lab_ranges")).status_code == 403
    response = client.post(
        _ranges_url(site_a), _ranges_post(alt_uln="40", reason_for_change="mine")
    )
    assert response.status_code == 403
    assert not SiteLabRange.objects.exists()


@pytest.mark.verifies("UR-ACC-01")
@pytest.mark.django_db
def test_a_data_manager_sets_only_the_ranges_of_their_sites(client, site_a, site_b, data_manager):
    client.force_login(data_manager)
    assert client.get(_ranges_url(site_b)).status_code == 404
    # one site: the list goes straight to it
    assert client.get(reverse("safety:lab_ranges"))["Location"] == _ranges_url(site_a)


@pytest.mark.django_db
def test_the_locks_page_and_the_lab_page_link_the_ranges_for_the_data_manager(
    client, site_a, subject_a, data_manager, investigator_a
):
    client.force_login(data_manager)
    url = _ranges_url(site_a)
    assert reverse("safety:lab_ranges") in client.get(reverse("monitoring:locks")).content.decode()
    assert url in client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    client.force_login(investigator_a)
    page = client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    assert url not in page


# --- The panel: prefilled, typed as text, named -----------------------------------------------


@pytest.mark.django_db
def test_the_panel_is_prefilled_with_the_site_ranges(client, site_a, subject_a, data_manager,
                                                      investigator_a):  # fmt: skip
    client.force_login(data_manager)
    client.post(
        _ranges_url(site_a),
        _ranges_post(
            alt_unit="µkat/L", alt_lln="0", alt_uln="0,6", reason_for_change="IHBT ranges"
        ),
    )
    client.force_login(investigator_a)
    page = client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    fields = _Fields.of(page)
    assert fields.value("alt_lln") == "0"
    assert fields.value("alt_uln") == "0.6"
    assert fields.selected("alt_unit") == "µkat/L"


@pytest.mark.verifies("UR-REC-02")
@pytest.mark.django_db
def test_an_lln_of_0_is_accepted_and_a_comma_is_a_decimal_point(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = _panel_post(
        client, subject_a, alt_value="12,4", alt_unit="U/L", alt_lln="0", alt_uln="40"
    )
    assert response.status_code == 302
    value = LabValue.objects.get()
    assert (value.value, value.lln, value.uln, value.grade) == (
        Decimal("12.4"),
        Decimal(0),
        Decimal(40),
        0,
    )


@pytest.mark.django_db
def test_an_lln_message_shows_under_the_lln_column(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = _panel_post(
        client, subject_a, alt_value="50", alt_unit="U/L", alt_lln="45", alt_uln="40"
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["alt_lln"] == ["ALT: The LLN 45 must be below the ULN 40."]
    assert "alt_uln" not in form.errors
    assert not LabValue.objects.exists()


@pytest.mark.verifies("UR-REC-02")
@pytest.mark.django_db
def test_text_that_is_not_a_number_is_refused_naming_the_test(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    response = _panel_post(client, subject_a, alt_value="12,4,1", alt_unit="U/L", alt_uln="40")
    assert 'ALT value: "12,4,1" is not a number' in html.unescape(response.content.decode())
    assert not LabValue.objects.exists()


@pytest.mark.verifies("UR-OPS-03")
@pytest.mark.django_db
def test_every_input_and_select_of_the_panel_is_named(client, subject_a, investigator_a):
    client.force_login(investigator_a)
    page = client.get(reverse("safety:labs", args=[subject_a.study_id])).content.decode()
    fields = _Fields.of(page)
    controls = [c for c in fields.controls if c["type"] not in {"hidden", "submit"}]
    assert len(controls) == 2 + 14 * 4  # sampled, laboratory, and 14 tests x 4 columns
    unnamed = [c["name"] for c in controls if not fields.accessible_name(c)]
    assert unnamed == []
    names = {c["name"]: fields.accessible_name(c) for c in controls}
    assert names["alt_value"] == "ALT value"
    assert names["alt_unit"] == "ALT unit"
    assert names["alt_lln"] == "ALT LLN"
    assert names["platelets_uln"] == "Platelets ULN"
    # numbers are text with the decimal keyboard: a number input would drop "12,4"
    value = next(c for c in controls if c["name"] == "alt_value")
    assert (value["type"], value.get("inputmode")) == ("text", "decimal")
    # the panel stays a table: a row per test, its name as the row header
    assert page.count('<th scope="row">') >= 14


# --- What the saved values raised -----------------------------------------------------------


@pytest.mark.verifies("UR-ALR-01", "AL-HEP", "TX-HEP")
@pytest.mark.django_db
def test_a_grade_3_alt_during_the_infusion_says_at_once_which_alert_it_raised(
    client, subject_a, investigator_a
):
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)  # study day 12, 09:00
    client.force_login(investigator_a)
    response = _panel_post(client, subject_a, alt_value="201", alt_unit="U/L", alt_uln="40")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    alert = Alert.objects.get(rule="AL-HEP")
    value = LabValue.objects.get()
    assert alert.record == f"lab:{value.pk}"
    notice = page[page.index('id="saved-panel"') :]
    notice = notice[: notice.index("</div>")]
    assert "ALT 201 U/L</strong> is grade 3" in notice
    assert (
        f'alert <a href="{reverse("alerts:detail", args=[alert.pk])}">AL-HEP</a> raised' in notice
    )
    assert "during the blinatumomab infusion" in notice and "interrupt blinatumomab" in notice
    assert "Interrupt" in notice  # the action the alert asks for, linked


@pytest.mark.verifies("AL-HEP")
@pytest.mark.django_db
def test_a_normal_panel_says_it_raised_no_alert(client, subject_a, investigator_a):
    day11_for(subject_a, by=investigator_a)
    infusion_started_for(subject_a, by=investigator_a)
    client.force_login(investigator_a)
    response = _panel_post(client, subject_a, alt_value="30", alt_unit="U/L", alt_uln="40")
    page = client.get(response["Location"]).content.decode()
    assert "No value of this panel raised a protocol alert." in page
    assert not Alert.objects.filter(rule="AL-HEP").exists()


# --- Reading the page's controls as a screen reader would --------------------------------------


class _Fields(HTMLParser):
    """The inputs and selects of a page with their labels (by `for`) and aria-labels."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.labels: dict[str, str] = {}
        self._label_for = None
        self._label_text = []
        self._select = None

    @classmethod
    def of(cls, html: str) -> "_Fields":
        parser = cls()
        parser.feed(html)
        return parser

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "input":
            self.controls.append({**attrs, "type": attrs.get("type", "text"), "tag": tag})
        elif tag == "select":
            self._select = {**attrs, "type": "select", "tag": tag, "selected": ""}
            self.controls.append(self._select)
        elif tag == "textarea":
            self.controls.append({**attrs, "type": "textarea", "tag": tag})
        elif tag == "option" and self._select is not None and "selected" in attrs:
            self._select["selected"] = attrs.get("value", "")
        elif tag == "label":
            self._label_for, self._label_text = attrs.get("for"), []

    def handle_endtag(self, tag):
        if tag == "label" and self._label_for:
            self.labels[self._label_for] = " ".join("".join(self._label_text).split())
            self._label_for = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._label_for:
            self._label_text.append(data)

    def accessible_name(self, control) -> str:
        return control.get("aria-label") or self.labels.get(control.get("id", ""), "").rstrip("*")

    def _control(self, name):
        return next(c for c in self.controls if c.get("name") == name)

    def value(self, name) -> str:
        return self._control(name).get("value", "")

    def selected(self, name) -> str:
        return self._control(name)["selected"]


@pytest.mark.django_db
def test_the_demo_sites_have_plausible_ranges_in_the_protocols_units(client):
    from django.core.management import call_command

    from crf.models import Site, Subject
    from protocol import ctcae

    call_command("load_demo_study", password="demo-password-1234", force=True)
    for site in Site.objects.all():
        ranges = {r.test: r for r in SiteLabRange.objects.filter(site=site)}
        assert set(ranges) == {test.value for test in ctcae.LabTest}
        for test, stored in ranges.items():
            assert stored.unit == ctcae.STANDARD_UNIT[ctcae.LabTest(test)]
            ctcae.reference_range_check(stored.lln, stored.uln)
    alt = SiteLabRange.objects.get(site__number=1, test="alt")
    assert (alt.unit, alt.lln, alt.uln) == ("U/L", Decimal(0), Decimal(40))
    count = SiteLabRange.objects.count()
    call_command("load_demo_study", password="demo-password-1234", force=True)
    assert SiteLabRange.objects.count() == count  # a second run changes nothing
    subject = Subject.objects.filter(site__number=1).first()
    client.force_login(subject.site.memberships.filter(role=Role.INVESTIGATOR).first().user)
    page = client.get(reverse("safety:labs", args=[subject.study_id])).content.decode()
    assert _Fields.of(page).value("alt_uln") == "40"
