"""The embedded AWS's Iceberg wiring (phenolake_local/iceberg.py): each part that differs from
AWS, tested so that an upgrade of PyIceberg, PySpark or the Iceberg runtime wheel that breaks
one fails here, loudly, by name."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from moto import mock_aws
from pyiceberg.expressions import EqualTo
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DoubleType, NestedField, StringType, TimestampType

from phenolake.iceberg import TABLE_PROPERTIES, is_iceberg
from phenolake_local import glue_local, iceberg

GLUE_VENV = glue_local.GLUE_VENV


def _glue_site() -> Path:
    found = next((GLUE_VENV / "lib").glob("python3.*/site-packages"), None)
    if found is None:
        pytest.skip("no .venv-glue (make glue-venv)")
    return found


def test_the_runtime_wheel_still_lacks_jackson_and_the_relocated_jar_supplies_it() -> None:
    """snowpark-connect-deps-iceberg's runtime leaves out Iceberg's shaded Jackson; the jar
    made from PySpark's Jackson jars holds every Jackson class the runtime names."""
    jars = iceberg.spark_jars(GLUE_VENV)
    runtime, shaded = jars[0], jars[1]
    assert runtime.name == iceberg.RUNTIME_JAR
    with zipfile.ZipFile(runtime) as jar:
        runtime_names = set(jar.namelist())
        wanted = set()
        for name in runtime_names:
            if name.endswith(".class"):
                data = jar.read(name)
                start = 0
                prefix = b"org/apache/iceberg/shaded/com/fasterxml/jackson/"
                while (at := data.find(prefix, start)) >= 0:
                    end = at
                    while end < len(data) and (chr(data[end]).isalnum() or data[end] in b"/$_"):
                        end += 1
                    wanted.add(data[at:end].decode() + ".class")
                    start = end
    with zipfile.ZipFile(shaded) as jar:
        supplied = set(jar.namelist())
    assert not any(n.startswith("org/apache/iceberg/shaded/com/fasterxml/") for n in runtime_names)
    packages = {w for w in wanted if not w.endswith("/package.class")}
    missing = sorted(packages - supplied)
    assert len(packages) > 50
    assert missing == [], f"Jackson classes the Iceberg runtime needs and nobody ships: {missing}"


def test_a_relocated_class_names_only_the_shaded_package() -> None:
    source = _glue_site() / "pyspark" / "jars" / "jackson-core-2.15.2.jar"
    with zipfile.ZipFile(source) as jar:
        original = jar.read("com/fasterxml/jackson/core/JsonFactory.class")
    moved = iceberg.relocate_class(original)
    assert b"org/apache/iceberg/shaded/com/fasterxml/jackson/core/JsonFactory" in moved
    assert (
        moved.replace(b"org/apache/iceberg/shaded/com/fasterxml", b"").count(b"com/fasterxml") == 0
    )
    with pytest.raises(ValueError, match="not a class file"):
        iceberg.relocate_class(b"PK\x03\x04")


def test_glue_conf_argument_is_parsed_and_localised(tmp_path: Path) -> None:
    conf = iceberg.parse_conf_argument(
        "spark.sql.extensions=x --conf spark.sql.catalog.glue_catalog=org.apache.iceberg."
        "spark.SparkCatalog --conf spark.sql.catalog.glue_catalog.catalog-impl=org.apache."
        "iceberg.aws.glue.GlueCatalog --conf spark.sql.catalog.glue_catalog.io-impl=org."
        "apache.iceberg.aws.s3.S3FileIO"
    )
    assert conf["spark.sql.catalog.glue_catalog.catalog-impl"].endswith("GlueCatalog")
    local = iceberg.local_catalog_conf(conf, "s3://lake/curated/", tmp_path / "c.db")
    prefix = "spark.sql.catalog.glue_catalog"
    assert local[f"{prefix}.catalog-impl"] == "org.apache.iceberg.jdbc.JdbcCatalog"
    assert local[f"{prefix}.io-impl"] == "org.apache.iceberg.hadoop.HadoopFileIO"
    assert local[f"{prefix}.uri"] == f"jdbc:sqlite:{tmp_path / 'c.db'}"
    assert "spark.sql.extensions" not in local  # static: set when the JVM starts
    with pytest.raises(ValueError, match="not key=value"):
        iceberg.parse_conf_argument("spark.sql.extensions")


def test_hadoop_mounts_map_each_bucket_to_its_folder(tmp_path: Path) -> None:
    mounts = iceberg.spark_hadoop_conf(tmp_path, ["lake", "landing"])
    assert mounts == {
        "fs.viewfs.mounttable.lake.linkFallback": f"file://{tmp_path.resolve()}/lake/",
        "fs.viewfs.mounttable.landing.linkFallback": f"file://{tmp_path.resolve()}/landing/",
    }


