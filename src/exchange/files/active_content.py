"""Finding executable content inside documents: the one rule, and what each format hides.

The rule: a shared document is something to read, never something that runs. A file is
refused when it carries a program or an instruction to run one:
- Office and OpenDocument macros (VBA `vbaProject.bin`, legacy `Macros`/`_VBA_PROJECT_CUR`
  storages, OpenDocument `Basic/` modules and `Scripts/`);
- embedded OLE objects and ActiveX controls (OOXML `embeddings/*.bin`, `oleObject`,
  `activeX/`, embedded macro-enabled workbooks; OpenDocument binary `Object N` parts);
- RTF objects (`\\object`, `\\objdata`, `\\objemb`, `\\objocx` and every `\\obj...` word);
- PDF JavaScript (`/JS`, `/JavaScript`), `/Launch` actions, attached files
  (`/EmbeddedFile(s)`, `/EF`), web addresses or scripts opened automatically
  (`/OpenAction` or `/AA` with `/URI`, `/JavaScript`, `/Launch`, `/GoToE`), `/RichMedia`
  (Flash), and XFA forms with scripts.

Office, OpenDocument and RTF files are judged from what `ContentInspector` sees while
the bytes stream past (the ZIP directory, the OLE directory entries, the RTF control
words), in bounded memory. A PDF can hide its objects in compressed object streams and
spell names with `#` escapes (`/J#61vaScript`), so it is parsed for real, with pypdf, once
the whole file is in a temporary copy: in a child process with a memory limit and a
deadline, since a hostile PDF may find a slow path in any parser. A PDF that cannot be
checked (damaged, locked with a password, or too slow to read) is refused too.

Each finding carries the whole sentence a teacher reads, saying what was found and what
to do instead.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import re
import struct
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from pathlib import Path
from typing import Any, BinaryIO, Final

from exchange.i18n import N_

_PRINT_AGAIN: Final = N_(
    "Print it to PDF again (in the print window choose 'Save as PDF') and upload that copy."
)


@dataclass(frozen=True, slots=True)
class ActiveContent:
    """What runnable content a document carries: `kind` for programs, `detail` for people."""

    kind: str
    detail: str
    # A second sentence saying what to do, when several findings share it.
    advice: str = ""


class Findings:
    """The sentences a teacher reads when a document is refused, in one place: marked
    for the catalogs here, translated when the refusal is made."""

    OFFICE_MACROS = ActiveContent(
        "macros",
        N_(
            "This Office file contains macros (small programs). Save it as an ordinary "
            ".docx, .xlsx or .pptx without macros and upload that."
        ),
    )
    LEGACY_OFFICE_MACROS = ActiveContent(
        "macros",
        N_(
            "This old-style Office file contains macros (small programs). Open it, save it "
            "as .docx, .xlsx or .pptx without macros and upload that."
        ),
    )
    OFFICE_OBJECTS = ActiveContent(
        "embedded_object",
        N_(
            "This Office file contains an embedded object or control (OLE or ActiveX) that "
            "can run a program when it is opened. Replace the object with a picture of it, "
            "or save the document as PDF, and upload that."
        ),
    )
    OPEN_DOCUMENT_MACROS = ActiveContent(
        "macros",
        N_(
            "This OpenDocument file contains macros or scripts (small programs). Remove them "
            "(Tools > Macros > Organise Macros), save the file again and upload the new copy."
        ),
    )
    OPEN_DOCUMENT_OBJECTS = ActiveContent(
        "embedded_object",
        N_(
            "This OpenDocument file contains an embedded object from another program (OLE) "
            "that can run a program when it is opened. Replace the object with a picture of "
            "it, or save the document as PDF, and upload that."
        ),
    )
    RTF_OBJECTS = ActiveContent(
        "embedded_object",
        N_(
            "This RTF document contains an embedded object (OLE) that can run a program when "
            "it is opened. Save the document as .docx or PDF without the object and upload that."
        ),
    )
    PDF_SCRIPT_ON_OPEN = ActiveContent(
        "javascript",
        N_("This PDF contains a script that runs when it is opened (JavaScript)."),
        _PRINT_AGAIN,
    )
    PDF_SCRIPT = ActiveContent(
        "javascript",
        N_("This PDF contains scripts (JavaScript) that run while it is read or filled in."),
        _PRINT_AGAIN,
    )
    PDF_LAUNCH = ActiveContent(
        "launch",
        N_("This PDF contains an instruction to start a program on the reader's computer."),
        _PRINT_AGAIN,
    )
    PDF_OPENS_ADDRESS = ActiveContent(
        "automatic_link",
        N_("This PDF opens a web address or another file by itself when it is opened or read."),
        _PRINT_AGAIN,
    )
    PDF_ATTACHMENT = ActiveContent(
        "embedded_file",
        N_(
            "This PDF has other files attached inside it, which partner schools would open "
            "without their being checked. Upload each attached file on its own, and the PDF "
            "printed to PDF again without its attachments."
        ),
    )
    PDF_RICH_MEDIA = ActiveContent(
        "rich_media",
        N_(
            "This PDF contains interactive media (Flash) that runs code when it is played. "
            "Upload the video on its own and the PDF printed to PDF again."
        ),
    )
    PDF_FORM_SCRIPT = ActiveContent(
        "javascript",
        N_("This PDF is a form with scripts (XFA) that run when it is opened or filled in."),
        _PRINT_AGAIN,
    )
    PDF_UNCHECKED = ActiveContent(
        "unchecked",
        N_(
            "This PDF could not be checked for scripts: it is damaged, or too complex to read "
            "in time."
        ),
        _PRINT_AGAIN,
    )
    PDF_LOCKED = ActiveContent(
        "unchecked",
        N_(
            "This PDF is locked with a password, so it cannot be checked for scripts. Save a "
            "copy without the password (or print it to PDF) and upload that."
        ),
    )


# --- OOXML and OpenDocument: the names in the ZIP's central directory ------------------

_OOXML_OBJECT = re.compile(
    r"(^|/)(activeX|embeddings)/.*\.(bin|docm|dotm|xlsm|xltm|xlsb|xlam|pptm|potm|ppsm|ppam)$"
    r"|(^|/)activeX/"
    r"|(^|/)[^/]*oleObject[^/]*$",
    re.IGNORECASE,
)
_ODF_SCRIPTS = re.compile(r"(^|/)Scripts/.+", re.IGNORECASE)
# An OpenDocument Basic library lists its modules beside `script-lb.xml`; a library file
# with no module (LibreOffice's empty "Standard") is no program.
_ODF_BASIC_MODULE = re.compile(
    r"(^|/)Basic/[^/]+/(?!script-lb\.xml$|dialog-lb\.xml$)[^/]+$", re.IGNORECASE
)
# An embedded object from another program is stored as one binary part `Object N`
# (native OpenDocument objects, charts and formulas, are folders `Object N/`; their
# pictures, shown by readers that cannot draw them, are `ObjectReplacements/Object N`).
_ODF_BINARY_OBJECT = re.compile(r"(^|/)(?<!ObjectReplacements/)Object \d+$")


def in_ooxml(names: list[str]) -> ActiveContent | None:
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return Findings.OFFICE_MACROS
    if any(_OOXML_OBJECT.search(name) for name in names):
        return Findings.OFFICE_OBJECTS
    return None


def in_open_document(names: list[str]) -> ActiveContent | None:
    if any(_ODF_SCRIPTS.search(n) or _ODF_BASIC_MODULE.search(n) for n in names):
        return Findings.OPEN_DOCUMENT_MACROS
    if any(_ODF_BINARY_OBJECT.search(name) for name in names):
        return Findings.OPEN_DOCUMENT_OBJECTS
    return None


# --- Streaming scanners, fed every chunk of the upload ----------------------------------


class RtfObjectScanner:
    """Finds RTF control words that embed objects (`\\object`, `\\objdata`, ...) in a
    stream, across chunk boundaries, keeping a few bytes between chunks.

    A control word is a backslash not itself escaped (`\\\\` is a literal backslash)
    followed by letters; RTF readers are lenient about case, so this is too.
    """

    _WORD: Final = re.compile(rb"(\\+)obj[a-z]*", re.IGNORECASE)
    _CARRY: Final = 64

    def __init__(self) -> None:
        self._carry = b""
        self.found = False

    def feed(self, chunk: bytes) -> None:
        if self.found or not chunk:
            return
        data = self._carry + chunk
        for match in self._WORD.finditer(data):
            if len(match.group(1)) % 2 == 1:
                self.found = True
                return
        # Keep the end, from its last run of backslashes, so a word cut between chunks
        # is seen whole next time.
        tail = data[-self._CARRY :]
        cut = tail.rfind(b"\\")
        if cut < 0:
            self._carry = b""
            return
        while cut > 0 and tail[cut - 1 : cut] == b"\\":
            cut -= 1
        self._carry = tail[cut:]


class OleMacroScanner:
    """Finds the directory entries of VBA macro storages in a legacy Office (OLE2) file
    as it streams past: 128-byte aligned entries whose name, name length and type
    (storage or stream) agree, so text that merely contains the words does not count.
    """

    _NAMES: Final = tuple(
        name.encode("utf-16-le") + b"\0\0" for name in ("Macros", "_VBA_PROJECT_CUR", "VBA")
    )
    _ENTRY: Final = 128

    def __init__(self) -> None:
        self._pending = b""  # always starts at a multiple of 128 bytes into the file
        self.found = False

    def feed(self, chunk: bytes) -> None:
        if self.found or not chunk:
            return
        data = self._pending + chunk
        whole = len(data) - len(data) % self._ENTRY
        for name in self._NAMES:
            position = data.find(name, 0, whole)
            while position >= 0:
                if position % self._ENTRY == 0 and self._is_entry(
                    data[position : position + self._ENTRY], name
                ):
                    self.found = True
                    return
                position = data.find(name, position + 1, whole)
        self._pending = data[whole:]

    @staticmethod
    def _is_entry(entry: bytes, name: bytes) -> bool:
        (name_length,) = struct.unpack("<H", entry[64:66])
        return name_length == len(name) and entry[66] in (1, 2)  # a storage or a stream


# --- PDF: parsed with pypdf, in a child process ------------------------------------------

_AUTOMATIC_ACTIONS: Final = frozenset({"/URI", "/JavaScript", "/Launch", "/GoToE", "/GoToR"})
_MAX_DEPTH: Final = 64
_MAX_XFA_BYTES: Final = 16 * 1024 * 1024


def in_pdf(path: Path, *, deadline_seconds: float) -> ActiveContent | None:
    """What runnable content the PDF at `path` carries, or None; in this process.

    Every object pypdf knows of is read (those inside compressed object streams too), and
    each dictionary in it is looked at; names are compared after pypdf has decoded their
    `#` escapes. Prefer `in_pdf_isolated` for files from users.
    """
    ends_at = time.monotonic() + deadline_seconds
    with path.open("rb") as file:
        return _in_pdf_file(file, ends_at)


def _in_pdf_file(file: BinaryIO, ends_at: float) -> ActiveContent | None:
    from pypdf import PasswordType, PdfReader
    from pypdf.generic import IndirectObject

    try:
        # Given an open file (not a path), pypdf reads objects as it needs them instead
        # of the whole file into memory.
        reader = PdfReader(file, strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return Findings.PDF_LOCKED
        objects: list[Any] = [reader.trailer]
        for generation, numbers in reader.xref.items():
            objects.extend(IndirectObject(number, generation, reader) for number in numbers)
        objects.extend(IndirectObject(number, 0, reader) for number in reader.xref_objStm)
    except Exception:
        return Findings.PDF_UNCHECKED
    for item in objects:
        if time.monotonic() > ends_at:
            return Findings.PDF_UNCHECKED
        try:
            found = _in_pdf_object(item.get_object())
        except Exception:
            # One damaged object: readers skip it as pypdf does; the rest is still read.
            found = None
        if found is not None:
            return found
    return None


def _in_pdf_object(top: Any) -> ActiveContent | None:
    """Looks at `top` and the direct objects inside it (not following references: every
    indirect object is visited on its own)."""
    from pypdf.generic import ArrayObject, DictionaryObject

    stack: list[tuple[Any, int]] = [(top, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > _MAX_DEPTH:
            continue
        if isinstance(value, DictionaryObject):
            found = _in_pdf_dictionary(value)
            if found is not None:
                return found
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, ArrayObject):
            stack.extend((item, depth + 1) for item in value)
    return None


def _in_pdf_dictionary(dictionary: Any) -> ActiveContent | None:
    keys = set(dictionary.keys())
    kind = _name(dictionary.get("/S"))
    if "/OpenAction" in keys and _is_automatic(dictionary.get("/OpenAction")):
        return (
            Findings.PDF_SCRIPT_ON_OPEN
            if _runs_script(dictionary["/OpenAction"])
            else (
                Findings.PDF_LAUNCH
                if _action_kind(dictionary["/OpenAction"]) == "/Launch"
                else Findings.PDF_OPENS_ADDRESS
            )
        )
    if "/AA" in keys:
        for trigger in _resolved(dictionary.get("/AA"), {}).values():
            if _is_automatic(trigger):
                if _runs_script(trigger):
                    return Findings.PDF_SCRIPT
                if _action_kind(trigger) == "/Launch":
                    return Findings.PDF_LAUNCH
                return Findings.PDF_OPENS_ADDRESS
    if "/JS" in keys or "/JavaScript" in keys or kind == "/JavaScript":
        return Findings.PDF_SCRIPT
    if "/Launch" in keys or kind == "/Launch":
        return Findings.PDF_LAUNCH
    if (
        "/EmbeddedFiles" in keys
        or "/EF" in keys
        or _name(dictionary.get("/Type")) == "/EmbeddedFile"
        or _name(dictionary.get("/Subtype")) == "/FileAttachment"
        or kind == "/GoToE"
    ):
        return Findings.PDF_ATTACHMENT
    if "/RichMedia" in keys or _name(dictionary.get("/Subtype")) == "/RichMedia":
        return Findings.PDF_RICH_MEDIA
    if "/XFA" in keys and _xfa_has_scripts(dictionary.get("/XFA")):
        return Findings.PDF_FORM_SCRIPT
    return None


def _resolved(value: Any, default: Any) -> Any:
    try:
        resolved = value.get_object() if value is not None else None
    except Exception:
        return default
    return default if resolved is None else resolved


def _name(value: Any) -> str | None:
    resolved = _resolved(value, None)
    return str(resolved) if resolved is not None else None


def _action_kind(action: Any) -> str | None:
    resolved = _resolved(action, None)
    try:
        return _name(resolved.get("/S")) if resolved is not None else None
    except AttributeError:
        return None  # a destination (an array), not an action


def _is_automatic(action: Any) -> bool:
    return _action_kind(action) in _AUTOMATIC_ACTIONS


def _runs_script(action: Any) -> bool:
    return _action_kind(action) == "/JavaScript"


def _xfa_has_scripts(xfa: Any) -> bool:
    from pypdf.generic import ArrayObject, StreamObject

    resolved = _resolved(xfa, None)
    parts = list(resolved) if isinstance(resolved, ArrayObject) else [resolved]
    read = 0
    for part in parts:
        stream = _resolved(part, None)
        if not isinstance(stream, StreamObject):
            continue
        data = stream.get_data()
        read += len(data)
        if b"<script" in data.lower() or read > _MAX_XFA_BYTES:
            return True
    return False


@dataclass(frozen=True, slots=True)
class PdfCheckLimits:
    timeout_seconds: float
    max_memory_bytes: int


# Time for a child process to start and report ready, on a slow, busy machine.
_CHILD_START_SECONDS: Final = 20.0
_READY: Final = b"ready"


def _process_context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, "pypdf"])
        return context
    return multiprocessing.get_context("spawn")


def _check_in_child(connection: Connection, path: str, limits: PdfCheckLimits) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory_bytes, limits.max_memory_bytes))
        cpu_seconds = math.ceil(limits.timeout_seconds * 2) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        connection.send_bytes(_READY)
        try:
            found = in_pdf(Path(path), deadline_seconds=limits.timeout_seconds)
        except MemoryError:
            found = Findings.PDF_UNCHECKED
        name = _NAMES_OF_FINDINGS[found] if found is not None else None
        connection.send_bytes(json.dumps({"finding": name}).encode())
    finally:
        connection.close()


_FINDINGS_BY_NAME: Final = {
    name: finding for name, finding in vars(Findings).items() if isinstance(finding, ActiveContent)
}
_NAMES_OF_FINDINGS: Final = {finding: name for name, finding in _FINDINGS_BY_NAME.items()}


def in_pdf_isolated(path: Path, limits: PdfCheckLimits) -> ActiveContent | None:
    """`in_pdf` in a child process limited to `limits.max_memory_bytes` of address space
    and killed past `limits.timeout_seconds`; a child that fails or is killed means the
    PDF could not be checked. Blocks: call it from a worker thread."""
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_check_in_child, args=(sender, str(path), limits), name="pdf-check", daemon=True
    )
    answer: object = None
    try:
        process.start()
        sender.close()
        started = receiver.poll(_CHILD_START_SECONDS) and receiver.recv_bytes(len(_READY)) == _READY
        if started and receiver.poll(limits.timeout_seconds * 1.1 + 1.0):
            # What a child that read hostile input says is bounded JSON, never unpickled.
            answer = json.loads(receiver.recv_bytes(4096))
    except (EOFError, OSError, ValueError):
        pass
    finally:
        sender.close()
        if process.pid is not None:
            if process.is_alive():
                process.kill()
            process.join(5.0)
        receiver.close()
    if not isinstance(answer, dict) or "finding" not in answer:
        return Findings.PDF_UNCHECKED
    name = answer["finding"]
    if name is None:
        return None
    return _FINDINGS_BY_NAME.get(str(name), Findings.PDF_UNCHECKED)
