"""A minimal Django 5.2 + simplejwt 5.5.1 project that jwtd shares its database with
(crates/jwtd/tests/django_e2e.rs). Everything the test varies comes from the environment:

DJANGO_DATABASE_URL          sqlite:////abs/path/db.sqlite3 or postgres://user:pw@host:port/name
DJANGO_SIGNING_KEY           SIMPLE_JWT["SIGNING_KEY"] (the same secret as JWTD_SIGNING_KEY)
DJANGO_ROTATE_REFRESH_TOKENS, DJANGO_BLACKLIST_AFTER_ROTATION, DJANGO_CHECK_REVOKE_TOKEN
                             "1"/"true" to turn the simplejwt setting on
DJANGO_REFRESH_TOKEN_LIFETIME  seconds (default one day)
DJANGO_PASSWORD_HASHERS      algorithm names, first preferred (default: Django's list)
"""
import os
from datetime import timedelta
from urllib.parse import unquote, urlsplit

SECRET_KEY = "django-insecure-jwtd-e2e-test-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "jwtdsite.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _database(url):
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:////abs/path: everything after "sqlite://" is the path.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url[len("sqlite://") :]}
    if parts.scheme in ("postgres", "postgresql"):  # needs psycopg in the venv
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ValueError(f"DJANGO_DATABASE_URL: unsupported scheme {parts.scheme!r}")


DATABASES = {"default": _database(os.environ["DJANGO_DATABASE_URL"])}

# Django's algorithm names -> hasher classes (the ones jwtd's password_hashers knows).
_HASHERS = {
    "pbkdf2_sha256": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "pbkdf2_sha1": "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "argon2": "django.contrib.auth.hashers.Argon2PasswordHasher",
    "bcrypt_sha256": "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "bcrypt": "django.contrib.auth.hashers.BCryptPasswordHasher",
    "scrypt": "django.contrib.auth.hashers.ScryptPasswordHasher",
    "md5": "django.contrib.auth.hashers.MD5PasswordHasher",
}
PASSWORD_HASHERS = [
    _HASHERS[name.strip()]
    for name in os.environ.get(
        "DJANGO_PASSWORD_HASHERS", "pbkdf2_sha256,pbkdf2_sha1,argon2,bcrypt_sha256,scrypt"
    ).split(",")
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

SIMPLE_JWT = {
    "SIGNING_KEY": os.environ["DJANGO_SIGNING_KEY"],
    "ROTATE_REFRESH_TOKENS": _flag("DJANGO_ROTATE_REFRESH_TOKENS"),
    "BLACKLIST_AFTER_ROTATION": _flag("DJANGO_BLACKLIST_AFTER_ROTATION"),
    "CHECK_REVOKE_TOKEN": _flag("DJANGO_CHECK_REVOKE_TOKEN"),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=int(os.environ.get("DJANGO_REFRESH_TOKEN_LIFETIME", 86400))
    ),
}

LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