def _table(home: Path, glue: object) -> object:
    catalog = iceberg.catalog(home, glue)
    schema = Schema(
        NestedField(1, "participant_id", StringType(), required=False),
        NestedField(2, "date", StringType(), required=False),
        NestedField(3, "time", TimestampType(), required=False),
        NestedField(4, "value", DoubleType(), required=False),
    )
    spec = PartitionSpec(
        PartitionField(1, 1000, IdentityTransform(), "participant_id"),
        PartitionField(2, 1001, IdentityTransform(), "date"),
    )
    return catalog.create_table(
        "phenolake.t",
        schema,
        location="s3://lake/curated/t",
        partition_spec=spec,
        properties=TABLE_PROPERTIES,
    )


def _rows(participant: str, date: str, values: list[float]) -> pa.Table:
    day = dt.datetime.fromisoformat(date)
    return pa.table(
        {
            "participant_id": [participant] * len(values),
            "date": [date] * len(values),
            "time": pa.array(
                [day + dt.timedelta(minutes=i) for i in range(len(values))], pa.timestamp("us")
            ),
            "value": values,
        }
    )


def test_pyiceberg_on_moto_glue_writes_s3_paths_into_home(tmp_path: Path) -> None:
    """HomeFileIO: the table records s3:// paths, the bytes are under <home>/<bucket>/; a
    copy-on-write delete leaves no delete files; time travel reads the older snapshot."""
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_database(DatabaseInput={"Name": "phenolake"})
        table = _table(tmp_path, glue)
        table.append(_rows("p1", "2024-10-01", [1.0, 2.0]))
        table.append(_rows("p2", "2024-10-01", [3.0]))
        first = table.current_snapshot().snapshot_id
        table.delete(EqualTo("participant_id", "p1"))
        entry = glue.get_table(DatabaseName="phenolake", Name="t")["Table"]
        assert is_iceberg(entry)
        table = iceberg.catalog(tmp_path, glue).load_table("phenolake.t")
        tasks = list(table.scan().plan_files())
        assert [t.delete_files for t in tasks] == [set()]
        assert all(t.file.file_path.startswith("s3://lake/curated/t/data/") for t in tasks)
        assert table.scan().to_arrow()["participant_id"].to_pylist() == ["p2"]
        assert table.scan(snapshot_id=first).to_arrow().num_rows == 3
        assert (tmp_path / "lake" / "curated" / "t" / "metadata").is_dir()
        static = iceberg.static_table(tmp_path, entry["Parameters"]["metadata_location"])
        assert static.scan().to_arrow().num_rows == 1


def test_commit_to_glue_creates_moves_and_refuses_a_moved_table(tmp_path: Path) -> None:
    """What the local job's catalog committed reaches Glue as Iceberg's GlueCatalog writes
    it; a table that moved under the job fails the run, as GlueCatalog's lock would."""
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_database(DatabaseInput={"Name": "phenolake"})
        table = _table(tmp_path, glue)
        created = table.metadata_location
        table.append(_rows("p1", "2024-10-01", [1.0]))
        appended = iceberg.catalog(tmp_path, glue).load_table("phenolake.t").metadata_location
        glue.delete_table(DatabaseName="phenolake", Name="t")
        written = iceberg.commit_to_glue(glue, tmp_path, {}, {"phenolake.t": created})
        assert written == ["phenolake.t"]
        assert iceberg.glue_iceberg_tables(glue, "phenolake") == {"phenolake.t": created}
        iceberg.commit_to_glue(glue, tmp_path, {"phenolake.t": created}, {"phenolake.t": appended})
        entry = glue.get_table(DatabaseName="phenolake", Name="t")["Table"]
        assert entry["Parameters"]["metadata_location"] == appended
        assert entry["Parameters"]["previous_metadata_location"] == created
        assert {c["Name"] for c in entry["StorageDescriptor"]["Columns"]} >= {"value", "date"}
        assert (
            iceberg.commit_to_glue(
                glue, tmp_path, {"phenolake.t": appended}, {"phenolake.t": appended}
            )
            == []
        )
        with pytest.raises(iceberg.CommitConflict, match="moved"):
            iceberg.commit_to_glue(
                glue, tmp_path, {"phenolake.t": created}, {"phenolake.t": appended}
            )


def test_a_tables_rows_come_from_its_current_snapshot_summary(tmp_path: Path) -> None:
    """Notify's row count: one GET of the current metadata file, equal to the scan's rows
    after appends and a copy-on-write delete."""
    from phenolake import iceberg as tables

    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        glue.create_database(DatabaseInput={"Name": "phenolake"})
        table = _table(tmp_path, glue)
        assert tables.metadata_location(glue, "phenolake", "missing") is None
        location = tables.metadata_location(glue, "phenolake", "t")
        key = location.removeprefix("s3://lake/")
        s3.upload_file(str(tmp_path / "lake" / key), "lake", key)
        assert tables.current_rows(s3, location) == 0
        table.append(_rows("p1", "2024-10-01", [1.0, 2.0, 3.0]))
        table.append(_rows("p2", "2024-10-01", [4.0]))
        table.delete(EqualTo("value", 2.0))
        location = tables.metadata_location(glue, "phenolake", "t")
        key = location.removeprefix("s3://lake/")
        s3.upload_file(str(tmp_path / "lake" / key), "lake", key)
        assert tables.current_rows(s3, location) == 3 == table.scan().to_arrow().num_rows
