"""Making a version's preview: a small image (WebP, at most `MAX_PREVIEW_BYTES`) and what
a download costs besides its size (a document's pages, a recording's duration).

- PDF: the first page, rendered by PDFium (pypdfium2), and the page count;
- PNG, JPEG, GIF, WebP: a downscaled copy; an image declaring more than `max_pixels`
  pixels is refused before a pixel is decoded (a decompression bomb), and a damaged or
  truncated one has no preview;
- ODF and OOXML: the thumbnail the office program saved in the file, else an image of
  its first text, and the page count the document states;
- text (and RTF): an image of its first lines, in DejaVu Sans (Latin, Cyrillic);
- audio: the duration (mutagen); video: the duration and a poster frame decoded by
  PyAV (FFmpeg inside its wheel).

`make_preview` never raises for what a file holds: whatever it cannot read has no
preview. Only a path that cannot be opened at all raises `OSError`, a fault of the
store. `make_preview_isolated` runs it in the sandbox of `exchange.files.sandbox`, as
the preview job does.
"""

from __future__ import annotations

import base64
import io
import logging
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from PIL import Image, ImageDraw, ImageFile, ImageFont, ImageOps

from exchange.files import media_types
from exchange.files.sandbox import SandboxEnd, SandboxLimits, run_sandboxed
from exchange.text.budget import ExtractionBudget
from exchange.text.extraction import ExtractionLimits, extract_text
from exchange.text.office_documents import read_office_cover

logger = logging.getLogger(__name__)

MAX_PREVIEW_BYTES: Final = 20 * 1024
# The longest side of a preview, then smaller ones until the image fits the bytes.
_SIDES: Final = (320, 256, 200, 160, 120, 96)
_QUALITIES: Final = (80, 65, 50, 35)
# Rendering and decoding work at twice the largest side at most, so that downscaling
# stays sharp without decoding more than needed.
_WORK_SIDE: Final = _SIDES[0] * 2
_BACKGROUND: Final = (255, 255, 255)

_MIB = 1024 * 1024
# DejaVu Sans: Latin and Cyrillic (Kyrgyz ң, ө, ү too); Debian's fonts-dejavu-core, and
# the same font where other systems put it.
FONT_CANDIDATES: Final = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
)
# A text preview: a page of this size, this many lines of this many characters.
_TEXT_PAGE: Final = (240, 320)
_TEXT_MARGIN: Final = 12
_TEXT_FONT_SIZE: Final = 13
_TEXT_LINE_HEIGHT: Final = 17
_TEXT_COLUMNS: Final = 30
_TEXT_LINES: Final = 17

_PDF_TYPES: Final = frozenset({media_types.PDF, "application/x-pdf"})
_IMAGE_TYPES: Final = frozenset(
    {media_types.PNG, media_types.JPEG, media_types.GIF, media_types.WEBP}
)
_OFFICE_TYPES: Final = frozenset(
    {
        media_types.DOCX,
        media_types.XLSX,
        media_types.PPTX,
        media_types.ODT,
        media_types.ODS,
        media_types.ODP,
    }
)
_AUDIO_TYPES: Final = frozenset(
    {media_types.MP3, media_types.M4A, media_types.OGG, media_types.WAV}
)
_VIDEO_TYPES: Final = frozenset({media_types.MP4, media_types.WEBM})
_TEXT_LIKE: Final = frozenset({media_types.RTF, "text/rtf"})


@dataclass(frozen=True)
class PreviewLimits:
    """Caps on making one preview: the sandbox's time and memory, the pixels an image
    (or a video frame, or a rendered page) may declare, the bytes of a thumbnail."""

    timeout_seconds: float = 30.0
    max_memory_bytes: int = 512 * _MIB
    max_pixels: int = 40_000_000
    max_part_bytes: int = 10 * _MIB


@dataclass(frozen=True)
class Preview:
    """What was made: `image` is WebP bytes (None: no preview), `pages` and
    `duration_seconds` where the file says."""

    image: bytes | None = None
    pages: int | None = None
    duration_seconds: float | None = None
    notes: list[str] = field(default_factory=list)


