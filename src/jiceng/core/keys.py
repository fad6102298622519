"""The keys of personal data: one master key from the environment, subkeys by HKDF-SM3.

`JICENG_MASTER_KEY` (64 hex digits) gives three subkeys: the data key (SM4-GCM, which
seals personal fields and outbox payloads), the index key (HMAC-SM3, the blind indexes
that find a sealed value by its clear value or its tail) and the backup key. Every
ciphertext starts with the id of the master key it was sealed under, so that after a
new master key is set (the old one moved to `JICENG_MASTER_KEYS_PREVIOUS`),
`jiceng keys rotate` re-seals the rows in batches while the site keeps running.

Blind indexes cannot be read under two keys at once, so they stay under the key that
computed them (recorded in `core.KeyCheck`) until `jiceng keys reindex` recomputes them:
that is an offline job (see its help for the time it takes).

The database records each master key's check value: a process whose configured keys
include none the database knows, or whose index key is missing, refuses to start
(`verify`, run by a system check and before the first seal or lookup).
"""

import base64
import functools
import hmac as std_hmac
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction

HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_LENGTH = 8  # hex digits at the start of each ciphertext
SEPARATOR = "$"
FILE_MAGIC = b"JICENG-SEALED-1\n"


class Ciphertext(str):
    """A value already sealed: fields store it as it is (the bulk writers pass these)."""


class Digest(str):
    """A blind index value already computed: index fields store it as it is."""


def _hkdf(master: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SM3(), length=length, salt=None, info=info).derive(master)


def _hmac_of(key: bytes):
    # The standard library's hmac would need SM3 in hashlib, which OpenSSL builds may
    # lack; cryptography's HMAC has it everywhere.
    from cryptography.hazmat.primitives import hmac

    return hmac.HMAC(key, hashes.SM3())


def _sm3_hmac(key: bytes, message: bytes) -> bytes:
    mac = _hmac_of(key)
    mac.update(message)
    return mac.finalize()


