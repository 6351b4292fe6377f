"""The password hasher: Argon2id with OWASP's recommended parameters.

Django's Argon2 defaults (100 MiB, 2 passes, 8 lanes) took about 200 ms of both cores of a small
server per login, so that a few logins at once held up every other request. OWASP's Password
Storage Cheat Sheet recommends Argon2id with at least 19 MiB of memory, 2 passes and 1 degree of
parallelism: about 27 ms of one core here (docs/operations.md has the measurement). A password
stored with other parameters still verifies and is re-hashed with these at its next login
(Django's must_update).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
