"""Photos from residents and handlers: checked, re-encoded, stripped of metadata.

Only JPEG, PNG and WebP are accepted, at most JICENG_PHOTO_MAX_MB each and 40 megapixels
(decompression bombs are refused before decoding). Every photo is re-encoded as JPEG no
larger than 2048 px: nothing of the original file survives, so no EXIF (camera, time,
GPS) is kept. If the resident chose to share their location, the GPS position is read
first and returned, to be stored with the request.
"""

import io
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from jiceng.core.errors import DomainError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
GPS_TAG = 0x8825


@dataclass
class CleanPhoto:
    content: ContentFile
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _gps(image: Image.Image) -> tuple[Decimal, Decimal] | None:
    try:
        gps = image.getexif().get_ifd(GPS_TAG)

        def degrees(values, ref) -> Decimal:
            d, m, s = (float(v) for v in values)
            value = Decimal(str(round(d + m / 60 + s / 3600, 6)))
            return -value if ref in ("S", "W") else value

        return degrees(gps[2], gps[1]), degrees(gps[4], gps[3])
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None


def clean_photo(upload, *, keep_location: bool = False) -> CleanPhoto:
    """Check and re-encode one uploaded photo. Raises DomainError with a Chinese message."""
    limit = settings.JICENG_PHOTO_MAX_MB * 1024 * 1024
    if upload.size > limit:
        raise DomainError(
            f"照片不能超过 {settings.JICENG_PHOTO_MAX_MB} MB。",
            code="photo_too_large",
            field="photos",
        )
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise DomainError(
                    "只能上传 JPEG、PNG 或 WebP 照片。", code="photo_type", field="photos"
                )
            if probe.width * probe.height > MAX_PIXELS:
                raise DomainError(
                    f"照片像素过大（最多 {MAX_PIXELS // 10_000} 万像素）："
                    "请在相机中改用标准分辨率，或截图后上传。",
                    code="photo_pixels",
                    field="photos",
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            location = _gps(image) if keep_location else None
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            output = io.BytesIO()
            image.convert("RGB").save(output, "JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise DomainError("无法识别的图片文件。", code="photo_invalid", field="photos") from None
    photo = CleanPhoto(ContentFile(output.getvalue(), name="photo.jpg"))
    if location:
        photo.latitude, photo.longitude = location
    return photo
