"""File storage and content sniffing: the BlobStore and ContentSniffer ports on the local disk."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import os
import re
import struct
import tempfile
import time
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

import filetype

_DIGEST = re.compile(r"[0-9a-f]{64}")
_SWEEP_BATCH: Final = 500


class BlobCorrupted(Exception):
    """A stored blob no longer hashes to its name: the disk or someone outside the app changed it."""


def _check_digest(digest: str) -> str:
    # Validated before any path is built, so no digest can name a file outside the store.
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError("A blob digest is 64 lowercase hexadecimal characters.")
    return digest


class LocalBlobStore:
    """Content-addressed, write-once blobs under `root`, at root/ab/cd/<sha256>."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def in_files_dir(cls, files_dir: Path) -> LocalBlobStore:
        """The application's store: the blobs folder of ORDERGRAPH_FILES_DIR."""
        return cls(files_dir / "blobs")

    def path_for(self, digest: str) -> Path:
        """Where the blob with this digest lives (raises ValueError for a malformed digest)."""
        _check_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    async def digest(self, data: bytes) -> str:
        """The SHA-256 hex digest of `data` (off the event loop: 5 MB takes milliseconds), storing nothing."""
        return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())

    async def put(self, data: bytes) -> str:
        """Store `data` once (idempotent, atomic, read-only on disk) and return its SHA-256 hex digest."""
        return await asyncio.to_thread(self._put, bytes(data))

    async def get(self, digest: str) -> bytes | None:
        """The content with this digest, or None when it was never stored."""
        path = self.path_for(digest)
        return await asyncio.to_thread(self._get, path, digest)

    def _put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size == len(data):
                # already stored (same name, same size, never modified): made fresh again, so that the
                # sweep keeps it for the transaction about to reference it
                os.utime(path)
                return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fchmod(tmp.fileno(), 0o444)
                os.fsync(tmp.fileno())
            # Readers see either no file or the whole file; two writers of one content race harmlessly.
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)
        return digest

    async def sweep(self, referenced: Callable[[list[str]], Awaitable[set[str]]], *, older_than: float) -> int:
        """Delete blobs unreferenced (by `referenced`, per batch) and untouched for `older_than` seconds.

        Temporary files as old go too (a crash mid-write leaves them); it returns how many files went.

        A blob is renamed aside before it is deleted, and kept after all when an upload touched it
        meanwhile: an upload that reuses it either touches it first (then it stays) or finds it gone
        (then it stores it again), so no attachment is ever left without its blob.
        """
        cutoff = time.time() - older_than
        digests, leftovers = await asyncio.to_thread(self._stale, cutoff)
        removed = sum([await asyncio.to_thread(_unlink, path) for path in leftovers])
        for start in range(0, len(digests), _SWEEP_BATCH):
            batch = digests[start : start + _SWEEP_BATCH]
            kept = await referenced(batch)
            for digest in batch:
                if digest not in kept and await asyncio.to_thread(self._remove_if_stale, digest, cutoff):
                    removed += 1
        return removed

    def _stale(self, cutoff: float) -> tuple[list[str], list[Path]]:
        """The digests of blobs untouched since `cutoff` and the temporary files as old (blobs set aside go back)."""
        digests: list[str] = []
        leftovers: list[Path] = []
        if not self.root.exists():
            return digests, leftovers
        for path in self.root.glob("??/??/*"):
            with contextlib.suppress(FileNotFoundError):
                if path.name.startswith(".sweep-"):  # a sweep stopped between setting it aside and deciding
                    os.replace(path, path.with_name(path.name.removeprefix(".sweep-")))  # decided next time
                    continue
                if path.stat().st_mtime >= cutoff:
                    continue
                if _DIGEST.fullmatch(path.name):
                    digests.append(path.name)
                elif path.name.startswith(".tmp-"):  # a write that stopped half-way
                    leftovers.append(path)
        return digests, leftovers

    def _remove_if_stale(self, digest: str, cutoff: float) -> bool:
        path = self.path_for(digest)
        aside = path.with_name(f".sweep-{digest}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        if aside.stat().st_mtime >= cutoff:  # an upload reused it after it was listed: it stays
            os.replace(aside, path)
            return False
        aside.unlink()
        return True

    @staticmethod
    def _get(path: Path, digest: str) -> bytes | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobCorrupted(f"Blob {digest} does not match its content.")
        return data


def _unlink(path: Path) -> bool:
    """Delete a file; False when it was gone already."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- content sniffing -------------------------------------------------------------------------

_ZIP_SIGNATURES: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_MAX_ZIP_ENTRIES: Final = 10_000
_EOCD_SIZE: Final = 22
_MAX_EOCD_DISTANCE: Final = _EOCD_SIZE + 0xFFFF  # the record, plus the longest archive comment
_MAX_CONTENT_TYPES_BYTES: Final = 256 * 1024
_MAX_MIMETYPE_BYTES: Final = 200

_DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PPTX: Final = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_DOCM: Final = "application/vnd.ms-word.document.macroEnabled.12"
_XLSM: Final = "application/vnd.ms-excel.sheet.macroEnabled.12"
_PPTM: Final = "application/vnd.ms-powerpoint.presentation.macroEnabled.12"
_OOXML_OTHER: Final = "application/x-ooxml-other"
_ODF_PREFIX: Final = "application/vnd.oasis.opendocument."
_EPUB: Final = "application/epub+zip"

# Main-part content types of [Content_Types].xml -> the document's type. Macro-enabled and template
# variants come back as their own (not allowed) types, so a .docm renamed .docx is still refused.
_OOXML_MAIN_PARTS: Final = (
    (b"application/vnd.ms-word.document.macroenabled.main+xml", _DOCM),
    (b"application/vnd.ms-excel.sheet.macroenabled.main+xml", _XLSM),
    (b"application/vnd.ms-powerpoint.presentation.macroenabled.main+xml", _PPTM),
    (b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", _DOCX),
    (b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", _XLSX),
    (b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", _PPTX),
)
_MACRO_OF: Final = {_DOCX: _DOCM, _XLSX: _XLSM, _PPTX: _PPTM}
_OOXML_MAIN_NAMES: Final = {_DOCX: "word/", _XLSX: "xl/", _PPTX: "ppt/"}

# filetype matches these on two or three printable bytes ("BM", "ID3"): a clean UTF-8 text that
# merely starts like that ("BMW,2024") is text, since the real formats always carry binary headers.
_WEAK_SIGNATURES: Final = frozenset({"image/bmp", "audio/mpeg"})

# Text a browser could render as active content. Looked for near the start (browsers sniff the
# first 512-1445 bytes); the window is wider to be safe.
_MARKUP_WINDOW: Final = 4096
_SVG_MARKERS: Final = ("<svg",)
_HTML_MARKERS: Final = (
    "<!doctype html",
    "<html",
    "<head",
    "<body",
    "<script",
    "<iframe",
    "<object",
    "<embed",
    "<meta",
    "<style",
    "<frameset",
)
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")
_CSV_SAMPLE_BYTES: Final = 64 * 1024
_CSV_SAMPLE_LINES: Final = 50
_CSV_DELIMITERS: Final = ",;\t|"


class ContentTypeSniffer:
    """Tells a file's MIME type from its bytes alone; the file name is never consulted."""

    def detect(self, data: bytes) -> str | None:
        """The MIME type the content is, or None when unrecognised (empty, corrupt, unknown binary)."""
        if not data:
            return None
        if data.startswith(_ZIP_SIGNATURES):
            return _zip_type(data)
        kind = filetype.guess(data)
        if kind is not None:
            mime: str = kind.mime
            if mime in _WEAK_SIGNATURES and _clean_text(data) is not None:
                return _text_type(data)
            return mime
        return _text_type(data)


def _zip_type(data: bytes) -> str | None:
    """application/zip, an OOXML document's own type, or another zip-based type; None when corrupt."""
    declared = _declared_entries(data)
    if declared is None or declared > _MAX_ZIP_ENTRIES:
        return None  # no end record (corrupt), or more entries than any attachment needs
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > _MAX_ZIP_ENTRIES:
                return None
            names = {info.filename.lower(): info for info in infos}
            content_types = names.get("[content_types].xml")
            if content_types is not None:
                return _ooxml_type(_read_bounded(archive, content_types, _MAX_CONTENT_TYPES_BYTES), names)
            mimetype = names.get("mimetype")
            if mimetype is not None:  # OpenDocument, EPUB: the type is the first entry's text
                kind = _read_bounded(archive, mimetype, _MAX_MIMETYPE_BYTES).decode("ascii", "replace").strip()
                # Trusted only for the formats that use it; "image/png" in a zip is still a zip.
                if kind.startswith(_ODF_PREFIX) or kind == _EPUB:
                    return kind
            if "meta-inf/manifest.mf" in names:
                return "application/java-archive"  # runnable with a double click where Java is installed
            if "androidmanifest.xml" in names:
                return "application/vnd.android.package-archive"
            return "application/zip"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return None


def _declared_entries(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, read before zipfile parses every entry."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - _MAX_EOCD_DISTANCE))
    if end < 0 or end + _EOCD_SIZE > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, end + 10)
    return int(total)


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    # The declared size may lie (zip bombs): read at most limit + 1 bytes whatever it says.
    if info.file_size > limit:
        raise ValueError("zip member too large to inspect")
    with archive.open(info) as member:
        chunk = member.read(limit + 1)
    if len(chunk) > limit:
        raise ValueError("zip member too large to inspect")
    return chunk


def _ooxml_type(content_types: bytes, names: dict[str, zipfile.ZipInfo]) -> str | None:
    declared = content_types.lower()
    for main_part, mime in _OOXML_MAIN_PARTS:
        if main_part in declared:
            folder = _OOXML_MAIN_NAMES.get(mime)
            if folder is not None and not any(name.startswith(folder) for name in names):
                return None  # claims to be a document but has none of its parts: corrupt
            has_macros = any(name.endswith("vbaproject.bin") for name in names)
            return _MACRO_OF.get(mime, mime) if has_macros else mime
    return _OOXML_OTHER  # templates, add-ins, XPS and the like: not an allowed type


def _clean_text(data: bytes) -> str | None:
    """The text when `data` is UTF-8 (BOM allowed) without NUL or control characters but tab, CR, LF, FF."""
    if _CONTROL.search(data):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _text_type(data: bytes) -> str | None:
    text = _clean_text(data)
    if text is None:
        return None
    head = text[:_MARKUP_WINDOW].lower()
    if any(marker in head for marker in _SVG_MARKERS):
        return "image/svg+xml"
    if any(marker in head for marker in _HTML_MARKERS):
        return "text/html"
    stripped = head.lstrip()
    if stripped.startswith("<?xml"):
        return "application/xml"  # XML can carry XHTML or an XSLT stylesheet
    if stripped.startswith("#!"):
        return "text/x-shellscript"
    if _is_csv(text, truncated=len(data) > _CSV_SAMPLE_BYTES):
        return "text/csv"
    return "text/plain"


def _is_csv(text: str, *, truncated: bool) -> bool:
    """True when the first lines split into the same number (two or more) of fields on one delimiter.

    csv.Sniffer is not used: its quote-guessing regex is quadratic (16 KiB of `,"` takes seconds),
    while one csv.reader pass per candidate delimiter is linear.
    """
    lines = text[:_CSV_SAMPLE_BYTES].splitlines()
    if truncated and lines:
        lines = lines[:-1]  # the sample may have cut the last line short
    lines = [line for line in lines[:_CSV_SAMPLE_LINES] if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in _CSV_DELIMITERS:
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=delimiter, strict=True)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False
