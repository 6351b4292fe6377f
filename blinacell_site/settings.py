"""The one settings module, configured from the environment.

DATABASE_URL        PostgreSQL (if unset, an embedded one is started under .local/)
CELERY_BROKER_URL   Redis broker (likewise)
SECRET_KEY          required when DEBUG is off
DEBUG               "1"/"true" to turn on; off by default (also in make run)
ALLOWED_HOSTS       comma-separated; defaults to localhost only
API_REQUESTS_PER_MINUTE  per API token (default 600)
EMAIL_URL           not yet used (console e-mail backend); see README
TWO_FACTOR_REQUIRED_ROLES  roles that must sign in with a second factor (comma-separated role
                    codes, or * for every account); empty by default
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from . import env

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.flag("DEBUG", default=False)
TESTING = env.flag("BLINACELL_TESTING", default=False)

SECRET_KEY = env.text("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105

ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", default="localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env.csv("CSRF_TRUSTED_ORIGINS", default="")

INSTALLED_APPS = [
    # audit first: its `flush` command replaces Django's (history tables refuse TRUNCATE).
    "audit",
    "accounts",
    "crf",
    "mrd",
    "safety",
    "alerts",
    "monitoring",
    "exports",
    "api",
    "demo",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "simple_history",
    "crispy_forms",
    "crispy_bootstrap5",
    "django.forms",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Serves the API documentation page's scripts from static files (no CDN).
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    "blinacell_site.middleware.no_store",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "blinacell_site.urls"
# Form widgets render with the project's templates (templates/widgets/: a number with its unit).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "blinacell_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crf.context_processors.study_roles",
                "accounts.context_processors.session_expiry",
                "alerts.context_processors.alert_counts",
            ],
        },
    },
]

# --- Database: PostgreSQL only -------------------------------------------------------------
_database_url = env.text("DATABASE_URL", default="")
if not _database_url:
    # No server configured: join (or start) the embedded one that `make run`/`make test` use.
    from .embedded import postgres_url

    _database_url = postgres_url()
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("BlinaCell eCRF runs on PostgreSQL only (DATABASE_URL).")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A request that fails part-way saves nothing.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ------------------------------------------------------------------------------
PRODUCTION_PASSWORD_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",  # Argon2id, OWASP's parameters
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS
if TESTING:
    # The test suite creates thousands of accounts: it hashes them with a fast hasher.
    # tests/accounts checks that every other run hashes with Argon2.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout by username, not by address: a hospital's users share one public IP.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
# The 30 minutes run from the lockout: attempts while locked (even with the right password) do
# not restart them.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Idle sessions end after 30 minutes; every request renews the clock.
SESSION_IDLE_TIMEOUT_SECONDS = 30 * 60
SESSION_IDLE_WARNING_SECONDS = 5 * 60
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Secure cookies with DEBUG off; `make run` (plain http on this machine) turns them off.
SESSION_COOKIE_SECURE = env.flag("SESSION_COOKIE_SECURE", default=not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Internationalisation: times stored in UTC, shown in the trial's zone --------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.text("TIME_ZONE", default="Europe/Prague")
USE_I18N = True
USE_TZ = True

# --- Static files: whitenoise, no CDN ------------------------------------------------------
STATIC_URL = "static/"
# collectstatic writes here (make run does, with DEBUG off); git-ignored.
STATIC_ROOT = Path(env.text("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# DEBUG and tests: whitenoise serves straight from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env.text("CELERY_BROKER_URL", default="")
if not CELERY_BROKER_URL:
    from .embedded import broker_url

    CELERY_BROKER_URL = broker_url()
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# One queue per installation (tests use their own, so a test run never feeds another's worker).
CELERY_TASK_DEFAULT_QUEUE = env.text("CELERY_QUEUE", default="blinacell")
_test_process = os.environ.get("PYTEST_XDIST_WORKER", "")
if TESTING and _test_process and not CELERY_TASK_DEFAULT_QUEUE.endswith(f"-{_test_process}"):
    # Each process of a parallel test run has a queue of its own (and so its own workers).
    CELERY_TASK_DEFAULT_QUEUE += f"-{_test_process}"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # A task not acknowledged within this time (its worker died) is delivered again; a worker
    # looks for such tasks at start and every 10 s (kombu's default looks every 100 s).
    "visibility_timeout": env.integer("CELERY_VISIBILITY_TIMEOUT", default=300),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE_FILENAME = env.text(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / ".local" / "celerybeat-schedule")
)
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": timedelta(hours=6),
    },
    # Subjects whose evaluation message was lost or never sent (broker down).
    "evaluate-marked-subjects": {
        "task": "alerts.tasks.evaluate_marked_subjects",
        "schedule": timedelta(seconds=env.integer("ALERTS_RECONCILE_SECONDS", default=60)),
    },
    # Time-based rules (SAE clock, overdue visits, missing week-11 MRD, interruption length).
    "evaluate-time-rules": {
        "task": "alerts.tasks.evaluate_all_subjects",
        "schedule": timedelta(minutes=env.integer("ALERTS_TIME_RULES_MINUTES", default=5)),
    },
    # Exports whose message was lost (broker down) or whose worker died while writing.
    "resume-stale-exports": {
        "task": "exports.tasks.resume_stale_exports",
        "schedule": timedelta(minutes=1),
    },
    # Answers kept for repeated API writes (Idempotency-Key) past their 7 days.
    "forget-old-idempotent-responses": {
        "task": "api.tasks.forget_old_idempotent_responses",
        "schedule": timedelta(hours=6),
    },
    # Stored study reports whose data changed and whose message was lost.
    "recompute-stale-reports": {
        "task": "exports.tasks.recompute_stale_reports",
        "schedule": timedelta(minutes=1),
        "kwargs": {"after_save": False},
    },
}

# Where finished exports are kept (web and worker must share it: a volume in docker compose).
EXPORT_ROOT = env.text("EXPORT_ROOT", default=str(BASE_DIR / ".local" / "exports"))
# Reports of fewer patients than this show counts only (no medians, ranges, dates or curves).
REPORT_SMALL_GROUP_PATIENTS = env.integer("REPORT_SMALL_GROUP_PATIENTS", default=5)

# Fault tests only: evaluation tasks wait this long before working, so a test can kill a worker
# while it holds a task. Always 0 in use.
ALERTS_EVALUATION_PAUSE_SECONDS = env.integer("ALERTS_EVALUATION_PAUSE_SECONDS", default=0)
# Fault tests only: an export waits this long after each file, so a test can kill its worker
# mid-export (always 0 in use); and a running export whose heartbeat is older than this many
# seconds was lost with its worker and is started again (3 minutes in use).
EXPORTS_STEP_PAUSE_SECONDS = float(env.text("EXPORTS_STEP_PAUSE_SECONDS", default="0"))
EXPORTS_STALE_SECONDS = env.integer("EXPORTS_STALE_SECONDS", default=180)

# --- Data API (/api/v1/, docs/api.md) ---------------------------------------------------------
# Requests per personal token and minute (REDCap's default is 600 per user and minute).
API_REQUESTS_PER_MINUTE = env.integer("API_REQUESTS_PER_MINUTE", default=600)

# --- E-mail ---------------------------------------------------------------------------------
# Console by default; SMTP with EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and
# EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS.
EMAIL_BACKEND = env.text("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.text("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.text("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.text("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.flag("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.text("DEFAULT_FROM_EMAIL", default="ecrf@blinacell.invalid")

# --- Security headers ----------------------------------------------------------------------
# With the production defaults `manage.py check --deploy` is clean (tests/test_security.py).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# static/js takes the CSRF token from the page's form field; no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp): no inline script or style, nothing from another origin.
# The server-rendered SVGs use presentation attributes only (exports.report_plots converts
# matplotlib's CSS); Bootstrap's CSS draws its icons as data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env.flag("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Only a header token: being on the browsers' preload list also needs hstspreload.org.
    SECURE_HSTS_PRELOAD = env.flag("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Container health checks call /healthz over plain HTTP from inside.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.text("LOG_LEVEL", default="WARNING")},
}

# --- Audit trail ---------------------------------------------------------------------------
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

# Lockout is by username on purpose (see AXES_LOCKOUT_PARAMETERS above): a hospital's users share
# one address, so locking by IP would lock out a whole site.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# --- Second factor -------------------------------------------------------------------------
# TOTP (an authenticator app) with single-use recovery codes, django-otp. Roles that must use it:
# comma-separated role codes (investigator, central_lab, monitor, data_manager, sponsor) or "*"
# for every account, staff included. Empty by default (make run's demo, the benchmarks);
# docker compose sets "*".
TWO_FACTOR_REQUIRED_ROLES = env.csv("TWO_FACTOR_REQUIRED_ROLES", default="")
OTP_TOTP_ISSUER = "BlinaCell eCRF"
# The account lockout (django-axes) counts wrong codes instead: django-otp's own throttle would
# refuse a right code for a while after a wrong one.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# Signed-in sessions that still owe the second factor reach only the code (or enrolment) page.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "blinacell_site.middleware.second_factor",
)
