"""Pictures, recordings, videos and documents for previews, made here: photos by Pillow,
sound and video encoded by PyAV (the FFmpeg inside its wheel), office files with the
thumbnail and page count their programs save, and the hostile ones (a decompression
bomb, a truncated picture, a broken PDF)."""

from __future__ import annotations

import functools
import io
import math
import struct
import wave
import zipfile
import zlib

import av
from odf import teletype
from odf.meta import DocumentStatistic
from odf.opendocument import OpenDocumentText
from odf.text import P
from PIL import Image

from tests.sample_files import docx_of


def photo(size: tuple[int, int] = (1600, 1200), image_format: str = "JPEG") -> bytes:
    """A photo-like picture: noise over a gradient, which no encoder makes tiny."""
    noise = Image.effect_noise(size, 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    picture = Image.blend(noise, gradient, 0.5)
    out = io.BytesIO()
    if image_format == "GIF":
        picture = picture.convert("P")
    picture.save(out, image_format, **({"quality": 90} if image_format == "JPEG" else {}))
    return out.getvalue()


@functools.cache
def png_bomb(side: int = 20_000) -> bytes:
    """A PNG of about 400 KB declaring `side` x `side` grey pixels (400 MB decoded):
    every row really is in its compressed data. Rows are deflated in blocks after each
    of which the compressor forgets what it saw, so one block's output serves them all."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    rows_per_block = 500
    assert side % rows_per_block == 0
    block = b"\x00" * ((side + 1) * rows_per_block)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    compressed = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    # Adler-32 of n zero bytes: its sum of bytes stays 1, its sum of sums is n.
    checksum = ((side + 1) * side % 65521) << 16 | 1
    data = (
        b"\x78\xda"
        + compressed * (side // rows_per_block)
        + deflate.flush(zlib.Z_FINISH)
        + checksum.to_bytes(4, "big")
    )
    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    whole = photo((600, 400), "PNG")
    return whole[: len(whole) // 2]


def broken_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\n" + bytes(range(256)) * 20


def video(
    container_format: str = "mp4",
    codec: str = "libx264",
    *,
    seconds: int = 3,
    rate: int = 10,
    size: tuple[int, int] = (160, 120),
) -> bytes:
    """A short video whose frames change colour, encoded by PyAV."""
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for number in range(seconds * rate):
            colour = (number * 8 % 256, 120, 200)
            frame = av.VideoFrame.from_image(Image.new("RGB", size, colour))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _tone(seconds: float, rate: int) -> bytes:
    samples = int(seconds * rate)
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(samples)
    )


def wav(seconds: float = 2.5, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(rate)
        recording.writeframes(_tone(seconds, rate))
    return out.getvalue()


def audio(container_format: str, codec: str, *, seconds: float = 2.0, rate: int = 48000) -> bytes:
    """A mono tone encoded by PyAV (`mp3`/`libmp3lame`, `ogg`/`libopus`, `ipod`/`aac`)."""
    pcm = _tone(seconds, rate)
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        step = 1024
        for start in range(0, len(pcm) // 2, step):
            piece = pcm[start * 2 : (start + step) * 2]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
            frame.planes[0].update(piece)
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _rewritten(document: bytes, replace: dict[str, bytes], drop: tuple[str, ...] = ()) -> bytes:
    """The zip `document` with the parts of `replace` put in (new or instead) and those
    of `drop` left out."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(document)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            if entry.filename not in replace and entry.filename not in drop:
                target.writestr(entry, source.read(entry))
        for name, data in replace.items():
            target.writestr(name, data)
    return out.getvalue()


APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-'
    'properties"><Application>Microsoft Office Word</Application><Pages>{pages}</Pages>'
    "<Words>120</Words></Properties>"
)


def docx_with_thumbnail(pages: int = 4, size: tuple[int, int] = (256, 362)) -> bytes:
    """A Word document as Word saves it with "save a thumbnail": `docProps/thumbnail.jpeg`
    (a red page) and its page count in `docProps/app.xml`."""
    thumbnail = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(thumbnail, "JPEG")
    return _rewritten(
        docx_of("Бөлчөктөр: сабак планы", "Үй тапшырма: 12-бет."),
        {
            "docProps/thumbnail.jpeg": thumbnail.getvalue(),
            "docProps/app.xml": APP_XML.format(pages=pages).encode(),
        },
    )


def odt_of(*paragraphs: str, pages: int | None = None, thumbnail: bytes | None = None) -> bytes:
    """An OpenDocument text, with `thumbnail` (PNG) in `Thumbnails/thumbnail.png` as
    LibreOffice saves it, and `pages` in its meta.xml statistics."""
    document = OpenDocumentText()
    if thumbnail is not None:
        document.addThumbnail(thumbnail)
    for text in paragraphs:
        paragraph = P()
        teletype.addTextToElement(paragraph, text)
        document.text.addElement(paragraph)
    if pages is not None:
        document.meta.addElement(DocumentStatistic(pagecount=pages))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def docx_without_thumbnail(*paragraphs: str) -> bytes:
    """A Word document saved without a thumbnail (python-docx's template carries one)."""
    return _rewritten(docx_of(*paragraphs), {}, drop=("docProps/thumbnail.jpeg",))


def png_page(colour: tuple[int, int, int], size: tuple[int, int] = (181, 256)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()
