"""Where radar-output-restructure (v3.0.6) files a record, read back from the file's path.

The tool builds each file's path from a format (``restructure.yml`` ``paths.path.format``,
or a topic's ``topics.<topic>.pathProperties.format``; default
``${projectId}/${userId}/${topic}/${filename}``) with its plugins (``path/*.kt``):

- ``fixed``: ``${projectId}``, ``${userId}``, ``${sourceId}`` (the key's ids, sanitised:
  every character outside ``[a-zA-Z0-9_-]`` removed, ``unknown-project`` / ``unknown-user`` /
  ``unknown-source`` when nothing is left), ``${topic}`` (as is), ``${filename}`` (the record
  time's bin in ``timeBinFormat``, default ``yyyyMMdd_HH'00'``, UTC, not sanitised, or
  ``unknown-time``; then ``${attempt}`` and ``${extension}``), ``${attempt}`` (``""`` or
  ``_N``: a further file for the same bin whose header differs) and ``${extension}``
  (``.csv`` and the compression's: ``.csv``, ``.csv.gz``, ``.csv.zip``);
- ``time``: ``${time:<java pattern>}``, the record time in UTC, sanitised, or ``unknown-time``;
- ``key`` / ``value``: ``${key:a.b}`` / ``${value:a.b}``, a field of the key or value record,
  sanitised, or ``unknown-key`` / ``unknown-value``.

(The ``mp`` plugin of 3.0.6 declares no parameter prefix, so the tool itself refuses any
``${mp:...}`` parameter; its values would come from ManagementPortal, not the record.)

A format is turned into one regular expression and matched against the end of a path, so
any folders above the tool's output (a bucket prefix, ``output/``) are ignored. A format must
hold ``${topic}`` and ``${filename}`` (or ``${attempt}`` and ``${extension}``), as the tool
requires, and ``${userId}``: phenolake files rows by participant from the path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_FORMAT = "${projectId}/${userId}/${topic}/${filename}"
DEFAULT_TIME_BIN = "yyyyMMdd_HH'00'"
#: The tool's file extensions (``.csv`` + the compression's) and their compression.
EXTENSIONS = {".csv": "none", ".csv.gz": "gzip", ".csv.zip": "zip"}
#: What the fixed plugin writes for a key id with nothing left after sanitising.
UNKNOWN = {"projectId": "unknown-project", "userId": "unknown-user", "sourceId": "unknown-source"}
UNKNOWN_TIME = "unknown-time"
#: ``FileCache.copy``: an existing file the tool could not read is moved aside under this
#: suffix (then ``-0`` ... ``-98``) and the file is started afresh.
CORRUPTED = re.compile(r"\.corrupted(?:-\d+)?$")

_ILLEGAL = re.compile(r"[^a-zA-Z0-9_-]+")
_ID = r"[A-Za-z0-9_-]+"
_TOPIC = r"[A-Za-z0-9._-]+"
_PARAMETER = re.compile(r"\$\{([^}]*)\}")
_FIXED = ("projectId", "userId", "sourceId", "topic", "filename", "attempt", "extension")
_EXTENSION = r"\.csv(?:\.gz|\.zip)?"


class PathFormatError(ValueError):
    """A path format phenolake cannot read back; the message is one line naming it."""


def sanitize_id(value: object, default: str) -> str:
    """``RecordPathFactory.sanitizeId``: ``CONNECT Pilot.2`` -> ``CONNECTPilot2``; the
    default when nothing is left (or there was no value)."""
    if value is None:
        return default
    return _ILLEGAL.sub("", str(value)) or default


# --- Java date-time patterns ----------------------------------------------------------------

#: Pattern letter -> regex by count (``DateTimeFormatter.ofPattern``), for the letters a time
#: bin may reasonably use; a numeric field of count 1 takes one or more digits.
_TEXT = r"[A-Za-z]+"


def _letter_regex(letter: str, count: int) -> str:
    if letter in "yuY":
        return r"\d{2}" if count == 2 else r"\d{4}"
    if letter in "ML":
        return {1: r"\d{1,2}", 2: r"\d{2}"}.get(count, _TEXT)
    if letter in "dHkKhmsw":
        if count > 2:
            raise PathFormatError(f"too many pattern letters {letter * count!r}")
        return r"\d{1,2}" if count == 1 else r"\d{2}"
    if letter == "D":
        if count > 3:
            raise PathFormatError(f"too many pattern letters {letter * count!r}")
        return {1: r"\d{1,3}", 2: r"\d{2,3}", 3: r"\d{3}"}[count]
    if letter == "S":
        return rf"\d{{{count}}}"
    if letter in "EeciQqWF":
        return _TEXT if letter in "Eec" and count >= 3 else r"[A-Za-z0-9]+"
    if letter == "a":
        return "[AaPp][Mm]"
    raise PathFormatError(
        f"pattern letter {letter!r} is not read back here (use y, M, d, D, H, k, h, a, m, s, S, E)"
    )


@dataclass(frozen=True)
class _Compiled:
    regex: str
    #: group name -> (parameter, pattern letter or "", letter count)
    groups: dict[str, tuple[str, str, int]]


def _java_pattern(pattern: str, parameter: str, *, sanitised: bool, start: int) -> _Compiled:
    """A Java ``DateTimeFormatter`` pattern as the regex of its formatted text (with the
    tool's sanitising applied, for ``${time:...}``), one named group per field."""
    parts: list[str] = []
    groups: dict[str, tuple[str, str, int]] = {}
    i = 0

    def literal(text: str) -> None:
        kept = _ILLEGAL.sub("", text) if sanitised else text
        parts.append(re.escape(kept))

    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise PathFormatError(f"unclosed quote in the time pattern {pattern!r}")
            literal("'" if end == i + 1 else pattern[i + 1 : end].replace("''", "'"))
            i = end + 1
        elif char.isascii() and char.isalpha():
            count = 1
            while i + count < len(pattern) and pattern[i + count] == char:
                count += 1
            name = f"g{start + len(groups)}"
            parts.append(f"(?P<{name}>{_letter_regex(char, count)})")
            groups[name] = (parameter, char, count)
            i += count
        elif char in "[]{}#":
            raise PathFormatError(f"optional or reserved {char!r} in the time pattern {pattern!r}")
        else:
            literal(char)
            i += 1
    return _Compiled("".join(parts), groups)


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: n for n, m in enumerate(_MONTH_NAMES, 1)}


