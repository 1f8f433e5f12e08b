"""Checksums of migration files that ignore line endings and trailing whitespace."""
import hashlib
from pathlib import Path


def file_checksum(path):
    """sha256 of the file's bytes with CRLF/CR as LF, trailing whitespace and trailing blank
    lines gone."""
    # surrogateescape keeps every byte that is not UTF-8 as itself (errors="replace" made all
    # of them one U+FFFD, so files differing only there had one checksum), and leaves text
    # that is UTF-8 hashing exactly as it always did: journals keep matching their files.
    text = Path(path).read_bytes().decode("utf-8", errors="surrogateescape")
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return hashlib.sha256("\n".join(lines).rstrip("\n").encode("utf-8", "surrogateescape")).hexdigest()