class _Refused(Exception):
    """The file is not previewed (too many pixels, damaged, unreadable)."""


def essence(media_type: str) -> str:
    return media_type.partition(";")[0].strip().lower()


def is_previewed(media_type: str) -> bool:
    """Whether files of this type are read for a preview at all."""
    kind = essence(media_type)
    return (
        kind in _PDF_TYPES
        or kind in _IMAGE_TYPES
        or kind in _OFFICE_TYPES
        or kind in _AUDIO_TYPES
        or kind in _VIDEO_TYPES
        or kind in _TEXT_LIKE
        or kind.startswith("text/")
    )


def is_media(media_type: str) -> bool:
    """Sound and video: only their headers and a frame are read, whatever their size."""
    kind = essence(media_type)
    return kind in _AUDIO_TYPES or kind in _VIDEO_TYPES


# --- the small image ----------------------------------------------------------------------


def _flattened(image: Image.Image) -> Image.Image:
    """RGB on white: transparency and palettes as a reader would see them."""
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, _BACKGROUND)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def encode_small(image: Image.Image, max_bytes: int = MAX_PREVIEW_BYTES) -> bytes | None:
    """`image` downscaled and WebP-encoded, smaller and rougher until it fits `max_bytes`;
    None if even the smallest does not."""
    flat = _flattened(image)
    for side in _SIDES:
        scaled = flat.copy()
        scaled.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in _QUALITIES:
            out = io.BytesIO()
            scaled.save(out, "WEBP", quality=quality, method=4)
            if out.tell() <= max_bytes:
                return out.getvalue()
    return None


def _check_pixels(width: int, height: int, limits: PreviewLimits) -> None:
    if width <= 0 or height <= 0 or width * height > limits.max_pixels:
        raise _Refused(f"{width}x{height} pixels is more than {limits.max_pixels}")


def _decoded_image(source: IO[bytes], limits: PreviewLimits) -> Image.Image:
    """The first frame of a PNG, JPEG, GIF or WebP, upright, its declared size checked
    before anything is decoded."""
    image = Image.open(source)
    _check_pixels(image.width, image.height, limits)
    if image.format == "JPEG":
        # Decodes at 1/2, 1/4 or 1/8 scale straight from the DCT: less memory and time.
        image.draft("RGB", (_WORK_SIDE, _WORK_SIDE))
    image.seek(0)
    image.load()
    upright = ImageOps.exif_transpose(image)
    return upright if upright is not None else image


# --- kinds of file ------------------------------------------------------------------------


def _image(path: Path, limits: PreviewLimits) -> Preview:
    with path.open("rb") as file:
        try:
            image = _decoded_image(file, limits)
        except _Refused:
            raise
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise _Refused(f"image not decoded: {exc}") from exc
        return Preview(image=encode_small(image))


def _pdf(path: Path, limits: PreviewLimits) -> Preview:
    import pypdfium2

    path.open("rb").close()  # a missing file is the store's fault, not the document's
    try:
        document = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        raise _Refused(f"PDF not opened: {exc}") from exc
    try:
        pages = len(document)
        if pages == 0:
            return Preview()
        page = document[0]
        width, height = page.get_size()  # points, 1/72 inch
        if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
            return Preview(pages=pages)
        scale = min(_WORK_SIDE / max(width, height), 4.0)
        _check_pixels(math.ceil(width * scale), math.ceil(height * scale), limits)
        bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
        image = bitmap.to_pil()
        return Preview(image=encode_small(image), pages=pages)
    except pypdfium2.PdfiumError as exc:
        raise _Refused(f"PDF page not rendered: {exc}") from exc
    finally:
        document.close()


def _find_font() -> Path | None:
    return next((path for path in FONT_CANDIDATES if path.is_file()), None)


