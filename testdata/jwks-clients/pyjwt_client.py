"""PyJWT's PyJWKClient verifying jwtd's tokens from its JWKS, as a resource server would:

    signing_key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=[...])

Commands, one JSON line each on stdin (jwks_common.serve):
  {"op": "client", "name": N, "url": U, "options": {...}}  keep PyJWKClient(U, **options) as N
  {"op": "verify", "client": N, "token": T, "algorithms": [...]}  verify with client N
  {"op": "verify", "url": U, ...}     the same with a new PyJWKClient(U) made for this call
  {"op": "discover", "url": U, "token": T}  OpenID discovery at U, then verify T with a new
                                     PyJWKClient(jwks_uri), the document's algorithms and issuer
  {"op": "tamper", "token": T, "how": H, "value": V}  jwks_common.tamper
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cryptography  # noqa: E402
import jwt  # noqa: E402

from jwks_common import cache_facts, count_fetches, serve, tamper  # noqa: E402

clients = {}


def new_client(command):
    clients[command["name"]] = count_fetches(
        jwt.PyJWKClient(command["url"], **command.get("options", {}))
    )
    return {"ok": True}


def verify_with(client, token, algorithms, issuer=None):
    facts = cache_facts(client)  # before the call: what it decides on
    try:
        signing_key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=algorithms,
            issuer=issuer,
            options={"require": ["exp", "iat", "jti"]},
        )
    except jwt.PyJWTError as e:
        return dict(facts, ok=False, error=type(e).__name__, message=str(e), fetched=client.fetches - facts["fetches"])
    return dict(
        facts,
        ok=True,
        user_id=claims["user_id"],
        token_type=claims.get("token_type"),
        kid=signing_key.key_id,
        key_algorithm=signing_key.algorithm_name,
        fetched=client.fetches - facts["fetches"],
    )


def verify(command):
    if "client" in command:
        client = clients[command["client"]]
    else:
        client = count_fetches(jwt.PyJWKClient(command["url"]))
    return verify_with(client, command["token"], command["algorithms"], command.get("issuer"))


def discover(command):
    with urllib.request.urlopen(command["url"], timeout=10) as response:
        document = json.load(response)
        cache_control = response.headers.get("Cache-Control")
    client = count_fetches(jwt.PyJWKClient(document["jwks_uri"]))
    verdict = verify_with(
        client,
        command["token"],
        document["id_token_signing_alg_values_supported"],
        issuer=document["issuer"],
    )
    return dict(verdict, document=document, cache_control=cache_control)


def versions(_command):
    return {"pyjwt": jwt.__version__, "cryptography": cryptography.__version__}


def tampered(command):
    return {"token": tamper(command["token"], command["how"], command.get("value"))}


serve({
    "client": new_client,
    "verify": verify,
    "discover": discover,
    "tamper": tampered,
    "versions": versions,
})
