"""djangorestframework-simplejwt verifying jwtd's tokens through SIMPLE_JWT["JWK_URL"]
(simplejwt_settings.py): simplejwt's TokenBackend makes one PyJWKClient(JWK_URL) when
rest_framework_simplejwt.state is imported and keeps it for the life of the process.

Commands, one JSON line each on stdin (jwks_common.serve):
  {"op": "request", "token": T}  GET through a DRF view guarded by JWTStatelessUserAuthentication
                                 and IsAuthenticated: the status and the body
  {"op": "access_token", "token": T}  AccessToken(T): its claims, or the TokenError and what
                                 caused it (simplejwt's messages hide the cause)
  {"op": "tamper", ...}          jwks_common.tamper
Each answer also says how often simplejwt's PyJWKClient downloaded the set (jwks_common).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["DJANGO_SETTINGS_MODULE"] = "simplejwt_settings"

import django  # noqa: E402

django.setup()

from rest_framework.decorators import api_view  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402
from rest_framework_simplejwt.exceptions import TokenError  # noqa: E402
from rest_framework_simplejwt.state import token_backend  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from jwks_common import cache_facts, count_fetches, serve, tamper  # noqa: E402

assert token_backend.jwks_client is not None, "simplejwt made no PyJWKClient from JWK_URL"
count_fetches(token_backend.jwks_client)
factory = APIRequestFactory()


@api_view(["GET"])
def whoami(request):
    return Response({"user_id": request.user.id, "token_type": request.auth["token_type"]})


def request(command):
    facts = cache_facts(token_backend.jwks_client)
    response = whoami(factory.get("/whoami/", HTTP_AUTHORIZATION=f"Bearer {command['token']}"))
    fetched = token_backend.jwks_client.fetches - facts["fetches"]
    return dict(facts, status=response.status_code, body=response.data, fetched=fetched)


def access_token(command):
    facts = cache_facts(token_backend.jwks_client)
    try:
        token = AccessToken(command["token"])
    except TokenError as e:
        causes = []
        cause = e.__cause__
        while cause is not None:
            causes.append({"error": type(cause).__name__, "message": str(cause)})
            cause = cause.__cause__
        return dict(facts, ok=False, error=type(e).__name__, message=str(e), causes=causes)
    return dict(facts, ok=True, user_id=token["user_id"])


def tampered(command):
    return {"token": tamper(command["token"], command["how"], command.get("value"))}


serve({"request": request, "access_token": access_token, "tamper": tampered})
