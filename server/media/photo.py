"""Photos: JPEG, PNG or WebP only, recognised by their magic bytes (the declared Content-Type is not
trusted), decoded by Pillow within a pixel bound, turned upright, shrunk to MAX_SIDE and re-encoded
as JPEG from the pixels alone: EXIF (GPS location, camera serial), XMP and ICC metadata never
reach the stored bytes. And the small copy of a stored photo the exports embed.

Pure functions (no I/O); Pillow's work is CPU-bound, callers run it off the event loop.
"""

from __future__ import annotations

import base64
import io
import warnings
from typing import Final

from PIL import Image

from server.media.upload import MediaRefused, Processed, too_large

MAX_PHOTO_UPLOAD: Final = 4 * 1024 * 1024  # the client sends <= 400 KB; old phones may not shrink
MAX_SIDE: Final = 1600
MAX_PIXELS: Final = 40_000_000  # decompression-bomb bound (a 40 MP photo is a big phone's)
# JPEG is decoded at a reduced scale (libjpeg's DCT scaling, Pillow's draft mode: 1/2 to 1/8),
# so a 40 MP photo costs ~10 MP of memory. PNG and WebP have no such mode: every pixel is
# decoded, 4 bytes each, so they are refused past this many pixels BEFORE decoding (a 154 KB
# PNG of 6300x6300 cost ~470 MB of peak memory). A phone screenshot is < 4 MP, a tablet's < 6 MP;
# 8 MP of RGBA peaks at ~80 MB.
MAX_FULL_DECODE_PIXELS: Final = 8_000_000
JPEG_QUALITY: Final = 82


def sniff_image(data: bytes) -> str | None:
    """The image format from the first bytes: "JPEG", "PNG", "WEBP" or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def process_photo(data: bytes) -> Processed:
    if len(data) > MAX_PHOTO_UPLOAD:
        raise too_large("photo", MAX_PHOTO_UPLOAD)
    kind = sniff_image(data)
    if kind is None:
        raise MediaRefused(415, "not_an_image", "Only JPEG, PNG or WebP pictures are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=[kind])
            pixels = opened.width * opened.height
            if pixels > MAX_PIXELS or (kind != "JPEG" and pixels > MAX_FULL_DECODE_PIXELS):
                raise MediaRefused(413, "too_many_pixels", "This picture has too many pixels.")
            if kind == "JPEG":
                # Decode at the smallest DCT scale (1/2 .. 1/8) that still gives the long side
                # MAX_SIDE pixels: the thumbnail below needs no more.
                longest = max(opened.width, opened.height, 1)
                opened.draft(
                    "RGB",
                    (
                        max(1, MAX_SIDE * opened.width // longest),
                        max(1, MAX_SIDE * opened.height // longest),
                    ),
                )
            opened.load()
    except MediaRefused:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise MediaRefused(422, "bad_image", "This picture could not be read.") from exc
    # Shrunk first (the full-size pixels are freed before any copy), then turned upright
    # before the orientation tag is dropped with the rest of the metadata.
    orientation = opened.getexif().get(ORIENTATION_TAG)
    opened.thumbnail((MAX_SIDE, MAX_SIDE))
    image: Image.Image = _upright(opened, orientation)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    # Only the pixels are written: no exif=, no icc_profile=, and no `info` (Pillow writes a
    # JPEG comment, COM, from image.info["comment"] when it is there).
    image.info = {}
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return Processed("image/jpeg", out.getvalue())


ORIENTATION_TAG: Final = 0x0112
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image, orientation: object) -> Image.Image:
    """The picture as the camera's EXIF orientation says to show it (on the shrunk pixels)."""
    method = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


THUMBNAIL_SIDE: Final = 360


def thumbnail_data_uri(data: bytes) -> str | None:
    """A small JPEG of a stored photo as a `data:` URI (pictures embedded in the SVG export and
    the report); None if the stored bytes do not decode."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        return None
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
