"""Which files a local Glue job opened and wrote under the lake's folders (Linux inotify).

The local Glue job's Spark reads and writes ``<home>/<lake bucket>/...`` as plain files (on
AWS each of those is an S3 request), in a process of its own. inotify reports every open of a
file in a watched folder, whichever process opens it, without touching the job: the watch is
drained when the job starts (dropping what the embedded AWS's own mirroring opened before)
and counted when it ends (before the mirroring after it). Writes are the difference of the
folders' (size, mtime) before and after.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

IN_OPEN = 0x00000020
IN_Q_OVERFLOW = 0x00004000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
_EVENT = struct.Struct("iIII")
_SKIP = (".crc",)

Listing = dict[str, tuple[int, int]]


@dataclass
class Opened:
    """Opens during one window: file opens by relative path, and folder listings. inotify
    merges an event repeated while the last is unread, so the opens of a file are at least
    one and at most what the counts say: the distinct files are the exact measure."""

    files: dict[str, int] = field(default_factory=dict)
    folders: int = 0
    #: inotify's queue overflowed: opens were lost, the counts are lower bounds
    overflowed: bool = False

    def under(self, prefix: str) -> tuple[int, int]:
        """(distinct files, opens) under ``prefix``."""
        found = [n for p, n in self.files.items() if p.startswith(prefix)]
        return len(found), sum(found)


class OpenWatch:
    """inotify watches on every folder under ``root`` (re-scanned at each ``start``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init1(IN_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._paths: dict[int, str] = {}

    def close(self) -> None:
        os.close(self._fd)

    def _watch_all(self) -> None:
        if not self.root.exists():
            return
        for dirpath, _, _ in os.walk(self.root):
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(dirpath), IN_OPEN)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {dirpath}")
            relative = Path(dirpath).relative_to(self.root).as_posix()
            self._paths[wd] = "" if relative == "." else relative + "/"

    def _drain(self) -> Opened:
        opened = Opened()
        while True:
            try:
                data = os.read(self._fd, 1 << 20)
            except BlockingIOError:
                return opened
            except OSError as exc:  # pragma: no cover - EINTR
                if exc.errno == errno.EINTR:
                    continue
                raise
            offset = 0
            while offset < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = data[offset : offset + length].rstrip(b"\0").decode(errors="replace")
                offset += length
                if mask & IN_Q_OVERFLOW:
                    opened.overflowed = True
                elif mask & IN_ISDIR:
                    opened.folders += 1
                elif not name.endswith(_SKIP):
                    path = self._paths.get(wd, "?/") + name
                    opened.files[path] = opened.files.get(path, 0) + 1

    def start(self) -> None:
        """Watch every folder there is now; forget the opens so far (the embedded AWS's own,
        which may have overflowed the queue since the last window: harmless here)."""
        self._watch_all()
        self._drain()

    def stop(self) -> Opened:
        """The opens since ``start``."""
        return self._drain()


def listing(root: Path) -> Listing:
    """Relative path -> (size, mtime_ns) of every file under ``root``."""
    found: Listing = {}
    if not root.exists():
        return found
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(_SKIP):
                continue
            path = Path(dirpath) / name
            stat = path.stat()
            found[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def written(before: Listing, after: Listing) -> tuple[list[str], list[str]]:
    """(files new or changed, files removed) between two listings."""
    changed = sorted(p for p, s in after.items() if before.get(p) != s)
    return changed, sorted(set(before) - set(after))
