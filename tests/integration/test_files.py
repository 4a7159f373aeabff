"""The file adapters on real bytes and a real disk: content sniffing and the content-addressed blob store.

The sample files are in tests/fixtures/files, written by generate.py there.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from adapters.files import BlobCorrupted, ContentTypeSniffer, LocalBlobStore
from domain.common.errors import FileTooLarge, FileTypeNotAllowed
from domain.orders.comments import ALLOWED_CONTENT_TYPES, MAX_ATTACHMENT_BYTES, Upload, check_upload

FIXTURES = Path(__file__).parents[1] / "fixtures" / "files"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

ALLOWED = {
    "sample.pdf": "application/pdf",
    "sample.png": "image/png",
    "sample.jpg": "image/jpeg",
    "sample.gif": "image/gif",
    "sample.webp": "image/webp",
    "sample.docx": DOCX,
    "sample.xlsx": XLSX,
    "sample.pptx": PPTX,
    "sample.zip": "application/zip",
    "sample.csv": "text/csv",
    "semicolon.csv": "text/csv",
    "bmw.csv": "text/csv",  # starts with "BM", the BMP magic: still text
    "sample.txt": "text/plain",
    "bom.txt": "text/plain",
}

REFUSED = {
    "program.exe": "application/x-msdownload",
    "program.elf": "application/x-executable",
    "invoice.pdf": "application/x-msdownload",  # a Windows executable named .pdf
    "report.docx": "application/x-executable",  # a Linux executable named .docx
    "page.html": "text/html",
    "snippet.txt": "text/html",
    "image.svg": "image/svg+xml",
    "data.xml": "application/xml",
    "install.sh": "text/x-shellscript",
    "macro.docx": "application/vnd.ms-word.document.macroEnabled.12",
    "tool.zip": "application/java-archive",
    "truncated.docx": None,
    "garbage.zip": None,
    "latin1.txt": None,
    "control.txt": None,
    "random.bin": None,
    "empty.txt": None,
}


@pytest.fixture
def sniffer() -> ContentTypeSniffer:
    return ContentTypeSniffer()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_every_sample_file_has_an_expected_type() -> None:
    on_disk = {path.name for path in FIXTURES.iterdir() if path.suffix != ".py"}
    assert on_disk == set(ALLOWED) | set(REFUSED)
    assert set(ALLOWED.values()) <= ALLOWED_CONTENT_TYPES
    assert not {t for t in REFUSED.values() if t} & ALLOWED_CONTENT_TYPES


@pytest.mark.parametrize(("name", "expected"), sorted(ALLOWED.items()))
def test_allowed_files_are_detected_and_accepted(sniffer: ContentTypeSniffer, name: str, expected: str) -> None:
    data = fixture(name)

    detected = sniffer.detect(data)

    assert detected == expected
    assert check_upload(Upload(name, data, detected)) == expected


@pytest.mark.parametrize(("name", "expected"), sorted(REFUSED.items()))
def test_refused_files_come_back_as_their_real_type_and_are_refused(
    sniffer: ContentTypeSniffer, name: str, expected: str | None
) -> None:
    data = fixture(name)

    detected = sniffer.detect(data)

    assert detected == expected
    with pytest.raises(FileTypeNotAllowed):
        check_upload(Upload(name, data, detected))


def test_a_renamed_executable_is_refused_as_an_executable(sniffer: ContentTypeSniffer) -> None:
    data = fixture("invoice.pdf")

    with pytest.raises(FileTypeNotAllowed, match="application/x-msdownload"):
        check_upload(Upload("invoice.pdf", data, sniffer.detect(data)))


def test_the_same_bytes_get_the_same_type_whatever_the_file_is_called(sniffer: ContentTypeSniffer) -> None:
    assert sniffer.detect(fixture("invoice.pdf")) == sniffer.detect(fixture("program.exe"))
    assert sniffer.detect(fixture("report.docx")) == sniffer.detect(fixture("program.elf"))


def test_a_file_one_byte_over_5_mb_is_too_large(sniffer: ContentTypeSniffer) -> None:
    at_limit = b"a" * MAX_ATTACHMENT_BYTES
    over = at_limit + b"a"

    assert check_upload(Upload("big.txt", at_limit, sniffer.detect(at_limit))) == "text/plain"
    with pytest.raises(FileTooLarge):
        check_upload(Upload("big.txt", over, sniffer.detect(over)))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"tab\tcr\rlf\nff\f", "text/plain", id="allowed-whitespace-controls"),
        pytest.param(b"nul\x00inside", None, id="nul"),
        pytest.param(b"bell\x07", None, id="bell"),
        pytest.param(b"vertical tab\x0b", None, id="vertical-tab"),
        pytest.param("\ufeff".encode() + b"bom only text", "text/plain", id="utf8-bom"),
        pytest.param("\ufeffa".encode("utf-16"), None, id="utf16"),
        pytest.param(b"\xc3\x28 broken utf-8", None, id="invalid-utf8"),
        pytest.param(b"one,line,only", "text/plain", id="one-line-is-not-csv"),
        pytest.param(b"a,b\n1,2,3\n4\n", "text/plain", id="ragged-is-not-csv"),
        pytest.param(b"a\tb\n1\t2\n", "text/csv", id="tab-separated"),
        pytest.param(b"ID3,name\n1,Ada\n", "text/csv", id="starts-like-mp3"),
        pytest.param(b"  <SVG xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", id="svg-upper-case"),
        pytest.param(b"<!DocType HTML><p>hi", "text/html", id="doctype-mixed-case"),
        pytest.param(b"note\n<ScRiPt src=//evil.example></script>", "text/html", id="script-mixed-case"),
        pytest.param(b"<iframe src=//evil.example>", "text/html", id="iframe"),
        pytest.param(b"x" * 5000 + b"\n<script>", "text/plain", id="markup-far-from-the-start"),
    ],
)
def test_text_rules(sniffer: ContentTypeSniffer, data: bytes, expected: str | None) -> None:
    assert sniffer.detect(data) == expected


def test_a_long_csv_is_judged_on_its_first_lines(sniffer: ContentTypeSniffer) -> None:
    data = b"id,name,email\n" + b"".join(b"%d,Name %d,n%d@example.com\n" % (i, i, i) for i in range(10_000))

    assert len(data) > 64 * 1024
    assert sniffer.detect(data) == "text/csv"


def test_quote_heavy_text_is_sniffed_in_linear_time(sniffer: ContentTypeSniffer) -> None:
    # csv.Sniffer takes seconds on this; the adapter must not.
    data = (b'a,"b' * 20_000 + b"\n") * 10

    assert sniffer.detect(data) == "text/plain"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_with_an_oversized_content_types_part_is_not_inspected(sniffer: ContentTypeSniffer) -> None:
    # 20 MB of spaces compress to a few KB: reading it whole would be a zip bomb.
    bomb = _zip({"[Content_Types].xml": b" " * 20_000_000, "word/document.xml": b"<w:document/>"})

    assert len(bomb) < 100_000
    assert sniffer.detect(bomb) is None


def test_a_zip_with_too_many_entries_is_not_inspected(sniffer: ContentTypeSniffer) -> None:
    many = _zip({f"{i}.txt": b"" for i in range(10_001)})

    assert sniffer.detect(many) is None


def test_an_ooxml_type_without_its_document_part_is_refused(sniffer: ContentTypeSniffer) -> None:
    hollow = _zip(
        {
            "[Content_Types].xml": b'<Types><Override PartName="/word/document.xml" ContentType="'
            b'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
        }
    )

    assert sniffer.detect(hollow) is None


def test_a_declared_mimetype_is_trusted_only_for_the_formats_that_use_it(sniffer: ContentTypeSniffer) -> None:
    odt = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"})
    disguised = _zip({"mimetype": b"image/png", "payload.bin": b"\x00"})

    assert sniffer.detect(odt) == "application/vnd.oasis.opendocument.text"
    assert sniffer.detect(disguised) == "application/zip"


def test_a_corrupted_central_directory_is_refused(sniffer: ContentTypeSniffer) -> None:
    data = bytearray(fixture("sample.docx"))
    central = data.rfind(b"PK\x01\x02")
    data[central : central + 4] = b"XXXX"

    assert sniffer.detect(bytes(data)) is None


# --- blob store -------------------------------------------------------------------------------


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


async def test_put_returns_the_sha256_and_get_returns_the_bytes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = fixture("sample.pdf")

    digest = await store.put(data)

    assert digest == hashlib.sha256(data).hexdigest()
    assert await store.get(digest) == data
    assert stored_files(tmp_path) == [tmp_path / digest[:2] / digest[2:4] / digest]


async def test_the_same_content_is_stored_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = fixture("sample.png")

    first = await store.put(data)
    again = await store.put(data)
    concurrent = await asyncio.gather(*(store.put(data) for _ in range(20)))

    assert {first, again, *concurrent} == {first}
    assert stored_files(tmp_path) == [store.path_for(first)]  # no temporary files left behind


async def test_different_content_is_stored_separately(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    a = await store.put(b"a")
    b = await store.put(b"b")

    assert a != b
    assert await store.get(a) == b"a"
    assert await store.get(b) == b"b"
    assert len(stored_files(tmp_path)) == 2


async def test_empty_content_can_be_stored(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    digest = await store.put(b"")

    assert await store.get(digest) == b""


async def test_stored_files_are_read_only(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    digest = await store.put(b"never modified")

    assert stat.S_IMODE(store.path_for(digest).stat().st_mode) == 0o444


async def test_get_of_content_never_stored_is_none(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    assert await store.get(hashlib.sha256(b"nothing").hexdigest()) is None


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "../../../etc/passwd",
        "ab/../../" + "0" * 55,
        "0" * 63,
        "0" * 65,
        "A" * 64,
        "g" * 64,
        "0" * 63 + "\n",
        "/" + "0" * 63,
    ],
)
async def test_malformed_digests_are_refused_before_touching_the_disk(tmp_path: Path, digest: str) -> None:
    store = LocalBlobStore(tmp_path / "store")

    with pytest.raises(ValueError, match="64 lowercase hexadecimal"):
        await store.get(digest)
    with pytest.raises(ValueError, match="64 lowercase hexadecimal"):
        store.path_for(digest)
    assert not (tmp_path / "store").exists()


async def test_a_blob_changed_on_disk_is_reported_not_served(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    digest = await store.put(b"original")
    path = store.path_for(digest)
    path.chmod(0o644)
    path.write_bytes(b"tampered")

    with pytest.raises(BlobCorrupted):
        await store.get(digest)


# ---- the sweep of unreferenced blobs ------------------------------------------------------------------

HOUR = 3600.0


def aged(store: LocalBlobStore, digest: str, seconds: float) -> None:
    """Make a blob look last stored `seconds` ago."""
    path = store.path_for(digest)
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


async def test_the_sweep_deletes_only_old_blobs_nothing_references(tmp_path: Path) -> None:
    # given a referenced old blob, an unreferenced old one, an unreferenced new one, and an old temp file
    store = LocalBlobStore(tmp_path / "blobs")
    kept_old, gone, fresh = [await store.put(f"blob {n}".encode()) for n in range(3)]
    for digest in (kept_old, gone):
        aged(store, digest, 2 * HOUR)
    leftover = store.path_for(gone).parent / ".tmp-crashed"
    leftover.write_bytes(b"half a file")
    os.utime(leftover, (0, 0))
    asked: list[list[str]] = []

    async def referenced(digests: list[str]) -> set[str]:
        asked.append(sorted(digests))
        return {kept_old} & set(digests)

    # when the sweep runs for blobs untouched for an hour
    removed = await store.sweep(referenced, older_than=HOUR)
    # then only the old unreferenced blob and the temp file went; only old blobs were looked up
    assert removed == 2
    assert asked == [sorted([kept_old, gone])]
    assert await store.get(kept_old) == b"blob 0" and await store.get(fresh) == b"blob 2"
    assert await store.get(gone) is None and not leftover.exists()


async def test_a_blob_reused_by_an_upload_is_fresh_again_and_survives_the_sweep(tmp_path: Path) -> None:
    # given an old unreferenced blob
    store = LocalBlobStore(tmp_path / "blobs")
    digest = await store.put(b"same content")
    aged(store, digest, 2 * HOUR)

    async def nothing(_digests: list[str]) -> set[str]:
        return set()

    # when an upload stores the same content again (its transaction not yet committed), then the sweep runs
    assert await store.put(b"same content") == digest
    assert await store.sweep(nothing, older_than=HOUR) == 0
    # then the blob is still there for the attachment about to reference it
    assert await store.get(digest) == b"same content"


def test_a_blob_touched_between_listing_and_deletion_is_put_back(tmp_path: Path) -> None:
    # given an old blob that the sweep listed as stale
    store = LocalBlobStore(tmp_path / "blobs")
    digest = asyncio.run(store.put(b"raced"))
    aged(store, digest, 2 * HOUR)
    cutoff = time.time() - HOUR
    # when an upload reuses it after the listing (it is touched), and only then the sweep removes it
    os.utime(store.path_for(digest))
    assert store._remove_if_stale(digest, cutoff) is False
    # then it is back in place, and nothing is left aside
    assert store.path_for(digest).read_bytes() == b"raced"
    assert [p.name for p in store.path_for(digest).parent.iterdir()] == [digest]


async def test_a_blob_a_stopped_sweep_left_aside_is_put_back(tmp_path: Path) -> None:
    # given a blob a sweep renamed aside and then stopped (a crash) before deciding on it
    store = LocalBlobStore(tmp_path / "blobs")
    digest = await store.put(b"set aside")
    path = store.path_for(digest)
    os.rename(path, path.with_name(f".sweep-{digest}"))

    async def referenced(digests: list[str]) -> set[str]:
        return set(digests)

    # when the next sweep runs
    assert await store.sweep(referenced, older_than=HOUR) == 0
    # then the blob is back where readers look for it
    assert await store.get(digest) == b"set aside"
