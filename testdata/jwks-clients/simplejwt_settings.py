"""A Django settings module with no database: DRF and simplejwt verifying access tokens through
SIMPLE_JWT["JWK_URL"] alone (no signing or verifying key), as a resource server does that only
reads jwtd's tokens. The URL and algorithm come from the environment (simplejwt_client.py)."""
import os

SECRET_KEY = "jwks-clients-test-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
DATABASES = {}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SIMPLE_JWT = {
    "ALGORITHM": os.environ["JWKS_TEST_ALGORITHM"],
    "JWK_URL": os.environ["JWKS_TEST_URL"],
    "SIGNING_KEY": None,
    "VERIFYING_KEY": None,
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
