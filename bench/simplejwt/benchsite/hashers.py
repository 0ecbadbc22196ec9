"""argon2id at jwtd's parameters.

Django's own Argon2PasswordHasher (Django 5.2) uses argon2id with time_cost=2,
memory_cost=102400 KiB, parallelism=8. jwtd uses m=19456 KiB, t=2, p=1 (OWASP's minimum), so
logins cost the same hash work on both sides of the comparison.
"""
from django.contrib.auth.hashers import Argon2PasswordHasher


class JwtdArgon2PasswordHasher(Argon2PasswordHasher):
    """argon2id, m=19456 KiB, t=2, p=1 (argon2-cffi)."""

    time_cost = 2
    memory_cost = 19456
    parallelism = 1
