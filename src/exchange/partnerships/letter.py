"""The invitation letter of a partnership: filled from both schools and the sender.

The text is the handbook's template (appendix 6) in the language the inviter chose; it
is rendered once, when the invitation is sent, and kept as sent.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from docx import Document
from docx.shared import Pt
from odf import dc, teletype
from odf.opendocument import OpenDocumentText
from odf.style import ParagraphProperties, Style, TextProperties
from odf.text import P

from exchange.clock import local_day
from exchange.models import Member, School
from exchange.partnerships.content import render_invitation_letter

# When the sender has not given their position, the letter still names their role.
_ADMIN_POSITION = {
    "ky": "мектептин администратору",
    "ru": "администратор школы",
    "en": "school administrator",
}
_FILE_STEM = {"ky": "Чакыруу кат", "ru": "Письмо-приглашение", "en": "Invitation letter"}
_UNSAFE_IN_NAMES = re.compile(r"[^\w .,№()-]+")
_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 5987 attr-char: may stay unescaped in `filename*`


def school_contacts(school: School, *, fallback_email: str | None = None) -> str:
    """The school's published address and contacts on one line."""
    parts = [school.address, school.contact_phone, school.contact_email, school.website]
    contacts = "; ".join(part.strip() for part in parts if part and part.strip())
    return contacts or fallback_email or (school.region or "")


def invitation_letter(
    language: str,
    *,
    inviting: School,
    invited: School,
    sender: Member,
    sent_at: datetime,
    goals: Sequence[str],
    characteristics: Sequence[str],
) -> str:
    return render_invitation_letter(
        language,
        inviting_school_name=inviting.name,
        # A letter that asks to be contacted must say how: with no published contact,
        # the sender's own e-mail stands in.
        inviting_school_contacts=school_contacts(inviting, fallback_email=sender.email),
        partner_school_name=invited.name,
        partner_school_contacts=school_contacts(invited),
        date=local_day(sent_at),
        sender_name=sender.full_name,
        sender_position=(sender.position or "").strip() or _ADMIN_POSITION[language],
        goals=goals,
        characteristics=characteristics,
    )


def file_name_part(text: str, limit: int = 120) -> str:
    """Text (a school's name) made safe to stand in a saved file's name."""
    name = unicodedata.normalize("NFC", text)
    return " ".join(_UNSAFE_IN_NAMES.sub(" ", name).split()).strip(" .")[:limit]


def letter_filename(language: str, invited_school_name: str, extension: str = "txt") -> str:
    """ "Invitation letter - <school>.txt" in the letter's language, safe to save."""
    name = file_name_part(invited_school_name)
    stem = _FILE_STEM.get(language, _FILE_STEM["en"])
    return f"{stem} - {name}.{extension}" if name else f"{stem}.{extension}"


def letter_docx(text: str, language: str) -> bytes:
    """The letter as sent, as a Word document a director prints and signs: one paragraph
    per line of the text, with room left under the closing for a signature."""
    document = Document()
    document.core_properties.title = _FILE_STEM.get(language, _FILE_STEM["en"])
    document.core_properties.language = language
    document.styles["Normal"].font.size = Pt(12)
    for line in text.splitlines():
        paragraph = document.add_paragraph(line.rstrip())
        paragraph.paragraph_format.space_after = Pt(0 if line.strip() else 6)
    document.add_paragraph()
    document.add_paragraph("_" * 30)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def letter_odt(text: str, language: str) -> bytes:
    """The letter as sent, as an OpenDocument text (LibreOffice, the free office most
    schools have): one paragraph per line, with room left for a signature, as in the
    DOCX."""
    document = OpenDocumentText()
    document.meta.addElement(dc.Title(text=_FILE_STEM.get(language, _FILE_STEM["en"])))
    document.meta.addElement(dc.Language(text=language))
    line_style = Style(name="Letter", family="paragraph")
    line_style.addElement(TextProperties(fontsize="12pt"))
    line_style.addElement(ParagraphProperties(margintop="0cm", marginbottom="0cm"))
    document.styles.addElement(line_style)
    for line in text.splitlines():
        paragraph = P(stylename=line_style)
        # teletype keeps runs of spaces and tabs, which plain ODF text would collapse.
        teletype.addTextToElement(paragraph, line.rstrip())
        document.text.addElement(paragraph)
    document.text.addElement(P(stylename=line_style))
    document.text.addElement(P(stylename=line_style, text="_" * 30))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def attachment_disposition(filename: str, ascii_stand_in: str = "invitation-letter.txt") -> str:
    """`Content-Disposition: attachment` per RFC 6266: the exact name in `filename*`
    (UTF-8), and a plain ASCII `filename` for clients that know no better."""
    ascii_name = filename if filename.isascii() else ascii_stand_in
    ascii_name = ascii_name.replace('"', "").replace("\\", "")
    encoded = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