def _field_value(letter: str, text: str) -> object:
    """A pattern field's value, so ``yy`` and ``yyyy`` (or ``MM`` and ``MMM``) compare."""
    if letter in "yuY" and text.isdigit():
        return int(text) + (2000 if len(text) == 2 else 0)
    if letter in "ML" and not text.isdigit():
        return _MONTHS.get(text[:3].lower(), text)
    return int(text) if text.isdigit() else text.lower()


def _bin_start(fields: Mapping[str, str]) -> dt.datetime | None:
    """The UTC start of a file's time bin from the fields its path gives: year, month and day
    (or day of the year), hour (and minute); None where the format does not give them all."""
    try:
        year_text = fields.get("y") or fields.get("u")
        if year_text is None:
            return None
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        month_text = fields.get("M") or fields.get("L")
        if "H" in fields:
            hour = int(fields["H"])
        elif "k" in fields:
            hour = int(fields["k"]) % 24
        elif ("h" in fields or "K" in fields) and "a" in fields:
            hour = int(fields.get("h") or fields["K"]) % 12 + (12 if fields["a"] in "PMpm" else 0)
        else:
            return None
        minute = int(fields.get("m", "0"))
        if month_text is not None and "d" in fields:
            month = int(month_text) if month_text.isdigit() else _MONTHS[month_text[:3].lower()]
            day = dt.date(year, month, int(fields["d"]))
        elif "D" in fields:
            day = dt.date(year, 1, 1) + dt.timedelta(days=int(fields["D"]) - 1)
        else:
            return None
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
    except (ValueError, KeyError):
        return None


