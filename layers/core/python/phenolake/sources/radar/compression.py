"""The tool's compressions (``compression/*.kt``, v3.0.6), undone for one data file.

``none`` writes ``X.csv``; ``gzip`` ``X.csv.gz``; ``zip`` writes ``X.csv.zip`` holding one
entry, named as the file itself (``ZipOutputStream.putNextEntry(ZipEntry(fileName))``), which
the tool reads back with ``ZipInputStream.nextEntry``. A ``.csv.zip`` is a compressed file,
not an archive of many: it is never expanded by Unzip (``Radar.is_archive``).
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib

from phenolake.sources.base import RejectedFile
from phenolake.zipintake import ZipLimits

_LIMITS = ZipLimits()


def decompress(data: bytes, compression: str, name: str) -> bytes:
    """The file's CSV bytes; RejectedFile (the reason) when it is not what its name says."""
    if compression == "gzip":
        return _gunzip(data, name)
    if compression == "zip":
        return _unzip(data, name)
    return data


def _gunzip(data: bytes, name: str) -> bytes:
    if data[:2] != b"\x1f\x8b":
        raise RejectedFile(f"{name} is not gzip (it starts with {data[:8]!r})")
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise RejectedFile(f"{name} is a damaged gzip: {exc}") from None


def _unzip(data: bytes, name: str) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise RejectedFile(f"{name} is not a readable zip: {exc}") from None
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) != 1:
            raise RejectedFile(
                f"{name} holds {len(entries)} entries; radar-output-restructure's zip "
                "compression writes exactly one"
            )
        entry = entries[0]
        if entry.flag_bits & 0x1:
            raise RejectedFile(f"{name}: its entry is encrypted")
        ratio = entry.file_size / entry.compress_size if entry.compress_size else 0.0
        if entry.file_size > _LIMITS.max_member_bytes or ratio > _LIMITS.max_ratio:
            raise RejectedFile(
                f"{name}: its entry of {entry.file_size} bytes (ratio {ratio:.0f}) exceeds "
                f"the limits ({_LIMITS.max_member_bytes} bytes, ratio {_LIMITS.max_ratio:.0f})"
            )
        try:
            return archive.read(entry)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise RejectedFile(f"{name} is a damaged zip: {exc}") from None
