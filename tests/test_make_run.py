"""`make run` serves the study as a site would (DEBUG off, the project's own error pages, the
stylesheets served by whitenoise) and prints the URL and the demo logins only once the site
answers; `DEBUG=1 make run` is for development."""

import io
import os
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from blinacell_site import launcher

pytestmark = pytest.mark.verifies("UR-OPS-01")

# --- The environment make run gives its processes --------------------------------------------


def test_make_run_turns_debug_off_unless_asked_and_keeps_a_secret_key_of_its_own(tmp_path):
    env = launcher.run_environment({"PATH": "/usr/bin"}, local_dir=tmp_path)
    assert env["DEBUG"] == "0"
    assert len(env["SECRET_KEY"]) >= 50
    # Plain http on this machine: no redirect to https, cookies without the Secure flag.
    assert env["SECURE_SSL_REDIRECT"] == "0" and env["SESSION_COOKIE_SECURE"] == "0"
    # The same key next time (sessions survive a restart), readable only by its owner.
    again = launcher.run_environment({}, local_dir=tmp_path)
    assert again["SECRET_KEY"] == env["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert launcher.run_environment({"SECRET_KEY": "given"}, tmp_path)["SECRET_KEY"] == "given"
    assert "gunicorn" in launcher.web_command("8000", env)


def test_debug_1_make_run_is_the_development_server_with_debug_on(tmp_path):
    env = launcher.run_environment({"DEBUG": "1"}, local_dir=tmp_path)
    assert env["DEBUG"] == "1" and "SECRET_KEY" not in env
    assert "runserver" in launcher.web_command("8000", env)
    assert not (tmp_path / "secret_key").exists()


# --- The URL is printed only once /healthz answers -------------------------------------------


class _Process:
    """Stands in for a started process: running until told otherwise."""

    def __init__(self):
        self.returncode = None

    def poll(self):
        return self.returncode


def _slow_site(ready: threading.Event, polls: list[str]):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            polls.append(self.path)
            self.send_response(200 if ready.is_set() else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_url_and_logins_are_printed_only_once_healthz_answers():
    ready, polls = threading.Event(), []
    server = _slow_site(ready, polls)
    base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    out = io.StringIO()
    result = []
    message = launcher.banner(base_url, {"DATABASE_URL": "postgres://app@db/x"}, {})
    waiter = threading.Thread(
        target=lambda: result.append(
            launcher.announce_when_ready(base_url, [_Process()], message, out=out, timeout=20)
        )
    )
    try:
        waiter.start()
        deadline = time.monotonic() + 10
        while len(polls) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert polls[:3] == ["/healthz"] * 3  # asked, and asked again while it said 503
        assert out.getvalue() == ""  # nothing printed while the site does not answer
        ready.set()
        waiter.join(10)
    finally:
        server.shutdown()
    assert result == [True]
    printed = out.getvalue()
    assert f"BlinaCell eCRF is running at {base_url}" in printed
    assert "investigator.prague" in printed and launcher.DEMO_PASSWORD in printed


def test_nothing_is_printed_when_the_web_server_stops_before_answering():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here
    stopped = _Process()
    stopped.returncode = 1
    out = io.StringIO()
    started = time.monotonic()
    assert not launcher.announce_when_ready(
        f"http://127.0.0.1:{port}/", [stopped], "URL", out=out, timeout=30
    )
    assert out.getvalue() == "" and time.monotonic() - started < 5


# --- The web server as make run starts it ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local server
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.fixture
def make_run_web_server(transactional_db, tmp_path):
    """gunicorn started the way `make run` starts it (collectstatic first), on the test
    database; the test run's own DEBUG/testing variables are not passed on."""
    test_db = urlsplit(os.environ["DATABASE_URL"])._replace(
        path="/" + settings.DATABASES["default"]["NAME"]
    )
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "BLINACELL_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not key.startswith(("SECURE_", "SESSION_"))
    }
    inherited.update(DATABASE_URL=urlunsplit(test_db), STATIC_ROOT=str(tmp_path / "static"))
    env = launcher.run_environment(inherited, local_dir=tmp_path)
    launcher.collect_static(env)
    port = str(_free_port())
    process = subprocess.Popen(
        launcher.web_command(port, env),
        cwd=launcher.PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}/"
    try:
        out = io.StringIO()
        assert launcher.announce_when_ready(base_url, [process], "ready", out=out, timeout=60), (
            process.stderr.read().decode() if process.poll() is not None else "no answer"
        )
        assert out.getvalue() == "ready\n"
        yield base_url
    finally:
        launcher._stop([process])


def test_make_run_serves_the_project_pages_and_stylesheets_with_debug_off(make_run_web_server):
    base_url = make_run_web_server
    status, _, body = _get(f"{base_url}healthz")
    assert status == 200 and '"status": "ok"' in body

    # Django's debug 404 lists every URL pattern; the project's page says what happened.
    status, _, body = _get(f"{base_url}no-such-page/")
    assert status == 404
    assert "There is no such page, or it is not available to you." in body
    assert "URLconf" not in body and "DEBUG = True" not in body and "healthz" not in body

    # The login page's stylesheets and scripts load (whitenoise, hashed names).
    status, _, login = _get(f"{base_url}accounts/login/")
    assert status == 200
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', login)
    assert any(re.search(r"/static/css/app\.[0-9a-f]{12}\.css$", a) for a in assets), assets
    assert any("bootstrap.min" in a for a in assets), assets
    for asset in assets:
        status, content_type, _ = _get(f"{base_url}{asset.lstrip('/')}")
        assert status == 200, asset
        assert content_type.startswith(("text/css", "text/javascript", "application/javascript"))
