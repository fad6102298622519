"""Intake: one record however it arrives, replays create nothing, abuse is refused."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from jiceng.cases.models import Case, Notification
from jiceng.cases.services import case_submit
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.intake import Sender
from jiceng.core.photos import clean_photo
from jiceng.core.throttle import address_key

PUBLIC = Actor.public("test")


def jpeg(width=800, height=600, gps=None) -> SimpleUploadedFile:
    image = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if gps:
        lat, lon = gps
        exif.get_ifd(0x8825).update({1: "N", 2: (lat, 0.0, 0.0), 3: "E", 4: (lon, 0.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), "image/jpeg")


def test_photos_are_reencoded_without_metadata():
    photo = clean_photo(jpeg(4000, 3000, gps=(35.4, 116.34)))
    data = photo.content.read()
    with Image.open(io.BytesIO(data)) as image:
        assert max(image.size) == 2048
        assert not image.getexif()
    assert photo.latitude is None  # location kept only when the resident chooses


def test_the_location_is_read_when_the_resident_shares_it():
    photo = clean_photo(jpeg(gps=(35.4, 116.34)), keep_location=True)
    assert (photo.latitude, photo.longitude) == (Decimal("35.4"), Decimal("116.34"))


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("a.jpg", b"<html>not an image</html>", "image/jpeg"), "photo_invalid"),
        (SimpleUploadedFile("a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"), None),
    ],
)
def test_non_photos_are_refused(upload, code):
    with pytest.raises(DomainError) as error:
        clean_photo(upload)
    assert error.value.code in (code, "photo_type", "photo_invalid")


def test_decompression_bombs_are_refused_before_decoding():
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 1_000_000
    with pytest.raises(DomainError) as error:
        clean_photo(SimpleUploadedFile("bomb.png", buffer.getvalue(), "image/png"))
    assert error.value.code == "photo_pixels"


@override_settings(JICENG_PHOTO_MAX_MB=0)
def test_oversize_photos_are_refused():
    with pytest.raises(DomainError) as error:
        clean_photo(jpeg())
    assert error.value.code == "photo_too_large"


def test_a_replayed_submission_creates_one_request(world, catalogue):
    fields = dict(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="路灯不亮",
        category=catalogue["facilities.street-light"],
        idempotency_key="form-123",
    )
    first, created = case_submit(**fields)
    again, created_again = case_submit(**fields)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Case.objects.count() == 1


def test_triage_staff_are_told(world, submit):
    case = submit()
    assert Notification.objects.filter(case=case, user=world.a("grid_worker"), kind="new").exists()
    assert not Notification.objects.filter(case=case, user=world.b("grid_worker")).exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"description": "x" * 4001}, "description_too_long"),
        ({"description": "  "}, "description_required"),
        ({"region_code": "370829001001"}, "grid_unknown"),  # a community, not a grid
        ({"latitude": Decimal("31.2"), "longitude": Decimal("121.5")}, "location_outside"),
        ({"latitude": Decimal("35.4")}, "location_incomplete"),
        ({"reporter_phone": "call me"}, "phone_invalid"),
    ],
)
def test_bad_input_writes_nothing(world, catalogue, fields, code):
    base = dict(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="楼道灯坏了",
        category=catalogue["property.stair-light"],
    )
    with pytest.raises(DomainError) as error:
        case_submit(**{**base, **fields})
    assert error.value.code == code
    assert not Case.objects.exists()


def test_a_category_group_or_another_countys_category_is_refused(world, catalogue):
    for category in (catalogue["property"],):
        with pytest.raises(DomainError):
            case_submit(
                actor=PUBLIC,
                channel="qr",
                region_code=world.grid_a.code,
                description="x",
                category=category,
            )


def test_required_answers(world, catalogue):
    gas = catalogue["facilities.gas"]
    with pytest.raises(DomainError) as error:
        case_submit(
            actor=PUBLIC,
            channel="qr",
            region_code=world.grid_a.code,
            description="有味道",
            category=gas,
        )
    assert error.value.code == "answer_required"
    with pytest.raises(DomainError):
        case_submit(
            actor=PUBLIC,
            channel="qr",
            region_code=world.grid_a.code,
            description="有味道",
            category=gas,
            answers={"smell": "maybe"},
        )
    case, _ = case_submit(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="有味道",
        category=gas,
        answers={"smell": "yes", "unknown": "dropped"},
    )
    assert case.answers == {"smell": "yes"}


@override_settings(JICENG_INTAKE_PER_HOUR_DEVICE=2, JICENG_INTAKE_PER_HOUR_ADDRESS=4)
def test_anonymous_intake_is_limited_per_device_and_per_address(world, submit):
    """Every try counts against the sender's address and device, a refused one too."""
    phone = Sender(address="10.0.0.1", device="device-a")
    for _ in range(2):
        submit(sender=phone)
    with pytest.raises(DomainError) as error:
        submit(sender=phone)
    assert error.value.code == "rate_limited"
    # The same device from another address is still the same device.
    with pytest.raises(DomainError):
        submit(sender=Sender(address="10.0.0.9", device="device-a"))
    # Another device on the first address: the address has one try left.
    submit(sender=Sender(address="10.0.0.1", device="device-b"))
    with pytest.raises(DomainError):
        submit(sender=Sender(address="10.0.0.1", device="device-c"))
    assert Case.objects.count() == 3
    assert not Case.objects.filter(is_suspect=True).exists()


def test_an_address_is_counted_by_its_network(settings):
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    settings.JICENG_ADDRESS_PREFIX_IPV4 = 24
    assert address_key("203.0.113.7") == address_key("203.0.113.200") == "203.0.113.0/24"
