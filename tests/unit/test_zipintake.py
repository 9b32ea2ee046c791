"""Zip intake refuses what cannot be trusted and extracts the rest."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from phenolake import zipintake
from phenolake.zipintake import RejectedZip, ZipLimits
from tests.fakes.zips import make_zip


def test_extracts_members_and_skips_junk(tmp_path: Path) -> None:
    z = make_zip(
        tmp_path / "a.zip",
        {"d/a.csv": b"x,y\n1,2\n", "__MACOSX/d/._a.csv": b"junk", "d/.DS_Store": b"j"},
    )
    extracted, report = zipintake.extract(z, tmp_path)
    assert [e.member for e in extracted] == ["d/a.csv"]
    assert extracted[0].path.read_bytes() == b"x,y\n1,2\n"
    assert sorted(report.skipped) == [
        f"__MACOSX/d/._a.csv: {zipintake.JUNK_REASON}",
        f"d/.DS_Store: {zipintake.JUNK_REASON}",
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("../evil.csv", "escapes"), ("/etc/evil.csv", "absolute"), ("C:/evil.csv", "absolute")],
)
def test_bad_member_names_are_rejected_rest_extracted(
    tmp_path: Path, name: str, reason: str
) -> None:
    z = make_zip(tmp_path / "a.zip", {name: b"bad", "ok.csv": b"ok"})
    extracted, report = zipintake.extract(z, tmp_path)
    assert [e.member for e in extracted] == ["ok.csv"]
    assert report.rejected[0]["member"] == name
    assert reason in report.rejected[0]["reason"]


def test_symlink_member_is_rejected(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "a.zip", {"ok.csv": b"ok"}, symlink="link")
    _, report = zipintake.extract(z, tmp_path)
    assert report.rejected == [{"member": "link", "reason": "symlink member"}]


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "a.zip", {"zeros.bin": b"\0" * 5_000_000})
    _, report = zipintake.extract(z, tmp_path)
    assert "compression ratio" in report.rejected[0]["reason"]


def test_zip_bomb_by_total_size(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "a.zip", {f"f{i}.csv": bytes(range(256)) * 40 for i in range(4)})
    with pytest.raises(RejectedZip, match="uncompressed total"):
        zipintake.extract(z, tmp_path, ZipLimits(max_total_bytes=20_000))


def test_too_many_members(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "a.zip", {f"f{i}.csv": b"1" for i in range(5)})
    with pytest.raises(RejectedZip, match="too many members"):
        zipintake.extract(z, tmp_path, ZipLimits(max_members=4))


def test_truncated_and_non_zip_are_rejected(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "a.zip", {"a.csv": b"1,2\n" * 1000})
    truncated = tmp_path / "t.zip"
    truncated.write_bytes(z.read_bytes()[:-40])
    with pytest.raises(RejectedZip, match="not a readable zip"):
        zipintake.extract(truncated, tmp_path)
    text = tmp_path / "n.zip"
    text.write_text("hello")
    with pytest.raises(RejectedZip, match="not a readable zip"):
        zipintake.extract(text, tmp_path)


def test_crc_mismatch_is_a_corrupt_member(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("a.csv", b"hello world, these are my bytes")
    data = bytearray(buffer.getvalue())
    data[data.index(b"hello")] ^= 0xFF
    path = tmp_path / "crc.zip"
    path.write_bytes(bytes(data))
    extracted, report = zipintake.extract(path, tmp_path)
    assert extracted == []
    assert "CRC" in report.rejected[0]["reason"] or "corrupt" in report.rejected[0]["reason"]


def test_one_level_of_nested_zip(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"x/data.csv": b"1"})
    innermost = make_zip(tmp_path / "deep.zip", {"y.csv": b"2"})
    middle = make_zip(tmp_path / "middle.zip", {"deep.zip": innermost.read_bytes()})
    outer = make_zip(
        tmp_path / "outer.zip", {"inner.zip": inner.read_bytes(), "middle.zip": middle.read_bytes()}
    )
    extracted, report = zipintake.extract(outer, tmp_path)
    assert [e.member for e in extracted] == ["inner.zip/x/data.csv"]
    assert report.rejected == [
        {"member": "middle.zip/deep.zip", "reason": "nested zip deeper than one level"}
    ]


def test_encrypted_zip_is_rejected(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "a.zip", {"a.csv": b"1"})
    data = bytearray(z.read_bytes())
    # set the "encrypted" general-purpose flag bit in the local and central headers
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)
        data[at + offset] |= 0x1
    path = tmp_path / "enc.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(RejectedZip, match="encrypted"):
        zipintake.extract(path, tmp_path)


def test_an_empty_zip_and_an_empty_nested_zip_are_refused_with_a_reason(tmp_path: Path) -> None:
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(RejectedZip, match=r"^empty zip: no file in it$"):
        zipintake.extract(make_zip(tmp_path / "e.zip", {}), tmp_path)
    outer = make_zip(tmp_path / "o.zip", {"inner.zip": empty.getvalue(), "a.csv": b"x"})
    extracted, report = zipintake.extract(outer, tmp_path)
    assert [e.member for e in extracted] == ["a.csv"]
    assert report.rejected == [
        {"member": "inner.zip", "reason": "nested zip: empty zip: no file in it"}
    ]
