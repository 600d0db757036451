"""Each kind of file makes the right preview: a WebP of at most 20 KB of the right shape,
the page count of PDFs and documents, the duration of sound and video; hostile files
make none, in the sandbox as in this process, and never raise."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from exchange.previews.making import (
    FONT_CANDIDATES,
    MAX_PREVIEW_BYTES,
    Preview,
    PreviewLimits,
    encode_small,
    make_preview,
    make_preview_isolated,
)
from tests.media_files import (
    audio,
    broken_pdf,
    docx_with_thumbnail,
    docx_without_thumbnail,
    odt_of,
    photo,
    png_bomb,
    png_page,
    truncated_png,
    video,
    wav,
)
from tests.sample_files import pdf

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


def preview_of(tmp_path: Path, content: bytes, media_type: str) -> Preview:
    path = tmp_path / "file"
    path.write_bytes(content)
    return make_preview(path, media_type)


def picture(preview: Preview) -> Image.Image:
    assert preview.image is not None, preview.notes
    assert len(preview.image) <= MAX_PREVIEW_BYTES
    image = Image.open(io.BytesIO(preview.image))
    image.load()
    assert image.format == "WEBP"
    return image


def colour_at_centre(image: Image.Image) -> tuple[int, ...]:
    rgb = image.convert("RGB")
    return tuple(rgb.getpixel((rgb.width // 2, rgb.height // 2)))  # type: ignore[arg-type]


def test_a_pdf_shows_its_first_page_and_counts_its_pages(tmp_path: Path) -> None:
    preview = preview_of(tmp_path, pdf(pages=5), "application/pdf")

    image = picture(preview)
    assert preview.pages == 5 and preview.duration_seconds is None
    assert image.size[1] == 320 and 220 <= image.size[0] <= 230  # A4, portrait
    assert colour_at_centre(image) == pytest.approx((255, 255, 255), abs=3)  # a blank page


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF", "WEBP"])
def test_a_picture_is_downscaled_keeping_its_shape(tmp_path: Path, image_format: str) -> None:
    media_type = f"image/{image_format.lower()}"

    image = picture(preview_of(tmp_path, photo((1200, 600), image_format), media_type))

    assert image.size == (320, 160)


def test_a_picture_that_does_not_fit_at_full_size_is_made_smaller_until_it_does() -> None:
    noise = Image.effect_noise((2000, 2000), 128).convert("RGB")

    encoded = encode_small(noise)

    assert encoded is not None and len(encoded) <= MAX_PREVIEW_BYTES
    at_full_size = io.BytesIO()
    noise.resize((320, 320)).save(at_full_size, "WEBP", quality=80)
    assert at_full_size.tell() > MAX_PREVIEW_BYTES  # so the shrinking was needed


def test_a_word_document_shows_the_thumbnail_it_carries_and_its_page_count(
    tmp_path: Path,
) -> None:
    preview = preview_of(tmp_path, docx_with_thumbnail(pages=4), DOCX)

    image = picture(preview)
    assert preview.pages == 4
    assert image.size == (226, 320)
    assert colour_at_centre(image) == pytest.approx((200, 30, 30), abs=12)


def test_an_open_document_shows_the_thumbnail_it_carries(tmp_path: Path) -> None:
    content = odt_of("Сабак", pages=3, thumbnail=png_page((20, 90, 200)))

    preview = preview_of(tmp_path, content, ODT)

    image = picture(preview)
    assert preview.pages == 3 and image.size == (181, 256)  # small ones are kept as they are
    assert colour_at_centre(image) == pytest.approx((20, 90, 200), abs=12)


def test_an_open_document_without_a_thumbnail_shows_its_first_text(tmp_path: Path) -> None:
    preview = preview_of(tmp_path, odt_of("Бөлчөктөр: сабак планы", pages=2), ODT)

    image = picture(preview)
    assert preview.pages == 2
    assert image.size == (240, 320)
    assert _has_dark_pixels(image)


def test_a_word_document_without_a_thumbnail_shows_its_first_text(tmp_path: Path) -> None:
    image = picture(preview_of(tmp_path, docx_without_thumbnail("Үй тапшырма: 12-бет."), DOCX))

    assert _has_dark_pixels(image)


def test_a_text_file_shows_its_first_lines_in_cyrillic_letters(tmp_path: Path) -> None:
    lines = "Сабак планы: бөлчөктөр\nҮй тапшырма: ң, ө, ү\n" * 40

    image = picture(preview_of(tmp_path, lines.encode("windows-1251", "replace"), "text/plain"))

    assert image.size == (240, 320) and _has_dark_pixels(image)


def test_the_font_of_text_previews_writes_kyrgyz_letters() -> None:
    font_path = next(path for path in FONT_CANDIDATES if path.is_file())
    font = ImageFont.truetype(str(font_path), 13)
    missing = font.getmask("\U0010fffd").getbbox()
    for letter in "ңөүЖж":
        assert font.getmask(letter).getbbox() != missing, letter


@pytest.mark.parametrize(
    ("container_format", "codec", "media_type"),
    [("mp4", "libx264", "video/mp4"), ("webm", "libvpx-vp9", "video/webm")],
)
def test_a_video_shows_a_poster_frame_and_its_duration(
    tmp_path: Path, container_format: str, codec: str, media_type: str
) -> None:
    content = video(container_format, codec, seconds=3, size=(160, 120))

    preview = preview_of(tmp_path, content, media_type)

    assert picture(preview).size == (160, 120)
    assert preview.duration_seconds == pytest.approx(3.0, abs=0.15)


@pytest.mark.parametrize(
    ("content", "media_type", "seconds"),
    [
        (wav(2.5), "audio/wav", 2.5),
        (audio("mp3", "libmp3lame", seconds=2.0, rate=44100), "audio/mpeg", 2.0),
        (audio("ogg", "libopus", seconds=2.0), "audio/ogg", 2.0),
        (audio("ipod", "aac", seconds=2.0), "audio/mp4", 2.0),
    ],
    ids=["wav", "mp3", "ogg", "m4a"],
)
def test_a_recording_tells_its_duration_and_has_no_picture(
    tmp_path: Path, content: bytes, media_type: str, seconds: float
) -> None:
    preview = preview_of(tmp_path, content, media_type)

    assert preview.image is None
    assert preview.duration_seconds == pytest.approx(seconds, abs=0.1)


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (png_bomb(), "image/png"),
        (truncated_png(), "image/png"),
        (photo((800, 600))[:20_000], "image/jpeg"),
        (broken_pdf(), "application/pdf"),
        (b"\x00" * 4096, "video/mp4"),
        (b"PK\x03\x04" + bytes(300), DOCX),
    ],
    ids=[
        "decompression-bomb",
        "truncated-png",
        "truncated-jpeg",
        "broken-pdf",
        "not-a-video",
        "broken-docx",
    ],
)
def test_a_hostile_or_broken_file_has_no_preview(
    tmp_path: Path, content: bytes, media_type: str
) -> None:
    preview = preview_of(tmp_path, content, media_type)

    assert preview.image is None and preview.pages is None


def test_a_bomb_is_refused_before_its_pixels_are_decoded(tmp_path: Path) -> None:
    (note,) = preview_of(tmp_path, png_bomb(), "image/png").notes

    assert "400000000" in note.replace(",", "") or "20000x20000" in note


def test_in_the_sandbox_a_pdf_and_a_bomb_are_told_apart(tmp_path: Path) -> None:
    limits = PreviewLimits(timeout_seconds=20, max_memory_bytes=512 * 1024 * 1024)
    honest, bomb = tmp_path / "plan.pdf", tmp_path / "bomb.png"
    honest.write_bytes(pdf(pages=2))
    bomb.write_bytes(png_bomb())

    made = make_preview_isolated(honest, "application/pdf", limits)
    refused = make_preview_isolated(bomb, "image/png", limits)

    assert made.pages == 2 and picture(made).size[1] == 320
    assert refused == Preview()


def test_a_missing_file_is_the_stores_fault_not_the_documents(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        make_preview_isolated(tmp_path / "gone", "image/png")


def test_files_that_are_never_previewed_are_not_read(tmp_path: Path) -> None:
    assert make_preview_isolated(tmp_path / "gone", "application/zip") == Preview()


def _has_dark_pixels(image: Image.Image) -> bool:
    grey = image.convert("L")
    return min(grey.getdata()) < 100  # type: ignore[arg-type]