# --- path formats ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PathFacts:
    """What a data file's path says, as the tool wrote it."""

    topic: str
    participant: str
    #: The ``${projectId}`` folder; None when the format has none (the rows then say).
    site: str | None
    #: ``${sourceId}``, ``${key:...}``, ``${value:...}`` folders: header column -> folder.
    folders: dict[str, str]
    #: What the tool names each of those folders when the record has no value: column ->
    #: ``unknown-source`` / ``unknown-key`` / ``unknown-value``.
    unknowns: dict[str, str]
    #: The start of the file's time bin (UTC), when the format gives year, day and hour.
    bin_start: dt.datetime | None
    attempt: int
    compression: str
    name: str
    format: str


@dataclass(frozen=True)
class PathFormat:
    """One format (``paths.path.format``) with the fixed plugin's ``timeBinFormat``."""

    format: str = DEFAULT_FORMAT
    time_bin_format: str = DEFAULT_TIME_BIN
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _groups: dict[str, tuple[str, str, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex, groups = self._compile()
        object.__setattr__(self, "_regex", re.compile(rf"(?:^|/){regex}$"))
        object.__setattr__(self, "_groups", groups)

    def _compile(self) -> tuple[str, dict[str, tuple[str, str, int]]]:
        if not self.format.strip():
            raise PathFormatError("path format may not be empty")
        found = _PARAMETER.findall(self.format)
        if "topic" not in found:
            raise PathFormatError(f"path format {self.format!r} lacks ${{topic}}")
        if "filename" not in found and not {"attempt", "extension"} <= set(found):
            raise PathFormatError(
                f"path format {self.format!r} lacks ${{filename}} "
                "(or ${attempt} and ${extension})"
            )
        if "userId" not in found:
            raise PathFormatError(
                f"path format {self.format!r} lacks ${{userId}}: phenolake files rows by "
                "participant from the path"
            )
        parts: list[str] = []
        groups: dict[str, tuple[str, str, int]] = {}
        last = 0
        for match in _PARAMETER.finditer(self.format):
            parts.append(re.escape(self.format[last : match.start()]))
            last = match.end()
            compiled = self._parameter(match.group(1), len(groups))
            parts.append(compiled.regex)
            groups.update(compiled.groups)
        parts.append(re.escape(self.format[last:]))
        return "".join(parts).lstrip("/"), groups

    def _parameter(self, name: str, start: int) -> _Compiled:
        def group(regex: str, kind: str = "") -> _Compiled:
            key = f"g{start}"
            return _Compiled(f"(?P<{key}>{regex})", {key: (name, kind, 0)})

        if name in ("projectId", "userId", "sourceId"):
            return group(_ID)
        if name == "topic":
            return group(_TOPIC)
        if name == "attempt":
            return group(r"(?:_\d+)?")
        if name == "extension":
            return group(_EXTENSION)
        if name == "filename":
            time_bin = _java_pattern(self.time_bin_format, "filename", sanitised=False, start=start)
            attempt = f"g{start + len(time_bin.groups)}"
            extension = f"g{start + len(time_bin.groups) + 1}"
            regex = (
                f"(?:{time_bin.regex}|{UNKNOWN_TIME})"
                f"(?P<{attempt}>(?:_\\d+)?)(?P<{extension}>{_EXTENSION})"
            )
            return _Compiled(
                regex,
                {
                    **time_bin.groups,
                    attempt: ("attempt", "", 0),
                    extension: ("extension", "", 0),
                },
            )
        prefix, _, contents = name.partition(":")
        contents = contents.strip()
        if prefix == "time" and contents:
            compiled = _java_pattern(contents, name, sanitised=True, start=start)
            return _Compiled(f"(?:{compiled.regex}|{UNKNOWN_TIME})", compiled.groups)
        if prefix in ("key", "value") and contents:
            if any(not part.strip() for part in contents.split(".")):
                raise PathFormatError(f"cannot format ${{{name}}}: an empty field name")
            return group(_ID)
        if prefix == "mp":
            raise PathFormatError(
                f"${{{name}}}: radar-output-restructure 3.0.6's mp plugin takes no parameter "
                "(the tool refuses this format) and its values come from ManagementPortal"
            )
        raise PathFormatError(
            f"unknown path parameter ${{{name}}} (known: {', '.join(_FIXED)}, time:<pattern>, "
            "key:<field>, value:<field>)"
        )

    def match(self, path: str) -> PathFacts | None:
        """The facts of a path this format wrote, or None when it did not write it (or the
        same parameter reads differently in two places)."""
        found = self._regex.search(path)
        if not found:
            return None
        values: dict[str, str] = {}
        times: dict[str, str] = {}
        for group, (parameter, letter, _) in self._groups.items():
            text = found.group(group)
            if text is None:
                continue
            if letter:
                seen = times.setdefault(letter, text)
                if _field_value(letter, seen) != _field_value(letter, text):
                    return None
                continue
            if values.setdefault(parameter, text) != text:
                return None
        attempt = values.get("attempt", "")
        extension = values["extension"]
        folders, unknowns = {}, {}
        for parameter, text in values.items():
            if parameter == "sourceId":
                folders["key.sourceId"], unknowns["key.sourceId"] = text, UNKNOWN["sourceId"]
            elif parameter.startswith(("key:", "value:")):
                kind, _, index = parameter.partition(":")
                column = f"{kind}.{index.strip()}"
                folders[column], unknowns[column] = text, f"unknown-{kind}"
        return PathFacts(
            topic=values["topic"],
            participant=values["userId"],
            site=values.get("projectId"),
            folders=folders,
            unknowns=unknowns,
            bin_start=_bin_start(times),
            attempt=int(attempt[1:]) if attempt else 0,
            compression=EXTENSIONS[extension],
            name=path.rsplit("/", 1)[-1],
            format=self.format,
        )

    def describe(self) -> str:
        """The format as a reason names it, with the file name it expects."""
        if "${filename}" not in self.format:
            return self.format
        readable = self.time_bin_format.replace("'", "")
        return f"{self.format} (${{filename}}: {readable}[_N].csv[.gz|.zip], UTC)"


@dataclass(frozen=True)
class PathLayout:
    """The study's formats: the default one and those of topics with their own."""

    default: PathFormat = PathFormat()
    topics: Mapping[str, PathFormat] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        path_format: str = DEFAULT_FORMAT,
        topic_path_formats: Mapping[str, str] | None = None,
        time_bin_format: str = DEFAULT_TIME_BIN,
    ) -> PathLayout:
        """The layout of the source's options; PathFormatError names a format it cannot read."""
        topics = {}
        for topic, text in (topic_path_formats or {}).items():
            try:
                topics[topic] = PathFormat(text, time_bin_format)
            except PathFormatError as exc:
                raise PathFormatError(f"topic {topic}: {exc}") from None
        return cls(PathFormat(path_format, time_bin_format), topics)

    def match(self, path: str) -> PathFacts | None:
        """The facts of a data file's path: a topic's own format first (when the path reads
        as that topic under it), else the default format."""
        for topic, chosen in self.topics.items():
            facts = chosen.match(path)
            if facts is not None and facts.topic == topic:
                return facts
        return self.default.match(path)

    def describe(self) -> str:
        extra = "; ".join(f"{t}: {f.format}" for t, f in self.topics.items())
        return self.default.describe() + (f" (topics of their own: {extra})" if extra else "")