def text_image(text: str) -> Image.Image | None:
    """A small page showing the first lines of `text`; None without a font that writes
    Cyrillic, or without text."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        wrapped = textwrap.wrap(paragraph.expandtabs(4), _TEXT_COLUMNS) or [""]
        lines.extend(wrapped)
        if len(lines) >= _TEXT_LINES:
            break
    lines = lines[:_TEXT_LINES]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return None
    font_path = _find_font()
    if font_path is None:
        logger.warning("no DejaVu Sans font found; text files get no preview")
        return None
    font = ImageFont.truetype(str(font_path), _TEXT_FONT_SIZE)
    page = Image.new("RGB", _TEXT_PAGE, _BACKGROUND)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(lines):
        draw.text(
            (_TEXT_MARGIN, _TEXT_MARGIN + number * _TEXT_LINE_HEIGHT),
            line,
            font=font,
            fill=(30, 30, 30),
        )
    return page


def _first_text(path: Path, media_type: str, limits: PreviewLimits) -> str:
    extraction = extract_text(
        path,
        media_type,
        ExtractionLimits(
            max_output_chars=_TEXT_COLUMNS * _TEXT_LINES * 2,
            max_entry_bytes=limits.max_part_bytes * 5,
            max_total_bytes=limits.max_part_bytes * 10,
            timeout_seconds=limits.timeout_seconds / 2,
            max_memory_bytes=limits.max_memory_bytes,
        ),
    )
    return extraction.text if extraction.status == "done" else ""


def _text(path: Path, media_type: str, limits: PreviewLimits) -> Preview:
    image = text_image(_first_text(path, media_type, limits))
    return Preview(image=None if image is None else encode_small(image))


def _office(path: Path, media_type: str, limits: PreviewLimits) -> Preview:
    budget = ExtractionBudget(
        max_output_chars=1,
        max_entry_bytes=limits.max_part_bytes,
        max_total_bytes=limits.max_part_bytes * 2,
        max_entries=5000,
        timeout_seconds=limits.timeout_seconds / 2,
    )
    try:
        cover = read_office_cover(path, budget)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as exc:
        raise _Refused(f"office file not read: {exc}") from exc
    image: bytes | None = None
    if cover.thumbnail is not None:
        try:
            image = encode_small(_decoded_image(io.BytesIO(cover.thumbnail), limits))
        except (_Refused, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            image = None
    if image is None:
        page = text_image(_first_text(path, media_type, limits))
        image = None if page is None else encode_small(page)
    return Preview(image=image, pages=cover.pages)


def _duration_by_mutagen(path: Path) -> float | None:
    import mutagen

    try:
        recording: Any = mutagen.File(str(path))
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception:
        return None
    length = getattr(getattr(recording, "info", None), "length", None)
    if isinstance(length, int | float) and math.isfinite(length) and length > 0:
        return round(float(length), 3)
    return None


def _audio(path: Path, limits: PreviewLimits) -> Preview:
    return Preview(duration_seconds=_duration_by_mutagen(path))


def _video(path: Path, limits: PreviewLimits) -> Preview:
    duration = _duration_by_mutagen(path)
    try:
        poster, measured = _poster_frame(path, limits)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _Refused:
        raise
    except Exception as exc:
        # PyAV raises its own errors (av.FFmpegError and kin) for what FFmpeg refuses.
        logger.info("no poster frame for %s: %r", path, exc)
        poster, measured = None, None
    return Preview(
        image=None if poster is None else encode_small(poster),
        duration_seconds=duration if duration is not None else measured,
    )


def _poster_frame(path: Path, limits: PreviewLimits) -> tuple[Image.Image | None, float | None]:
    """A frame a little into the video (the very first is often black) and the
    container's duration."""
    import av

    path.open("rb").close()
    with av.open(str(path), mode="r") as container:
        duration = (
            round(container.duration / av.time_base, 3)
            if container.duration and container.duration > 0
            else None
        )
        if not container.streams.video:
            return None, duration
        stream = container.streams.video[0]
        context = stream.codec_context
        _check_pixels(context.width, context.height, limits)
        # One decoding thread: threads each reserve address space under the sandbox's cap.
        context.thread_count = 1
        context.thread_type = "NONE"
        if duration and duration > 2 and stream.time_base:
            target = min(duration / 10, 5.0)
            container.seek(int(target / stream.time_base), stream=stream, any_frame=False)
        for frame in container.decode(stream):
            image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
            return image, duration
        return None, duration


