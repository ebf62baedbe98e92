"""Generators of hostile report files, written into a test's tmp folder.

Nothing here is committed as a binary: every file is made at test time, from
scratch or from a sample PDF, so the fixtures stay reviewable as code.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from tests.support.paths import ROOT

SAMPLE = ROOT / "corpus"
BEDFORD_2022 = SAMPLE / "80428_bedford" / "children's services inspection - 14 january 2022.pdf"

# Text that would be markup in HTML or Markdown: a report may quote anything.
MARKUP_LINES = (
    "Leaders wrote <img src=x onerror=alert(1)> in a case note.",
    "The link [x](javascript:alert(1)) was found in a plan.",
    "A template ended with </div><style> before the summary.",
)


def _pdf_string(text: str) -> bytes:
    # Literal string escapes: backslash and both parentheses.
    return b"(" + text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _assemble(objects: list[bytes]) -> bytes:
    """A PDF file from object bodies numbered 1..n; object 1 is the catalog."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(content), extra) + content + b"\nendstream"


def text_pdf(paragraphs: list[list[str]]) -> bytes:
    """A one-page PDF with Helvetica text: a blank line between paragraphs."""
    ops = [b"BT /F1 11 Tf 14 TL 72 740 Td"]
    for para in paragraphs:
        for line in para:
            ops.append(_pdf_string(line) + b" Tj T*")
        ops.append(b"T*")
    ops.append(b"ET")
    content = b"\n".join(ops)
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
    )


def image_only_pdf() -> bytes:
    """A 'scanned' page: one grey image drawn full width, no text layer."""
    pixels = zlib.compress(bytes(range(256)) * 64)  # 128 x 128, 8-bit grey
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>",
            _stream(b"q 468 0 0 468 72 200 cm /Im1 Do Q"),
            _stream(
                pixels,
                b"/Type /XObject /Subtype /Image /Width 128 /Height 128 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
            ),
        ]
    )


def _zeros_deflated(n_blocks: int) -> bytes:
    """A zlib stream of n_blocks x 16 MiB of zeros, built without compressing
    it all: after a full flush the deflate state is reset, so one flushed
    segment of zeros can simply be repeated."""
    block = bytes(1 << 24)
    comp = zlib.compressobj(9)
    head = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    seg = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)[:-4]  # the empty final block, without the checksum
    # Adler-32 of n zero bytes: a stays 1, b grows by 1 per byte.
    n = n_blocks << 24
    adler = ((n % 65521) << 16) | 1
    return head + seg * (n_blocks - 1) + tail + adler.to_bytes(4, "big")


def bomb_pdf(gigabytes: int = 1) -> bytes:
    """A few-kB PDF whose page content inflates to `gigabytes` GiB of zeros.

    Compressed twice (a /FlateDecode pair), so the file is tiny while a naive
    reader would allocate the whole expansion.
    """
    twice = zlib.compress(_zeros_deflated(gigabytes * 64), 9)
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(twice, b"/Filter [/FlateDecode /FlateDecode]"),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def operator_flood_pdf(operators: int = 3_000_000) -> bytes:
    """A 30 kB page of millions of tiny text operators: legal, under every
    size cap, yet minutes of work for a pure-Python text extractor."""
    content = b"BT /F1 1 Tf " + b"(a) Tj\n" * operators + b"ET"
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(zlib.compress(content, 9), b"/Filter /FlateDecode"),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def many_pages_pdf(n: int = 2000) -> bytes:
    writer = PdfWriter()
    for _ in range(n):
        writer.add_blank_page(612, 792)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def encrypted_pdf(source: bytes, user_password: str) -> bytes:
    """`source` encrypted with AES-128; an empty user password opens without asking."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def truncated_pdf(source: Path = BEDFORD_2022) -> bytes:
    data = source.read_bytes()
    return data[: len(data) // 2]


HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Page not found</title></head><body><h1>Sorry, we cannot find that page</h1></body></html>\n"

# Latin-1 bytes (\xe9, \xa3) that are not valid UTF-8, after a valid start.
NOT_UTF8 = "Children's services in Caf\u00e9 Town cost \u00a3100.\n".encode("latin-1")

# Not starting with "." (that is a hidden file, deliberately skipped), but with
# "..", an encoded slash and non-ASCII letters: it must keep its exact name.
ODD_NAME = "Bedford ..%2f..%2fr\u00e9sum\u00e9 \u00fc\u0141\u00f8 report.pdf"
ODD_TEXT = [["An ordinary report whose file name looks like a path trick."], ["Its words must still be found."]]


@dataclass(frozen=True)
class Hostile:
    name: str  # file name in the test folder
    data: bytes
    reason: str  # a regex the failure reason must match; "" means it must ingest


def hostile_files() -> list[Hostile]:
    """Every hostile case, with what a user should be told about it."""
    markup = text_pdf([[line] for line in MARKUP_LINES])
    plain = text_pdf([["A small report that opens without a password."], ["Its text is readable."]])
    return [
        Hostile("html named.pdf", HTML_PAGE, r"not a PDF: it is an HTML page"),
        Hostile("zero bytes.pdf", b"", r"empty file \(0 bytes\)"),
        Hostile("cut in half.pdf", truncated_pdf(), r"truncated or damaged PDF"),
        Hostile("empty password.pdf", encrypted_pdf(plain, ""), ""),
        Hostile("locked.pdf", encrypted_pdf(plain, "unknown-to-us"), r"encrypted PDF: a password is required"),
        Hostile("bomb.pdf", bomb_pdf(), r"decompression bomb"),
        Hostile("2000 pages.pdf", many_pages_pdf(), r"too many pages \(2000; the limit is \d+\)"),
        Hostile("markup.pdf", markup, ""),
        Hostile("latin1.txt", NOT_UTF8, r"not valid UTF-8 text \(bad byte at offset 26\)"),
        Hostile(ODD_NAME, text_pdf(ODD_TEXT), ""),
        Hostile("scanned.pdf", image_only_pdf(), r"no extractable text"),
    ]


def write_all(folder: Path) -> list[Hostile]:
    folder.mkdir(parents=True, exist_ok=True)
    cases = hostile_files()
    for case in cases:
        (folder / case.name).write_bytes(case.data)
    return cases
