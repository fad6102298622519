"""Personal data: one field type sealed at rest, masked wherever shown, read in clear
only through `reveal` (or by the few kernel paths that must: exports to those who may
reveal, senders, lookups).

- `PersonalField` stores SM4-GCM ciphertext (core.keys) and gives a `Personal` value
  whose text is its mask: a template, a form, a log line or an API schema that forgets
  to mask shows the mask, and JSON refuses it.
- `BlindIndexField` stores a keyed hash (HMAC-SM3 under the index key) of another
  field's clear value or of its last digits: `filter(id_number_index=clear)` and
  `filter(id_tail="1234")` hash the value looked up the same way, so exact lookups and
  tail search run on an index without the clear value being stored anywhere.
- `reveal` is the one way a person's clear value leaves for a page or the API: the
  caller passes its permission rule's verdict, and the reveal is audited allowed or not,
  and counted against the revealer's quota (core.quota).
"""

import datetime
import io
import re
from collections.abc import Callable

from django.core.exceptions import FieldError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models.expressions import Col

from jiceng.core import keys, masking


def _mask(kind: str, clear) -> str:
    if kind == "id_number":
        return masking.mask_id_number(clear)
    if kind == "phone":
        return masking.mask_phone(clear)
    if kind == "date":
        return masking.age_band(clear)
    return masking.mask_text(clear)


class Personal:
    """A clear personal value that shows itself masked. Compares equal to its clear
    value (so code can test it), but `str()`, `repr()` and templates give the mask; the
    clear value is `clear(value)`."""

    __slots__ = ("_clear", "kind")

    def __init__(self, value, kind: str):
        self._clear = value
        self.kind = kind

    @property
    def masked(self) -> str:
        return _mask(self.kind, self._clear)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"<Personal {self.kind} {self.masked}>"

    def __eq__(self, other) -> bool:
        if isinstance(other, Personal):
            return self._clear == other._clear
        return self._clear == other

    def __hash__(self) -> int:
        return hash(self._clear)

    def __bool__(self) -> bool:
        return bool(self._clear)

    def __getitem__(self, key) -> str:
        # Slicing reads the mask (a phone's last four digits are in it): never more.
        return self.masked[key]

    def __len__(self) -> int:
        return len(self._clear) if isinstance(self._clear, str) else 1


def clear(value):
    """The clear value of a personal field's value (plain values pass as they are)."""
    return value._clear if isinstance(value, Personal) else value


class PersonalField(models.TextField):
    """A personal value sealed with SM4-GCM; `kind` picks its mask (id_number, phone,
    date, text). Only `isnull` lookups work: find rows by a BlindIndexField."""

    description = "Personal data (sealed)"

    def __init__(self, *args, kind: str = "text", **kwargs):
        self.kind = kind
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        # Authenticated with the ciphertext: a value copied into another column fails.
        self.context = f"{cls._meta.label_lower}.{name}"

    def seal(self, value) -> str:
        """The stored form of a clear value (for writers that bypass the ORM, like COPY)."""
        value = clear(value)
        if value is None or value == "" or isinstance(value, keys.Ciphertext):
            return value
        if isinstance(value, datetime.date):
            value = value.isoformat()
        return keys.seal(str(value), self.context)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if value == "":
            return Personal("", self.kind)
        opened = keys.open_sealed(value, self.context)
        if self.kind == "date":
            opened = datetime.date.fromisoformat(opened)
        return Personal(opened, self.kind)

    def to_python(self, value):
        if isinstance(value, Personal) or value is None:
            return value
        return Personal(value, self.kind)

    def get_prep_value(self, value):
        return self.seal(value)

    def value_to_string(self, obj) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else _mask(self.kind, clear(value))

    def get_lookup(self, lookup_name):
        """`isnull`; and `exact`/`in` where the model has a whole-value blind index of
        this field, which they then compare instead (`filter(id_number=x)` hashes x)."""
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        index = next(
            (
                f
                for f in self.model._meta.concrete_fields
                if isinstance(f, BlindIndexField) and f.source == self.name and not f.tail
            ),
            None,
        )
        if lookup_name in ("exact", "in") and index is not None:
            base = super().get_lookup(lookup_name)

            class OnIndex(base):
                def __init__(self, lhs, rhs):
                    if isinstance(lhs, Col):
                        lhs = Col(lhs.alias, index)
                    super().__init__(lhs, rhs)

            return OnIndex
        raise FieldError(
            f"{self.model.__name__}.{self.name} is sealed: look it up by its blind index."
        )


class BlindIndexField(models.CharField):
    """A keyed hash of `source`'s clear value (or of its last `tail` characters). Lookups
    hash the value looked up; an empty source gives an empty index."""

    description = "Blind index of a personal field"

    def __init__(self, *args, source: str, tail: int | None = None, **kwargs):
        self.source = source
        self.tail = tail
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.tail is not None:
            kwargs["tail"] = self.tail
        for option, default in (("max_length", 32), ("editable", False), ("blank", True)):
            if kwargs.get(option) == default:
                del kwargs[option]
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        self.purpose = f"{cls._meta.label_lower}.{name}"

    def digest(self, value) -> str:
        """The index of a clear value (for writers that bypass the ORM, like COPY)."""
        value = clear(value)
        if value is None or value == "" or isinstance(value, keys.Digest):
            return value or ""
        value = value.isoformat() if isinstance(value, datetime.date) else str(value)
        if self.tail:
            value = value[-self.tail :]
        return keys.blind_index(value, self.purpose)

    def pre_save(self, model_instance, add):
        source = getattr(model_instance, self.source)
        if isinstance(clear(source), keys.Ciphertext):  # sealed by the writer: so is this
            return getattr(model_instance, self.attname)
        value = self.digest(source)
        setattr(model_instance, self.attname, value)
        return value

    def from_db_value(self, value, expression, connection):
        return value if value is None else keys.Digest(value)

    def get_prep_value(self, value):
        return self.digest(value)


