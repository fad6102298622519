"""Passwords the system makes up itself (an imported account's first password, one given
by `jiceng grant`): 16 random characters, too many to guess, so a salted SHA-256 is enough
where a chosen password needs PBKDF2's cost. Accounts are imported a thousand at a time.

Checking one still costs what checking a chosen password costs, so that the time of an
answer does not tell an account with its first password from the others.
"""

import hashlib
import secrets
import string

from django.contrib.auth.hashers import BasePasswordHasher, get_hasher, mask_hash
from django.utils.crypto import constant_time_compare

# Typed from a text message on a phone: no 0/O/o, 1/l/I, 2/Z, 5/S, 8/B look-alikes.
ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0Oo1lIi2Zz5Ss8B")
SYMBOLS = "#%+=@"


def generated_password() -> str:
    """16 characters of letters, digits and one symbol (it passes the password rules;
    about 90 bits)."""
    while True:
        body = [secrets.choice(ALPHABET) for _ in range(15)]
        password = "".join(body) + secrets.choice(SYMBOLS)
        kinds = (str.isupper, str.islower, str.isdigit)
        if all(any(kind(c) for c in body) for kind in kinds):
            return password


class GeneratedPasswordHasher(BasePasswordHasher):
    algorithm = "generated_sha256"

    def encode(self, password: str, salt: str) -> str:
        self._check_encode_args(password, salt)
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        get_hasher("default").encode(password, "dummy-salt-same-work")
        salt = self.decode(encoded)["salt"]
        return constant_time_compare(encoded, self.encode(password, salt))

    def safe_summary(self, encoded: str) -> dict:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": mask_hash(decoded["salt"])}

    def must_update(self, encoded: str) -> bool:
        return True  # once signed in with it, it is replaced (the account must change it)

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