class MasterKey:
    """One master key and its subkeys."""

    def __init__(self, hex_value: str, name: str = "JICENG_MASTER_KEY"):
        if not HEX_KEY.match(hex_value or ""):
            raise ImproperlyConfigured(
                f"{name} must be 64 hexadecimal digits (256 bits); make one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        master = bytes.fromhex(hex_value)
        self.data_key = _hkdf(master, b"jiceng/data/sm4", 16)
        self.index_key = _hkdf(master, b"jiceng/index/hmac-sm3", 32)
        self.backup_key = _hkdf(master, b"jiceng/backup/sm4", 16)
        self.id = _sm3_hmac(master, b"jiceng/key-id").hex()[:KEY_ID_LENGTH]
        # Built once: a cipher or MAC per value is most of the cost of sealing a row.
        self.data_algorithm = algorithms.SM4(self.data_key)
        self.index_mac = _hmac_of(self.index_key)
        self.check_value = _sm3_hmac(master, b"jiceng/key-check").hex()[:32]


class Keyring:
    """The configured master keys: the current one seals, any of them opens."""

    def __init__(self, current: str, previous: list[str] = ()):
        self.current = MasterKey(current)
        self.keys = {self.current.id: self.current}
        for value in previous:
            key = MasterKey(value, "JICENG_MASTER_KEYS_PREVIOUS")
            self.keys.setdefault(key.id, key)
        self.index = self.current  # until verify() reads which key the indexes are under

    def seal(self, clear: str, context: str) -> Ciphertext:
        """SM4-GCM under the current data key; `context` (the column) is authenticated,
        so a ciphertext copied into another column does not open."""
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(self.current.data_algorithm, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(context.encode())
        body = encryptor.update(clear.encode()) + encryptor.finalize()
        packed = base64.b64encode(nonce + body + encryptor.tag).decode("ascii")
        return Ciphertext(self.current.id + SEPARATOR + packed)

    def open(self, sealed: str, context: str) -> str:
        key_id, _, packed = sealed.partition(SEPARATOR)
        key = self.keys.get(key_id)
        if key is None:
            raise ImproperlyConfigured(
                f"Personal data sealed under master key {key_id} cannot be opened: "
                "that key is neither JICENG_MASTER_KEY nor in JICENG_MASTER_KEYS_PREVIOUS."
            )
        raw = base64.b64decode(packed)
        nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        decryptor = Cipher(key.data_algorithm, modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(context.encode())
        return (decryptor.update(body) + decryptor.finalize()).decode()

    def seal_bytes(self, data: bytes, context: str) -> bytes:
        """A file's bytes sealed like a value: FILE_MAGIC, key id, nonce, body, tag."""
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(self.current.data_algorithm, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(context.encode())
        body = encryptor.update(data) + encryptor.finalize()
        return FILE_MAGIC + self.current.id.encode() + nonce + body + encryptor.tag

    def open_bytes(self, sealed: bytes, context: str) -> bytes:
        head = len(FILE_MAGIC)
        key_id = sealed[head : head + KEY_ID_LENGTH].decode("ascii")
        key = self.keys.get(key_id)
        if key is None:
            raise ImproperlyConfigured(f"A file sealed under master key {key_id} cannot be opened.")
        raw = sealed[head + KEY_ID_LENGTH :]
        nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        decryptor = Cipher(key.data_algorithm, modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(context.encode())
        return decryptor.update(body) + decryptor.finalize()

    def blind_index(self, clear: str, purpose: str, key: MasterKey | None = None) -> Digest:
        """HMAC-SM3 of the value under the index key, one per purpose (the same digits
        as an ID tail and as a phone tail give unrelated digests); 128 bits in hex."""
        mac = (key or self.index).index_mac.copy()
        mac.update(purpose.encode() + b"\0" + clear.encode())
        return Digest(mac.finalize().hex()[:32])


@functools.cache
def keyring() -> Keyring:
    return Keyring(settings.MASTER_KEY, settings.MASTER_KEYS_PREVIOUS)


_verified = False


def verify(ring: Keyring | None = None) -> Keyring:
    """Check the configured keys against the database's record; fail loudly if they do
    not match. Records the current key the first time it is seen beside a known one (a
    rotation begins) or on an empty database. Idempotent and cheap after the first call."""
    global _verified
    ring = ring or keyring()
    if _verified and ring is keyring():
        return ring
    from jiceng.core import audit
    from jiceng.core.actors import Actor
    from jiceng.core.models import KeyCheck as Record

    try:
        with transaction.atomic():
            known = {r.key_id: r for r in Record.objects.select_for_update()}
            for key_id, record in known.items():
                key = ring.keys.get(key_id)
                if key is not None and not std_hmac.compare_digest(
                    key.check_value, record.check_value
                ):
                    raise ImproperlyConfigured(
                        f"Master key {key_id} does not match its check value in the database."
                    )
            if known and not known.keys() & ring.keys.keys():
                raise ImproperlyConfigured(
                    "JICENG_MASTER_KEY is not the key this database's personal data was "
                    f"sealed under (the database knows {', '.join(sorted(known))}; "
                    f"JICENG_MASTER_KEY is {ring.current.id}). Set the right key; a new key "
                    "goes in JICENG_MASTER_KEY with the old one in JICENG_MASTER_KEYS_PREVIOUS."
                )
            if ring.current.id not in known:
                Record.objects.create(
                    key_id=ring.current.id,
                    check_value=ring.current.check_value,
                    holds_indexes=not known,
                )
                audit.record(
                    actor=Actor.system("keys"),
                    action="system.key_added",
                    object_type="core.keycheck",
                    object_id=ring.current.id,
                    detail={"holds_indexes": not known, "known": sorted(known)},
                )
            index_ids = [r.key_id for r in known.values() if r.holds_indexes]
    except DatabaseError:
        # No table yet (before the first migrate): nothing is sealed, nothing to check.
        return ring
    if index_ids:
        if index_ids[0] not in ring.keys:
            raise ImproperlyConfigured(
                f"The blind indexes are under master key {index_ids[0]}: keep it in "
                "JICENG_MASTER_KEYS_PREVIOUS until `jiceng keys reindex` has run."
            )
        ring.index = ring.keys[index_ids[0]]
    if ring is keyring():
        _verified = True
    return ring


def forget() -> None:
    """Read the keys again (tests that change the settings, after a reindex)."""
    global _verified
    keyring.cache_clear()
    _verified = False


def seal(clear: str, context: str) -> Ciphertext:
    return verify().seal(clear, context)


def open_sealed(sealed: str, context: str) -> str:
    return keyring().open(sealed, context)


def blind_index(clear: str, purpose: str) -> Digest:
    return verify().blind_index(clear, purpose)
