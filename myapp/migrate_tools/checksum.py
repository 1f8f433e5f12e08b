"""Checksums of migration files that ignore line endings and trailing whitespace."""
import hashlib
from pathlib import Path


def file_checksum(path):
    """sha256 of the file with CRLF/CR as LF, trailing whitespace and trailing blank lines gone."""
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return hashlib.sha256("\n".join(lines).rstrip("\n").encode()).hexdigest()
