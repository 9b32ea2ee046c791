"""MHEALTH re-packaged as one CSV (Kaggle ``mhealth_raw_data.csv``): the same rows, columns
and participants as the original ``mHealth_subjectN.log`` files give, bad input reported."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from phenolake.sources.base import Member, Provenance, RejectedFile
from phenolake.sources.mhealth import convert as mhealth
from phenolake.sources.mhealth import repackaged
from phenolake.steps.convert import convert_file
from tests.fakes.mhealth_csv import KAGGLE_HEADER, SUBJECT1_FIRST_LINE, kaggle_csv, kaggle_row

SOURCE = mhealth.MHealth()
KEPT = list(repackaged.KAGGLE_CHANNELS.values())
MISSING = [c for c in mhealth.SENSOR_COLUMNS if c not in KEPT]


def logs(tmp_path: Path) -> dict[int, str]:
    """Subject 1's log opening with its real first line, and subject 2's, from the samples."""
    out = tmp_path / "samples"
    paths = SOURCE.write_samples(out, seed=7, rows=300)
    one, two = (p.read_text() for p in paths[:2])
    return {1: SUBJECT1_FIRST_LINE + one, 2: two}


def convert(tmp_path: Path, name: str, data: bytes) -> tuple[dict[tuple[str, str], pa.Table], list]:
    raw = tmp_path / name.replace("/", "_")
    raw.write_bytes(data)
    out = tmp_path / f"out-{raw.name}"
    out.mkdir()
    provenance = Provenance(f"raw/mhealth/{name}", "ab" * 32, "r1")
    outputs, report, _ = convert_file(raw, "mhealth", name, provenance, out)
    tables = {key: pq.read_table(path) for key, (path, _) in outputs.items()}
    return tables, [r.as_dict() for r in report.rejections()]


def test_the_kaggle_file_is_read_as_one_and_its_participants_come_from_its_rows() -> None:
    assert SOURCE.recognise("mobile-health/mhealth_raw_data.csv")
    assert SOURCE.member("x.zip/mhealth_raw_data.csv") == Member("mhealth", "", "readings")
    assert SOURCE.side_file("MHEALTHDATASET/README.txt")
    assert SOURCE.member("MHEALTHDATASET/notes.txt") is None
    assert SOURCE.reject_reason("MHEALTHDATASET/notes.txt").startswith("not an MHEALTH file")


def test_the_csv_gives_the_log_files_rows_participants_and_times(tmp_path: Path) -> None:
    texts = logs(tmp_path)
    csv_tables, csv_rejections = convert(tmp_path, "k.zip/mhealth_raw_data.csv", kaggle_csv(texts))
    assert csv_rejections == []
    assert sorted(csv_tables) == [("1", "2014-01-01"), ("2", "2014-01-01")]
    for subject, text in texts.items():
        name = f"MHEALTHDATASET/mHealth_subject{subject}.log"
        log_tables, _ = convert(tmp_path, name, text.encode())
        [log] = log_tables.values()
        got = csv_tables[(str(subject), "2014-01-01")]
        assert got.schema.names == log.schema.names  # the same columns, in the same order
        assert got.schema.types == log.schema.types
        same = ["user_id", "row_index", *KEPT, "activity_id"]
        assert got.select(same).to_pylist() == log.select(same).to_pylist()
        assert all(got.column(c).null_count == got.num_rows for c in MISSING)
    first = csv_tables[("1", "2014-01-01")].slice(0, 1).to_pylist()[0]
    assert (first["left_ankle_acc_x"], first["right_lower_arm_gyro_z"]) == (2.1849, 0.034483)
    assert (first["row_index"], first["activity_id"], first["user_id"]) == (0, 0, "1")


def test_a_bad_row_keeps_its_place_and_is_reported(tmp_path: Path) -> None:
    good = kaggle_row(SUBJECT1_FIRST_LINE, 1)
    bad_cell = good.replace("2.1849", "n/a", 1)
    label_13 = good.replace("0,subj", "13,subj")
    text = KAGGLE_HEADER + "\n" + good + bad_cell + good + "1,2\n\n" + label_13
    text += good.replace("subject1", "subject") + good.replace("subject1", "subject2") + good * 3
    tables, rejections = convert(tmp_path, "mhealth_raw_data.csv", text.encode())
    # subject 1's rows 1 (a bad cell) and 3 (label 13) are out; its later rows keep their time
    assert tables[("1", "2014-01-01")].column("row_index").to_pylist() == [0, 2, 4, 5, 6]
    assert tables[("2", "2014-01-01")].column("row_index").to_pylist() == [0]
    assert {r["reason"]: (r["rows"], r["examples"][0][:7]) for r in rejections} == {
        repackaged.NON_NUMERIC: (1, "line 3:"),
        repackaged.WRONG_FIELDS: (1, "line 5:"),
        repackaged.BLANK: (1, "line 6:"),
        repackaged.BAD_LABEL: (1, "line 7:"),
        repackaged.BAD_SUBJECT: (1, "line 8:"),
    }


def test_a_pandas_index_column_and_the_log_tables_own_names_are_read(tmp_path: Path) -> None:
    cells = SUBJECT1_FIRST_LINE.rstrip("\n").split("\t")
    header = ",chest_acc_x,ecg_lead_1,activity_id,subject"
    text = f"{header}\n0,{cells[0]},{cells[3]},0,1\n1,{cells[0]},{cells[3]},4,1\n"
    tables, rejections = convert(tmp_path, "mhealth.csv", text.encode())
    [table] = tables.values()
    assert rejections == []
    assert table.select(["chest_acc_x", "ecg_lead_1", "activity_id"]).to_pylist() == [
        {"chest_acc_x": -9.8184, "ecg_lead_1": 0.0041863, "activity_id": 0},
        {"chest_acc_x": -9.8184, "ecg_lead_1": 0.0041863, "activity_id": 4},
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", repackaged.EMPTY),
        ((KAGGLE_HEADER + "\n").encode(), repackaged.HEADER_ONLY),
        (b"time,heart_rate\n1,2\n", "not an MHEALTH CSV: the header must name a subject column"),
        (b"alx,aly,Activity\n1,2,0\n", "not an MHEALTH CSV"),
    ],
)
def test_a_file_that_is_not_such_a_csv_is_rejected_with_the_reason(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    with pytest.raises(RejectedFile, match="^" + reason.replace("(", r"\(")):
        convert(tmp_path, "mhealth_raw_data.csv", data)


def test_a_mostly_bad_csv_is_rejected_by_the_file_rule(tmp_path: Path) -> None:
    good = kaggle_row(SUBJECT1_FIRST_LINE, 1)
    text = KAGGLE_HEADER + "\n" + good + "x,y\n" * 3
    with pytest.raises(RejectedFile, match=r"^most rows are bad \(3 of 4\)"):
        convert(tmp_path, "mhealth_raw_data.csv", text.encode())