def _reader_for(media_type: str) -> Callable[[Path, PreviewLimits], Preview] | None:
    kind = essence(media_type)
    if kind in _PDF_TYPES:
        return _pdf
    if kind in _IMAGE_TYPES:
        return _image
    if kind in _AUDIO_TYPES:
        return _audio
    if kind in _VIDEO_TYPES:
        return _video
    if kind in _OFFICE_TYPES:
        return lambda path, limits: _office(path, kind, limits)
    if kind in _TEXT_LIKE or kind.startswith("text/"):
        return lambda path, limits: _text(path, kind, limits)
    return None


def make_preview(path: Path, media_type: str, limits: PreviewLimits = PreviewLimits()) -> Preview:
    """The preview of the file at `path`, sniffed as `media_type`, made in this process.

    Prefer `make_preview_isolated` for files from users."""
    reader = _reader_for(media_type)
    if reader is None:
        return Preview()
    previous_limit = Image.MAX_IMAGE_PIXELS
    # Pillow's own guard as well: it refuses (not only warns) past the limit.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels // 2
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        return reader(path, limits)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _Refused as refusal:
        logger.info("no preview of %s (%s): %s", path, media_type, refusal)
        return Preview(notes=[str(refusal)])
    except MemoryError:
        return Preview(notes=["out of memory"])
    except Exception as exc:
        # Decoders raise many kinds of errors on damaged files; all mean "no preview".
        logger.info("no preview of %s (%s)", path, media_type, exc_info=True)
        return Preview(notes=[repr(exc)])
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit


def _preview_for_child(path: str, media_type: str, limits: PreviewLimits) -> dict[str, Any]:
    """What a sandboxed child runs: the preview, as JSON can carry it."""
    preview = make_preview(Path(path), media_type, limits)
    return {
        "image": None if preview.image is None else base64.b64encode(preview.image).decode(),
        "pages": preview.pages,
        "duration_seconds": preview.duration_seconds,
    }


def _preview_from(payload: dict[str, Any]) -> Preview:
    """The preview a child sent, checked: what is not well formed is left out."""
    image: bytes | None = None
    encoded = payload.get("image")
    if isinstance(encoded, str):
        try:
            image = base64.b64decode(encoded, validate=True)
        except ValueError:
            image = None
        if image is not None and (len(image) > MAX_PREVIEW_BYTES or image[8:12] != b"WEBP"):
            image = None
    pages = payload.get("pages")
    duration = payload.get("duration_seconds")
    return Preview(
        image=image,
        pages=pages if isinstance(pages, int) and not isinstance(pages, bool) else None,
        duration_seconds=float(duration)
        if isinstance(duration, int | float) and not isinstance(duration, bool)
        else None,
    )


def make_preview_isolated(
    path: Path, media_type: str, limits: PreviewLimits = PreviewLimits()
) -> Preview:
    """`make_preview` in a child process limited to `limits.max_memory_bytes` of address
    space and killed past `limits.timeout_seconds`; a child that ran out of time or died
    made no preview. Blocks the calling thread."""
    if _reader_for(media_type) is None:
        return Preview()
    payload = run_sandboxed(
        _preview_for_child,
        (str(path), media_type, limits),
        SandboxLimits(limits.timeout_seconds, limits.max_memory_bytes),
        largest_message=MAX_PREVIEW_BYTES * 2 + 64 * 1024,
        out_of_memory={"image": None, "pages": None, "duration_seconds": None},
        name="preview",
        path=str(path),
    )
    if isinstance(payload, SandboxEnd):
        return Preview(notes=[payload.value])
    return _preview_from(payload)
