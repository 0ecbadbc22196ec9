"""Does things AS DJANGO on the shared database; each outcome is one JSON line.

    python django_ops.py COMMAND ARGS...     one command, then exit
    python django_ops.py                     one JSON array ["COMMAND", "ARG", ...] per stdin
                                             line, one answer line each (Django starts once)

The settings come from the environment (jwtdsite/settings.py). Outcomes that are part of the
test (a token refused, a password that does not match) are answered as data; anything else is
an error: a traceback and exit status 1 on the command line, {"exception": traceback} on stdin.
"""
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jwtdsite.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import check_password, identify_hasher, make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework_simplejwt.exceptions import TokenError  # noqa: E402
from rest_framework_simplejwt.state import token_backend  # noqa: E402
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken  # noqa: E402

User = get_user_model()


def create_user(username, password, hasher=None):
    """User.objects.create_user; with HASHER, the hash is made by that hasher instead of the
    preferred one (a user from before a PASSWORD_HASHERS change)."""
    user = User.objects.create_user(username, password=password)
    if hasher:
        user.password = make_password(password, hasher=hasher)
        user.save(update_fields=["password"])
    return {"id": user.id, "algorithm": identify_hasher(user.password).algorithm}


def set_password(username, password):
    user = User.objects.get(username=username)
    user.set_password(password)
    user.save()
    return {}


def deactivate(username):
    User.objects.filter(username=username).update(is_active=False)
    return {}


def delete(username):
    User.objects.get(username=username).delete()
    return {}


def password(username, password):
    """Django's check_password against the stored hash. The setter, which User.check_password
    uses to rehash, only records that Django would rehash (must_update): nothing is saved."""
    encoded = User.objects.get(username=username).password
    rehash = []
    ok = check_password(password, encoded, setter=rehash.append)
    return {
        "ok": ok,
        "algorithm": identify_hasher(encoded).algorithm,
        "must_update": bool(rehash),
    }


def issue(username):
    """simplejwt's RefreshToken.for_user (writes its outstanding row) and its access token."""
    refresh = RefreshToken.for_user(User.objects.get(username=username))
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


def blacklist(token):
    """RefreshToken(token).blacklist(), as TokenBlacklistView does."""
    try:
        RefreshToken(token).blacklist()
    except TokenError as error:
        return {"ok": False, "error": str(error)}
    return {"ok": True}


def claims(token):
    """The payload without any check (for a token that may have expired)."""
    return token_backend.decode(token, verify=False)


def check_access(token):
    """simplejwt's AccessToken class: signature, expiry, token type."""
    try:
        return {"ok": True, "payload": AccessToken(token).payload}
    except TokenError as error:
        return {"ok": False, "error": str(error)}


def check_refresh(token):
    """simplejwt's RefreshToken class, which checks the blacklist (check_blacklist) too."""
    try:
        refresh = RefreshToken(token)
        refresh.check_blacklist()
        return {"ok": True, "payload": refresh.payload}
    except TokenError as error:
        return {"ok": False, "error": str(error)}


def request(method, path, body="{}", bearer=""):
    """One request through the project's own views (Django's test client, no server):
    simplejwt's serializers and JWTAuthentication against the database."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    client = Client(raise_request_exception=False)
    response = getattr(client, method.lower())(
        path, data=json.loads(body), content_type="application/json", headers=headers
    )
    try:
        content = json.loads(response.content)
    except ValueError:
        content = response.content.decode(errors="replace")[:200]
    return {"status": response.status_code, "body": content}


def outstanding(jti):
    """The OutstandingToken row for JTI, read through Django's model."""
    row = OutstandingToken.objects.filter(jti=jti).first()
    if row is None:
        return {"found": False}
    with connection.cursor() as cursor:  # the stored text itself, as Django compares it
        cursor.execute(
            "SELECT created_at, expires_at FROM token_blacklist_outstandingtoken WHERE id = %s",
            [row.id],
        )
        stored = [str(value) for value in cursor.fetchone()]
    return {
        "found": True,
        "id": row.id,
        "jti": row.jti,
        "token": row.token,
        "user_id": row.user_id,
        "created_at": row.created_at.timestamp() if row.created_at else None,
        "expires_at": row.expires_at.timestamp(),
        "stored_created_at": stored[0],
        "stored_expires_at": stored[1],
        "blacklisted": hasattr(row, "blacklistedtoken"),
    }


def flush():
    """manage.py flushexpiredtokens, with the outstanding jtis before and after."""
    before = list(OutstandingToken.objects.values_list("jti", flat=True))
    call_command("flushexpiredtokens")
    after = list(OutstandingToken.objects.values_list("jti", flat=True))
    return {"before": before, "after": after}


COMMANDS = {
    "create-user": create_user,
    "set-password": set_password,
    "deactivate": deactivate,
    "delete": delete,
    "password": password,
    "issue": issue,
    "blacklist": blacklist,
    "claims": claims,
    "check-access": check_access,
    "check-refresh": check_refresh,
    "request": request,
    "outstanding": outstanding,
    "flush": flush,
}


def serve():
    for line in sys.stdin:
        command, *args = json.loads(line)
        try:
            answer = COMMANDS[command](*args)
        except Exception:
            answer = {"exception": traceback.format_exc()}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 1:
        serve()
    elif sys.argv[1] in COMMANDS:
        print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
    else:
        sys.exit(f"usage: django_ops.py [{'|'.join(COMMANDS)} ARGS...]")
