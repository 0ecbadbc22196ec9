"""What the two clients' scripts share: the command loop on standard input, a fetch counter on
a PyJWKClient, and the ways a test tampers with a token.

The loop reads one JSON object per line ({"op": NAME, ...}) and answers each with one JSON line.
Outcomes the test looks at (a token refused, a key not found) are answers; anything else is
answered {"exception": traceback}, and the test fails with it.
"""
import base64
import json
import sys
import time
import traceback


def serve(handlers):
    """Answers each command line with handlers[op](command); exits at the end of input."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            answer = handlers[command["op"]](command)
        except Exception:  # noqa: BLE001 - reported to the test, which fails
            answer = {"exception": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def count_fetches(client):
    """Counts the JWK Set downloads of a PyJWKClient (its fetch_data, the one method that goes to
    the network) and notes when the last one ended. The client's own logic is untouched."""
    client.fetches = 0
    client.last_fetch = None
    fetch = client.fetch_data

    def counted():
        data = fetch()
        client.fetches += 1
        client.last_fetch = time.monotonic()
        return data

    client.fetch_data = counted
    return client


def cache_facts(client):
    """What decides whether the client downloads the set again: seconds since its last
    download (None before the first), its unknown-kid cooldown and its set cache's lifespan."""
    cache = client.jwk_set_cache
    return {
        "fetches": client.fetches,
        "since_fetch": None if client.last_fetch is None else time.monotonic() - client.last_fetch,
        "cooldown": getattr(client, "cooldown_duration", 0),
        "lifespan": None if cache is None else cache.lifespan,
    }


def _b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tamper(token, how, value=None):
    """A copy of TOKEN changed one way, its signature left as it was (or itself changed):
    payload  the user_id claim raised by one (a forged identity)
    signature  one bit of the signature flipped
    kid      the header's kid set to VALUE (another published key)
    alg      the header's alg set to VALUE (an algorithm the verifier does not allow)"""
    header, payload, signature = token.split(".")
    if how == "payload":
        claims = json.loads(_b64decode(payload))
        # simplejwt writes the id as text (str(user.pk)); jwtd does the same.
        user_id = claims["user_id"]
        claims["user_id"] = str(int(user_id) + 1) if isinstance(user_id, str) else user_id + 1
        payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    elif how == "signature":
        raw = bytearray(_b64decode(signature))
        raw[len(raw) // 2] ^= 0x01
        signature = _b64encode(bytes(raw))
    elif how in ("kid", "alg"):
        fields = json.loads(_b64decode(header))
        fields[how] = value
        header = _b64encode(json.dumps(fields, separators=(",", ":")).encode())
    else:
        raise ValueError(f"unknown tampering {how!r}")
    return ".".join((header, payload, signature))
