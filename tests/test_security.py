"""Hardening: `check --deploy` is clean in production, every response carries the security
headers and a Content-Security-Policy without inline script or style, and no template or code
puts a script, an event handler, a javascript: URL or an inline style into a page."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from matplotlib.figure import Figure

from exports import report_plots, stored_reports
from exports.reports import PERIODS
from validation.installation import production_environment

pytestmark = pytest.mark.verifies("UR-ACC-05")

ROOT = Path(settings.BASE_DIR)
APPS = ("accounts", "alerts", "api", "audit", "blinacell_site", "charts", "crf", "exports",
        "monitoring", "mrd", "protocol", "safety")  # fmt: skip

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\ssrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript\s*:", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def _production_environment(**extra: str) -> dict[str, str]:
    # The environment make validate's deployment check uses: one definition of "production".
    return production_environment(**extra)


# --- Production settings -------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
)


def _probe(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=_production_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_is_https_only_and_development_stays_plain_http():
    assert _probe() == "True 31536000 True True True True"
    # `make run` (DEBUG=1 over http://localhost): no redirect, no HSTS, cookies over http.
    assert _probe(DEBUG="1") == "False 0 False False False False"
    # Each HSTS part can be turned down from the environment (e.g. while trying a new domain).
    assert _probe(SECURE_HSTS_PRELOAD="0", SECURE_HSTS_SECONDS="3600") == (
        "True 3600 True False True True"
    )


# --- Headers -------------------------------------------------------------------------------


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("page", ["home", "subject", "mrd", "report"])
def test_logged_in_pages_carry_the_security_headers(client, subject_a, investigator_a, page):
    urls = {
        "home": reverse("home"),
        "subject": reverse("crf:subject_detail", args=[subject_a.study_id]),
        "mrd": reverse("mrd:subject", args=[subject_a.study_id]),
        "report": reverse("exports:report"),
    }
    if page == "report":  # the worker's stored report of the investigator's site
        stored_reports.prepare([([subject_a.site.number], PERIODS[0])])
    client.force_login(investigator_a)
    response = client.get(urls[page])
    assert response.status_code == 200

    csp = _directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert not any("unsafe" in value for values in csp.values() for value in values)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"

    # What the policy forbids is not in the page either (the timeline, the MRD kinetics and
    # the report's matplotlib plots are inline SVG).
    body = response.content.decode()
    assert not INLINE_SCRIPT.search(body)
    assert not EVENT_HANDLER.search(body)
    assert not JAVASCRIPT_URL.search(body)
    assert not INLINE_STYLE.search(body), INLINE_STYLE.search(body)
    if page != "home":
        assert "<svg" in body


def test_login_page_has_the_policy_too(client, db):
    response = client.get(reverse("accounts:login"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_hsts_in_production_settings(client):
    with override_settings(
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
        SECURE_HSTS_PRELOAD=True,
        SECURE_SSL_REDIRECT=False,
    ):
        response = client.get(reverse("accounts:login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_no_hsts_over_plain_http(client):
    with override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_SSL_REDIRECT=False):
        response = client.get(reverse("accounts:login"))
    assert "Strict-Transport-Security" not in response


def test_the_csrf_cookie_is_not_for_scripts():
    assert settings.CSRF_COOKIE_HTTPONLY and settings.SESSION_COOKIE_HTTPONLY
    for script in (ROOT / "static" / "js").glob("*.js"):
        assert "document.cookie" not in script.read_text(), script


# --- Nothing inline in the sources ---------------------------------------------------------


def _templates() -> list[Path]:
    return sorted((ROOT / "templates").rglob("*.html"))


def test_templates_have_no_inline_script_handler_javascript_url_or_style():
    assert _templates()
    found = []
    for template in _templates():
        text = template.read_text()
        for kind, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("event handler", EVENT_HANDLER),
            ("javascript: URL", JAVASCRIPT_URL),
            ("inline style", INLINE_STYLE),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(ROOT)}:{line}: {kind}: {match.group(0)}")
    assert not found, "\n".join(found)


def _string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_python_markup_has_no_inline_script_handler_or_javascript_url():
    """Every string in the apps' code (where the SVG pictures and any HTML fragments are
    written): no <script> without src, no on...="..." handler, no javascript: URL."""
    handler = re.compile(r"\son[a-z]+\s*=\s*[\"'{]", re.IGNORECASE)
    found = []
    files = [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    ]
    assert any(path.name == "svg.py" for path in files)
    for path in files:
        for line, value in _string_constants(path):
            for kind, pattern in (
                ("inline <script>", INLINE_SCRIPT),
                ("event handler", handler),
                ("javascript: URL", JAVASCRIPT_URL),
            ):
                if pattern.search(value):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {kind}: {value[:80]!r}")
    assert not found, "\n".join(found)


def test_matplotlib_svg_is_inlined_without_css():
    figure = Figure(figsize=(4, 3))
    axes = figure.add_subplot()
    axes.step([0, 6, 12], [1, 0.8, 0.6], where="post", label="OS")
    axes.axvline(6, linestyle=":", color="grey")
    axes.text(1, 0.7, "bold <text> & more", fontweight="bold", fontstyle="italic")
    axes.legend()
    axes.grid(alpha=0.3)
    original = report_plots.render(figure, "svg").decode()
    assert "<style" in original and ' style="' in original  # what there is to convert

    svg = report_plots.without_css(original)
    assert not INLINE_STYLE.search(svg)
    root = svg[svg.index("<svg") : svg.index(">", svg.index("<svg"))]
    assert 'stroke-linejoin="round"' in root and 'stroke-linecap="butt"' in root
    assert 'stroke-dasharray="' in svg
    assert 'font-weight="700"' in svg and 'font-style="italic"' in svg
    assert "bold &lt;text&gt; &amp; more" in svg
    from xml.dom.minidom import parseString

    parseString(svg.encode())  # noqa: S318 (our own output) still well-formed: no attribute twice


def test_unknown_matplotlib_css_is_refused_not_dropped():
    with pytest.raises(ValueError, match="no presentation attribute"):
        report_plots.without_css('<svg><path style="filter: blur(2px)"/></svg>')
    with pytest.raises(ValueError, match="unexpected style sheet"):
        report_plots.without_css("<svg><style>path{fill: red}</style></svg>")
