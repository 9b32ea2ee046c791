"""Validate and extract a zip without trusting it (pure: local files in, local files out).

Checks before anything is written: member count, declared and actual uncompressed sizes
(per member and in total), compression ratio, absolute paths, ``..``, symlinks, encrypted
members, CRC (checked as each member is read to the end). One level of nested zip is opened
(exports arrive as ``.zip.zip``); deeper nesting is rejected. A bad member is reported and
skipped; a zip that cannot be trusted as a whole raises ``RejectedZip``, and so does a zip
that holds no file at all (nothing in it could be traced to a table or a reason). Junk
members (``JUNK_REASON``) are skipped, each named with the reason in ``ZipReport.skipped``.
"""

from __future__ import annotations

import posixpath
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
JUNK_FOLDERS = {"__MACOSX"}
#: Why a junk member is skipped: the documented side files of every zip, each listed with
#: this reason in the run summary (``skipped``), never quarantined.
JUNK_REASON = "operating-system metadata (.DS_Store, Thumbs.db, __MACOSX/, ._*), not data"


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 20_000
    max_member_bytes: int = 2 << 30
    max_total_bytes: int = 8 << 30
    max_ratio: float = 200.0
    max_nesting: int = 1


class RejectedZip(ValueError):
    """The whole zip is refused; the message is the quarantine reason."""


@dataclass(frozen=True)
class Extracted:
    member: str  # path inside the zip, nested zips joined with '/'
    path: Path  # where the bytes are on local disk
    size: int


@dataclass
class ZipReport:
    skipped: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    total_bytes: int = 0


def unsafe_name(name: str) -> str | None:
    """Why a member name cannot be written, or None if it is safe."""
    if "\x00" in name:
        return "member name contains a NUL byte"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "absolute member path"
    if ".." in normalised.split("/"):
        return "member path escapes the archive ('..')"
    return None


def is_junk(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (
        parts[-1] in JUNK_NAMES
        or any(p in JUNK_FOLDERS for p in parts)
        or parts[-1].startswith("._")
    )


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def extract(
    zip_path: Path,
    work_dir: Path,
    limits: ZipLimits = ZipLimits(),
    *,
    is_archive: Callable[[str], bool] | None = None,
    _depth: int = 0,
    _prefix: str = "",
    _report: ZipReport | None = None,
) -> tuple[list[Extracted], ZipReport]:
    """The zip's members on local disk; ``is_archive`` tells a member that is a zip to open
    from one its source converts as it is (default: every ``.zip`` is opened)."""
    report = _report or ZipReport()
    noted = len(report.skipped) + len(report.rejected)  # before this (nested) zip
    nested_zip = is_archive or (lambda name: name.lower().endswith(".zip"))
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise RejectedZip(f"not a readable zip: {exc}") from None
    except OSError as exc:
        raise RejectedZip(f"not a readable zip: {exc}") from None
    out: list[Extracted] = []
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise RejectedZip(f"too many members: {len(infos)} > {limits.max_members}")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_total_bytes:
            raise RejectedZip(
                f"uncompressed total {declared} bytes exceeds the limit {limits.max_total_bytes}"
            )
        if infos and all(i.flag_bits & 0x1 for i in infos if not i.is_dir()):
            raise RejectedZip("encrypted zip: every member is password-protected")
        for info in infos:
            name = _prefix + info.filename
            if info.is_dir():
                continue
            if is_junk(info.filename):
                report.skipped.append(f"{name}: {JUNK_REASON}")
                continue
            why = _member_problem(info, limits)
            if why:
                report.rejected.append({"member": name, "reason": why})
                continue
            target = (
                work_dir
                / f"member-{_depth}-{len(out)}-{len(report.rejected)}-{len(report.skipped)}"
            )
            try:
                size = _copy_member(archive, info, target, limits, report)
            except _MemberError as exc:
                target.unlink(missing_ok=True)
                if str(exc).startswith("uncompressed total"):
                    raise RejectedZip(str(exc)) from None
                report.rejected.append({"member": name, "reason": str(exc)})
                continue
            if nested_zip(name):
                if _depth >= limits.max_nesting:
                    report.rejected.append(
                        {"member": name, "reason": "nested zip deeper than one level"}
                    )
                    target.unlink()
                    continue
                try:
                    nested, _ = extract(
                        target,
                        work_dir,
                        limits,
                        is_archive=is_archive,
                        _depth=_depth + 1,
                        _prefix=name + "/",
                        _report=report,
                    )
                except RejectedZip as exc:
                    report.rejected.append({"member": name, "reason": f"nested zip: {exc}"})
                    continue
                finally:
                    target.unlink(missing_ok=True)
                out.extend(nested)
                continue
            out.append(Extracted(member=name, path=target, size=size))
    if not out and len(report.skipped) + len(report.rejected) == noted:
        raise RejectedZip("empty zip: no file in it")
    return out, report


class _MemberError(ValueError):
    pass


def _member_problem(info: zipfile.ZipInfo, limits: ZipLimits) -> str | None:
    why = unsafe_name(info.filename)
    if why:
        return why
    if _is_symlink(info):
        return "symlink member"
    if info.flag_bits & 0x1:
        return "encrypted member"
    if info.file_size > limits.max_member_bytes:
        return f"member of {info.file_size} bytes exceeds the limit {limits.max_member_bytes}"
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        ratio = info.file_size / info.compress_size
        return f"compression ratio {ratio:.0f} exceeds the limit {limits.max_ratio:.0f} (zip bomb?)"
    return None


def _copy_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    limits: ZipLimits,
    report: ZipReport,
) -> int:
    """Copy one member to disk counting real bytes (declared sizes can lie); CRC is checked
    by zipfile when the member is read to its end."""
    written = 0
    try:
        with archive.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                report.total_bytes += len(chunk)
                if written > limits.max_member_bytes:
                    raise _MemberError(
                        f"member grew past the limit {limits.max_member_bytes} bytes"
                    )
                if report.total_bytes > limits.max_total_bytes:
                    raise _MemberError(
                        f"uncompressed total exceeds the limit {limits.max_total_bytes} bytes"
                    )
                dst.write(chunk)
    except zipfile.BadZipFile as exc:
        raise _MemberError(f"corrupt member: {exc}") from None
    except (EOFError, OSError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise _MemberError(f"unreadable member: {exc}") from None
    return written


def iter_members(extracted: list[Extracted]) -> Iterator[tuple[str, Path]]:
    for item in extracted:
        yield posixpath.normpath(item.member), item.path


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder on local disk (Lambda's /tmp), removed when done."""
    return tempfile.TemporaryDirectory(prefix="phenolake-unzip-")
