"""A stream sealed with SM4-GCM in framed chunks: backups of any size, written and read
with one chunk in memory.

Why framed GCM rather than one GCM over the file, or SM4-CTR with HMAC-SM3 over it: a
single tag is checked only after the last byte, so a reader of a multi-gigabyte dump
would act on bytes it has not yet authenticated; CTR plus a MAC needs two keys and a
second pass to check before use. Framed GCM (the STREAM construction of Hoang, Reyhanitabar,
Rogaway and Vizár) authenticates each chunk before it is handed on, and the whole file by
construction:

    header  = MAGIC, version (1 byte), master key id (8 ASCII hex digits), salt (16 bytes)
    frame   = length of the chunk (4 bytes, big-endian), SM4-GCM ciphertext, tag (16 bytes)

- The file key is HKDF-SM3 of the master key's backup subkey with the header's random
  salt: every file has its own key, so the frame counter never repeats a nonce under a key.
- A frame's nonce is its counter (8 bytes), three zero bytes and a last-frame flag, and
  every frame authenticates the header as associated data. A frame moved, dropped, copied
  from another file, or a header edited (another key id, another salt) fails its tag;
  a file cut at a frame boundary lacks the frame flagged last; bytes after that frame are
  refused too.
- The header names the master key id, so a backup made before a key rotation still opens
  while the old key is in JICENG_MASTER_KEYS_PREVIOUS.
"""

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from jiceng.core.keys import KEY_ID_LENGTH, TAG_BYTES, Keyring, MasterKey

MAGIC = b"JICENG-SEALED-BACKUP\n"
VERSION = 1
SALT_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + KEY_ID_LENGTH + SALT_BYTES
CHUNK_BYTES = 1024 * 1024
MAX_CHUNK_BYTES = 64 * 1024 * 1024  # a hostile length field cannot make a reader allocate more
_LENGTH = struct.Struct(">I")


class Refused(Exception):
    """The stream does not open: `reason` is one of "key_missing", "tampered", "format"."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason, self.detail = reason, detail


def _file_algorithm(key: MasterKey, salt: bytes) -> algorithms.SM4:
    hkdf = HKDF(algorithm=hashes.SM3(), length=16, salt=salt, info=b"jiceng/backup/file")
    return algorithms.SM4(hkdf.derive(key.backup_key))


def _nonce(counter: int, last: bool) -> bytes:
    return struct.pack(">Q3xB", counter, 1 if last else 0)


class Writer:
    """A binary file-like object that seals what is written to `raw`, CHUNK_BYTES at a time.
    `close()` writes the last frame; a writer left unclosed (an error midway) leaves a
    file that every reader refuses as truncated."""

    def __init__(self, raw, key: MasterKey):
        self.raw, self.counter, self.buffer, self.closed = raw, 0, bytearray(), False
        salt = os.urandom(SALT_BYTES)
        self.header = MAGIC + bytes([VERSION]) + key.id.encode("ascii") + salt
        self.algorithm = _file_algorithm(key, salt)
        raw.write(self.header)

    def write(self, data) -> int:
        self.buffer += data
        while len(self.buffer) >= CHUNK_BYTES:
            self._frame(bytes(self.buffer[:CHUNK_BYTES]), last=False)
            del self.buffer[:CHUNK_BYTES]
        return len(data)

    def _frame(self, chunk: bytes, *, last: bool) -> None:
        encryptor = Cipher(self.algorithm, modes.GCM(_nonce(self.counter, last))).encryptor()
        encryptor.authenticate_additional_data(self.header)
        body = encryptor.update(chunk) + encryptor.finalize()
        self.raw.write(_LENGTH.pack(len(chunk)) + body + encryptor.tag)
        self.counter += 1

    def close(self) -> None:
        if not self.closed:
            self._frame(bytes(self.buffer), last=True)
            self.buffer.clear()
            self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.close()


def is_sealed(raw) -> bool:
    """Whether the file at `raw`'s current position starts a sealed stream (rewinds)."""
    start = raw.tell()
    head = raw.read(len(MAGIC))
    raw.seek(start)
    return head == MAGIC


class Reader:
    """A binary file-like object that reads back what a Writer sealed, one frame at a time,
    each authenticated before any of its bytes is returned. Raises Refused."""

    def __init__(self, raw, ring: Keyring):
        self.raw, self.counter, self.finished = raw, 0, False
        self.chunk, self.position = b"", 0  # the frame being read, and how far
        header = raw.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES or not header.startswith(MAGIC):
            raise Refused("tampered", "文件头不完整")
        version = header[len(MAGIC)]
        if version != VERSION:
            raise Refused("format", f"不认识的加密备份版本：{version}")
        key_id = header[len(MAGIC) + 1 : len(MAGIC) + 1 + KEY_ID_LENGTH].decode("ascii", "replace")
        key = ring.keys.get(key_id)
        if key is None:
            raise Refused("key_missing", key_id)
        self.key_id, self.header = key_id, header
        self.algorithm = _file_algorithm(key, header[-SALT_BYTES:])

    def _exactly(self, count: int) -> bytes:
        data = self.raw.read(count)
        if len(data) != count:
            raise Refused("tampered", "文件不完整（被截断）")
        return data

    def _next_frame(self) -> bytes:
        prefix = self.raw.read(_LENGTH.size)
        if not prefix:
            raise Refused("tampered", "文件不完整（缺少最后一段）")
        if len(prefix) != _LENGTH.size:
            raise Refused("tampered", "文件不完整（被截断）")
        (length,) = _LENGTH.unpack(prefix)
        if length > MAX_CHUNK_BYTES:
            raise Refused("tampered", "分段长度异常")
        body = self._exactly(length + TAG_BYTES)
        for last in (False, True):
            nonce = _nonce(self.counter, last)
            decryptor = Cipher(self.algorithm, modes.GCM(nonce, body[-TAG_BYTES:])).decryptor()
            decryptor.authenticate_additional_data(self.header)
            try:
                chunk = decryptor.update(body[:-TAG_BYTES]) + decryptor.finalize()
            except InvalidTag:
                continue
            self.counter += 1
            if last:
                self.finished = True
                if self.raw.read(1):
                    raise Refused("tampered", "最后一段之后还有多余的数据")
            return chunk
        raise Refused("tampered", f"第 {self.counter + 1} 段校验失败")

    def read(self, size: int = -1) -> bytes:
        parts, wanted = [], size
        while size < 0 or wanted > 0:
            if self.position == len(self.chunk):
                if self.finished:
                    break
                self.chunk, self.position = self._next_frame(), 0
                continue
            end = len(self.chunk) if size < 0 else min(len(self.chunk), self.position + wanted)
            parts.append(self.chunk[self.position : end])
            wanted -= end - self.position
            self.position = end
        return b"".join(parts)

    def finish(self) -> None:
        """Read to the end: the stream is whole only once its last frame has been checked
        (a tar reader stops at the archive's end marker, before the padding and the end)."""
        while not self.finished:
            self._next_frame()
        self.chunk, self.position = b"", 0