class YearOfField(models.PositiveSmallIntegerField):
    """The year of a sealed date, kept in clear for filters (birth year for ages)."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("null", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for option, default in (("null", True), ("editable", False)):
            if kwargs.get(option) == default:
                del kwargs[option]
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        source = clear(getattr(model_instance, self.source))
        if isinstance(source, str) and not isinstance(source, keys.Ciphertext) and source:
            source = datetime.date.fromisoformat(source)
        if isinstance(source, datetime.date):
            setattr(model_instance, self.attname, source.year)
        return getattr(model_instance, self.attname)


SEALED = re.compile(rf"^[0-9a-f]{{{keys.KEY_ID_LENGTH}}}\$")


def seal_existing_rows(
    connection,
    *,
    table: str,
    sealed: dict[str, str],
    indexes: dict[str, tuple[str, str, int | None]] | None = None,
    years: dict[str, str] | None = None,
    batch: int = 2000,
) -> int:
    """For data migrations: seal clear columns in place (`sealed`: column -> context),
    filling blind indexes (column -> (clear source column, purpose, tail)) and years
    (column -> date column) from the clear values. One transaction per batch; rows
    already sealed are skipped, so an interrupted run resumes. Returns rows sealed."""
    from jiceng.core.bulk import table_batches

    indexes, years = indexes or {}, years or {}
    quote = connection.ops.quote_name
    sources = list(sealed)
    targets = [*sealed, *indexes, *years]
    update = (
        f"UPDATE {quote(table)} SET {', '.join(quote(c) + ' = %s' for c in targets)} "  # noqa: S608
        "WHERE id = %s"
    )
    ring = None  # verified once, when there is something to seal: verifying reads the database
    done = 0
    for cursor, rows in table_batches(table, sources, batch, using=connection):
        changes = []
        for pk, *values in rows:
            clear_values = {
                c: ("" if v is None else str(v)) for c, v in zip(sources, values, strict=True)
            }
            if any(SEALED.match(v) for v in clear_values.values()):
                continue
            ring = ring or keys.verify()
            row = [ring.seal(v, sealed[c]) if v else v for c, v in clear_values.items()]
            for source, purpose, tail in indexes.values():
                value = clear_values[source]
                value = value[-tail:] if tail and value else value
                row.append(ring.blind_index(value, purpose) if value else "")
            for source in years.values():
                value = clear_values[source]
                row.append(int(value[:4]) if value else None)
            changes.append([*row, pk])
        if changes:
            cursor.executemany(update, changes)
            done += len(changes)
    return done


FILE_CONTEXT = "core.sealed-file"


class SealedFileStorage(FileSystemStorage):
    """Files that hold personal data (uploaded rosters, error workbooks), sealed on disk
    with the data key and opened in memory (they are at most the upload limit). A file
    written before sealing began opens as it is."""

    def _save(self, name, content):
        content.seek(0)
        data = b"".join(content.chunks()) if hasattr(content, "chunks") else content.read()
        sealed = keys.verify().seal_bytes(data, FILE_CONTEXT)
        return super()._save(name, ContentFile(sealed))

    def _open(self, name, mode="rb"):
        with super()._open(name, "rb") as handle:
            data = handle.read()
        if data.startswith(keys.FILE_MAGIC):
            data = keys.keyring().open_bytes(data, FILE_CONTEXT)
        return File(io.BytesIO(data), name=name)


def sealed_storage() -> SealedFileStorage:
    return SealedFileStorage()


def reveal(
    *,
    actor,
    allowed: bool,
    action: str,
    obj,
    value: Callable[[], object],
    detail: dict | None = None,
    denied: Exception | None = None,
) -> str:
    """The one door to a clear personal value. The caller decides with its own rule
    (`allowed`); this audits the reveal whether allowed or not (a denied one in a write
    that survives the refusal) and returns `value()` in clear, or raises `denied`
    (NotFound unless given). An allowed reveal counts against the revealer's quota
    (core.quota), past which it is refused too (QuotaExceeded). Not to be called inside
    a transaction: the refusals' records must outlive it."""
    from jiceng.core import audit, quota, refusals
    from jiceng.core.errors import NotFound
    from jiceng.core.models import AuditEvent

    if not allowed:
        refusals.refuse(
            denied or NotFound(),
            record=lambda: audit.record(
                actor=actor, action=action, obj=obj, outcome=AuditEvent.FAILURE, detail=detail
            ),
        )
    quota.admit(actor=actor, action=action, obj=obj, detail=detail)
    return clear(value())


def reveal_target(*, actor, action: str, object_type: str, object_id, find: Callable[[], object]):
    """The record a reveal is asked of, found by `find` within the actor's scope. A miss
    (none such, or outside the scope: the same to the asker) is a denied reveal, audited
    with the id asked for, so that probing ids beyond one's scope leaves a trace."""
    from jiceng.core import audit, refusals
    from jiceng.core.errors import NotFound
    from jiceng.core.models import AuditEvent

    try:
        return find()
    except NotFound as missing:
        refusals.refuse(
            missing,
            record=lambda: audit.record(
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                outcome=AuditEvent.FAILURE,
                detail={"found": False},
            ),
        )
