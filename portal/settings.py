"""Settings, read from environment variables (see README: "Configuration")."""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_email_url(name: str) -> dict[str, object] | None:
    """Django's e-mail settings from a URL: smtp://host:port, smtp+tls://user:password@host:587
    (STARTTLS) or smtps://… (TLS from the start); None when the variable is unset (e-mail off)."""
    value = os.environ.get(name)
    if not value:
        return None
    parts = urlsplit(value)
    schemes = {"smtp": (False, False, 25), "smtp+tls": (True, False, 587), "smtps": (False, True, 465)}
    if parts.scheme not in schemes or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be smtp://host:port, smtp+tls://… or smtps://…, got {parts.scheme}://…"
        )
    tls, ssl, port = schemes[parts.scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": parts.port or port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
        "EMAIL_TIMEOUT": 20,
    }


DEBUG = env_bool("PORTAL_DEBUG", False)
SECRET_KEY = os.environ.get("PORTAL_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set PORTAL_SECRET_KEY (or PORTAL_DEBUG=1 for a development server).")
    SECRET_KEY = "development-only-key-not-for-production"
ALLOWED_HOSTS = env_list("PORTAL_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

# The TAP services on offer: a TOML file (jobs/services.py describes its format).
PORTAL_SERVICES_FILE = Path(os.environ.get("PORTAL_SERVICES") or BASE_DIR / "portal" / "services.toml")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "jobs",
    "jobs.watching",
]

# Background work (jobs/watching/): Django's Tasks API, its tasks kept in the database, run
# by `manage.py db_worker` (started by make run and make serve). docs/watching.md says why.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
PORTAL_WATCH_THREADS = int(os.environ.get("PORTAL_WATCH_THREADS") or 8)
# Open pages are told of changes by the live server (portal/live.py) where it runs, at PORTAL_LIVE_BIND
# (scripts/serve.sh starts it; make serve sets it) behind the same proxy, which sends /live/ to it.
# Unset (make run): open pages ask every 1.5 s instead.
PORTAL_LIVE_STREAM = bool(os.environ.get("PORTAL_LIVE_BIND"))

# E-mail notices: off unless PORTAL_EMAIL_URL names an SMTP server.
_email = env_email_url("PORTAL_EMAIL_URL")
EMAIL_ENABLED = _email is not None
if _email:
    globals().update(_email)
DEFAULT_FROM_EMAIL = os.environ.get("PORTAL_EMAIL_FROM") or "TAP job portal <portal@localhost>"
# Where the portal is seen from outside, for the links in e-mails.
PORTAL_BASE_URL = (os.environ.get("PORTAL_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "jobs.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "jobs.middleware.BrowserMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "environment": "portal.templating.environment",
            # Run after the view's context is made: their names (services, messages,
            # csrf_input) win over a view's own.
            "context_processors": [
                "django.contrib.messages.context_processors.messages",
                "jobs.context_processors.services",
                "jobs.context_processors.csrf",
                "jobs.context_processors.banners",
                "jobs.context_processors.live",
            ],
        },
    },
]

# SQLite by default (created by `make run`); DATABASE_URL, e.g.
# postgres://user:password@host/name, points the portal at PostgreSQL instead.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{os.environ.get('PORTAL_SQLITE_PATH') or BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers write remembered jobs at once: without WAL and
    # immediate transactions SQLite answers "database is locked". In WAL mode a commit
    # need not wait for the disk (synchronous=NORMAL, as SQLite advises for WAL): a crash
    # of the machine may lose the last commits, never the database; a process that
    # stops loses nothing. (With synchronous=FULL, each of the worker's commits waited
    # for the disk.)
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Messages travel in a cookie, so a message survives the redirect after an action
# without a database row per message.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"  # UWS times are UTC (UWS 1.1 §2.2.1); the portal shows them as such
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CSRF_FAILURE_VIEW = "jobs.error_pages.csrf_failure"

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Behind HTTPS in production: secure cookies, HSTS and a redirect to https. Off for
# `make run`, which serves plain http on loopback.
PRODUCTION = env_bool("PORTAL_PRODUCTION", False)
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("PORTAL_PRODUCTION=1 and PORTAL_DEBUG=1 do not go together.")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("PORTAL_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's check may come over plain http
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # The proxy in front (nginx, a load balancer) says the request came over https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # The task library logs every tick it runs (two lines every few seconds): its warnings are enough.
    "loggers": {name: {"level": "WARNING"} for name in ("django_tasks", "django_tasks_db", "django.tasks")},
}
