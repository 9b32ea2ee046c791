"""``phenolake run`` prints what its labels say: the rows in the tables (refused rows apart)
and the DISTINCT participant x day pairs of them, on inputs whose pairs and refusals are known."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phenolake_tools import query
from tests.cli import in_process
from tests.fakes.mhealth_csv import SUBJECT1_FIRST_LINE, kaggle_csv, kaggle_row

pytestmark = pytest.mark.slow


def shown(out: str, label: str) -> int:
    found = re.search(rf"{re.escape(label)}\s*[│|]\s*(\d+)", out)
    assert found, f"{label!r} not in\n{out}"
    return int(found.group(1))


def write_inputs(inputs: Path) -> Path:
    """Subject 1's log (100 readings, one line of the wrong field count) and the Kaggle CSV of
    subject 1 again (the same participant-day: 60 rows) and subject 2 (40 rows, one bad)."""
    (inputs / "MHEALTHDATASET").mkdir(parents=True)
    log = SUBJECT1_FIRST_LINE * 100 + "1\t2\n"
    (inputs / "MHEALTHDATASET" / "mHealth_subject1.log").write_text(log)
    csv = kaggle_csv({1: SUBJECT1_FIRST_LINE * 60, 2: SUBJECT1_FIRST_LINE * 40})
    bad = kaggle_row(SUBJECT1_FIRST_LINE, 2).replace("2.1849", "x", 1).encode()
    (inputs / "mhealth_raw_data.csv").write_bytes(csv + bad)
    return inputs


@pytest.fixture
def summary_run(tmp_path: Path, spark: object, capsys: pytest.CaptureFixture[str]):
    inputs = write_inputs(tmp_path / "in")
    home = tmp_path / "home"
    args = ["run", "--source", "mhealth", "--home", str(home), "--input", str(inputs)]
    code, out, err = in_process(capsys, *args)
    return home, code, out, err


def test_the_summary_counts_distinct_participant_days_and_the_rows_in_the_tables(
    summary_run,
) -> None:
    home, code, out, err = summary_run
    assert code == 0, err
    # three staged participant-days (the log's, and the CSV's two) are two distinct pairs
    assert shown(out, "participant-days (distinct)") == 2
    assert shown(out, "rows in tables") == 200
    assert shown(out, "rejected rows") == 2
    assert shown(out, "rows of refused day files") == 0
    rows = query.query_local("SELECT count(*) AS n FROM mhealth_readings", home).to_pylist()
    days = query.query_local(
        "SELECT count(*) AS n FROM (SELECT DISTINCT user_id, CAST(timestamp AS date) AS day "
        "FROM mhealth_readings) AS pairs",
        home,
    ).to_pylist()
    assert (rows, days) == ([{"n": 200}], [{"n": 2}])


def test_a_run_for_one_participant_counts_only_their_rows_and_lists_the_rest(
    tmp_path: Path, spark: object, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "in")
    home = tmp_path / "home"
    args = ["run", "--source", "mhealth", "--participant", "2", "--home", str(home)]
    code, out, err = in_process(capsys, *args, "--input", str(inputs))
    assert code == 0, err
    assert (shown(out, "rows in tables"), shown(out, "participant-days (distinct)")) == (40, 1)
    # subject 1's day from the log and from the CSV: staged, not merged, each listed
    assert shown(out, "skipped, with reasons (run manifest)") == 2


def test_the_csv_rows_are_in_the_tables_as_the_log_gives_them(summary_run) -> None:
    home, code, _, err = summary_run
    assert code == 0, err
    rows = query.query_local(
        "SELECT user_id, row_index, CAST(timestamp AS varchar) AS at, left_ankle_acc_x, "
        "right_lower_arm_gyro_z, chest_acc_x, activity FROM mhealth_readings "
        "WHERE user_id = '2' ORDER BY row_index LIMIT 2",
        home,
    ).to_pylist()
    assert [(r["row_index"], r["at"][:23]) for r in rows] == [
        (0, "2014-01-01 00:00:00.000"),
        (1, "2014-01-01 00:00:00.020"),
    ]
    assert {
        (r["left_ankle_acc_x"], r["right_lower_arm_gyro_z"], r["chest_acc_x"]) for r in rows
    } == {(2.1849, 0.034483, None)}
    assert {r["activity"] for r in rows} == {"Null class"}
