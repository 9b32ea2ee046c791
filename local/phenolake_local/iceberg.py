"""Apache Iceberg in the embedded AWS: where the local wiring differs from AWS's, and why.

On AWS the curated tables are Iceberg tables in the Glue Data Catalog: Glue 5.1's Spark writes
them through Iceberg's own ``GlueCatalog`` and ``S3FileIO`` (``--datalake-formats iceberg``,
template.yaml), Athena reads and deletes through the same catalog. Here the same tables live in
moto's Glue catalog and under ``<home>/<bucket>/<key>``, and three things differ, all in this
module:

* **Python's file IO.** PyIceberg's S3 client (pyarrow's) cannot reach in-process moto, so
  :class:`HomeFileIO` reads and writes ``s3://bucket/key`` as the file ``<home>/bucket/key``
  (the folder the embedded AWS keeps its buckets in). The paths recorded in the tables stay
  ``s3://`` paths, as on AWS.
* **Spark's file IO.** Iceberg's ``S3FileIO`` needs the AWS SDK v2, which no registry here
  carries; the local job process uses Iceberg's ``HadoopFileIO`` with Hadoop's
  ``ViewFileSystemOverloadScheme`` mounting each ``s3://bucket/`` on ``<home>/bucket/``
  (:func:`spark_hadoop_conf`), so the job code names the same ``s3://`` locations.
* **Spark's catalog.** Iceberg's ``GlueCatalog`` needs the same SDK. The local job's catalog
  is Iceberg's ``JdbcCatalog`` on a SQLite file of that run alone (Debian's sqlite-jdbc,
  installed with Java by ``make``; Iceberg's ``InMemoryCatalog`` ignores ``io-impl`` and keeps
  files in memory, and the Derby that PySpark ships has no ``LIMIT``), filled before the run
  with every Iceberg table of the Glue catalog (``register_table`` of its current
  ``metadata_location``) and read back after it: each table whose metadata moved is written
  to Glue with the job role's credentials, in the table shape PyIceberg's (and Iceberg's)
  GlueCatalog writes, the previous location the optimistic lock :func:`commit_to_glue`
  checks.

The Iceberg Spark runtime comes from the PyPI wheel ``snowpark-connect-deps-iceberg``
(``iceberg-spark-runtime-3.5_2.12-1.10.2.jar``). That build leaves out the Jackson classes
Iceberg relocates to ``org.apache.iceberg.shaded.com.fasterxml.jackson``; :func:`spark_jars`
makes them from the Jackson jars PySpark itself ships, relocated the way the Iceberg build's
shade plugin does (class-file constant pools rewritten), cached in .venv-glue. The tests in
tests/unit/test_iceberg_wiring.py fail loudly when an upgrade breaks any of this.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.typedef import EMPTY_DICT, Properties

from phenolake.catalog import table_entries
from phenolake.iceberg import SPARK_CATALOG, is_iceberg

HOME_PROPERTY = "phenolake.home"
S3_SCHEMES = ("s3", "s3a", "s3n")
RUNTIME_JAR = "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
#: Debian's libxerial-sqlite-jdbc-java (the Makefile's ``java`` target installs it)
SQLITE_JDBC_JAR = Path("/usr/share/java/sqlite-jdbc.jar")
JACKSON_JARS = (
    "jackson-core-2.15.2.jar",
    "jackson-databind-2.15.2.jar",
    "jackson-annotations-2.15.2.jar",
    "jackson-datatype-jsr310-2.15.2.jar",
)
JACKSON_FROM = (b"com/fasterxml/jackson/", b"com.fasterxml.jackson.")
JACKSON_TO = (
    b"org/apache/iceberg/shaded/com/fasterxml/jackson/",
    b"org.apache.iceberg.shaded.com.fasterxml.jackson.",
)


class HomeFileIO(PyArrowFileIO):
    """PyIceberg's pyarrow FileIO with ``s3://bucket/key`` served from ``<home>/bucket/key``."""

    def __init__(self, properties: Properties = EMPTY_DICT) -> None:
        if HOME_PROPERTY not in properties:
            raise ValueError(f"HomeFileIO needs the {HOME_PROPERTY!r} property")
        self.home = Path(properties[HOME_PROPERTY]).resolve()
        super().__init__(properties)

    def _initialize_fs(self, scheme: str, netloc: str | None = None) -> Any:
        from pyarrow.fs import LocalFileSystem, SubTreeFileSystem

        if scheme in S3_SCHEMES:
            # pyiceberg hands the file system "bucket/key": the subtree is the bucket folders
            self.home.mkdir(parents=True, exist_ok=True)
            return SubTreeFileSystem(str(self.home), LocalFileSystem(use_mmap=False))
        return super()._initialize_fs(scheme, netloc)

    def local_path(self, location: str) -> Path | None:
        """The file an ``s3://`` location is, or None for other schemes."""
        scheme, _, rest = location.partition("://")
        return self.home / rest if scheme in S3_SCHEMES else None

    def new_output(self, location: str) -> Any:
        # a local file system opens no file in a missing folder: S3 has no folders to make
        path = self.local_path(location)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return super().new_output(location)


def io_properties(home: Path) -> dict[str, str]:
    return {"py-io-impl": f"{__name__}.HomeFileIO", HOME_PROPERTY: str(Path(home).resolve())}


def catalog(home: Path, glue: Any, name: str = SPARK_CATALOG) -> Any:
    """PyIceberg's GlueCatalog on this Glue client (moto's, or one with a role's keys)."""
    from pyiceberg.catalog.glue import GlueCatalog

    return GlueCatalog(name, client=glue, **io_properties(home))


def static_table(home: Path, metadata_location: str) -> Any:
    """A table read from its metadata file alone (the query engine's view of a Glue entry)."""
    from pyiceberg.table import StaticTable

    return StaticTable.from_metadata(metadata_location, properties=io_properties(home))


# ---------------------------------------------------------------------------------------------
# Spark


def _relocate(data: bytes) -> bytes:
    for old, new in zip(JACKSON_FROM, JACKSON_TO, strict=True):
        data = data.replace(new, b"\0").replace(old, new).replace(b"\0", new)
    return data


#: constant-pool entry sizes after the tag, by tag (JVMS 4.4); 1 (Utf8) is variable
_CP_SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2}
_CP_SIZES |= {17: 4, 18: 4, 19: 2, 20: 2}


def relocate_class(data: bytes) -> bytes:
    """A class file with every Jackson name in its constant pool moved to Iceberg's shaded
    package (what maven-shade's relocation does; Utf8 entries are the only names)."""
    if data[:4] != b"\xca\xfe\xba\xbe":
        raise ValueError("not a class file")
    count = struct.unpack(">H", data[8:10])[0]
    out = [data[:10]]
    i, index = 10, 1
    while index < count:
        tag = data[i]
        if tag == 1:
            length = struct.unpack(">H", data[i + 1 : i + 3])[0]
            text = _relocate(data[i + 3 : i + 3 + length])
            out.append(b"\x01" + struct.pack(">H", len(text)) + text)
            i += 3 + length
        else:
            size = _CP_SIZES[tag]
            out.append(data[i : i + 1 + size])
            i += 1 + size
        index += 2 if tag in (5, 6) else 1
    out.append(data[i:])
    return b"".join(out)


def relocated_jackson(sources: Iterable[Path], target: Path) -> Path:
    """One jar of the Jackson classes (and service files) under Iceberg's shaded names."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # one partial file per process: two test workers may build the jar at the same time
    partial = target.with_suffix(f".{os.getpid()}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
        for source in sources:
            with zipfile.ZipFile(source) as found:
                for name in found.namelist():
                    moved = _relocate(name.encode()).decode()
                    if name.endswith(".class") and name.startswith("com/fasterxml/jackson/"):
                        jar.writestr(moved, relocate_class(found.read(name)))
                    elif name.startswith("META-INF/services/com.fasterxml.jackson"):
                        jar.writestr(moved, _relocate(found.read(name)))
    partial.replace(target)
    return target


def spark_jars(glue_venv: Path) -> list[Path]:
    """The jars the local job process adds for ``--datalake-formats iceberg``."""
    site = next((glue_venv / "lib").glob("python3.*/site-packages"), None)
    if site is None:
        raise FileNotFoundError(f"{glue_venv} has no site-packages: run `make glue-venv`")
    runtime = site / "snowpark_connect_deps_iceberg" / "jars" / RUNTIME_JAR
    if not runtime.exists():
        raise FileNotFoundError(f"{runtime} is missing: run `make glue-venv`")
    sources = [site / "pyspark" / "jars" / name for name in JACKSON_JARS]
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise FileNotFoundError(f"PySpark's Jackson jars are missing: {', '.join(missing)}")
    digest = hashlib.sha256(b"".join(s.name.encode() for s in sources)).hexdigest()[:12]
    shaded = glue_venv / "share" / "phenolake" / f"iceberg-shaded-jackson-{digest}.jar"
    if not shaded.exists():
        relocated_jackson(sources, shaded)
    if not SQLITE_JDBC_JAR.exists():
        raise FileNotFoundError(
            f"{SQLITE_JDBC_JAR} is missing: run `make java` (Debian's libxerial-sqlite-jdbc-java)"
        )
    return [runtime, shaded, SQLITE_JDBC_JAR]


def spark_static_conf(glue_venv: Path) -> dict[str, str]:
    """Settings fixed when the job process's JVM starts (jars, SQL extensions, the s3 scheme)."""
    return {
        "spark.jars": ",".join(str(p) for p in spark_jars(glue_venv)),
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme",
        "spark.hadoop.fs.viewfs.overload.scheme.target.s3.impl": (
            "org.apache.hadoop.fs.RawLocalFileSystem"
        ),
        # mounts change per run (each home has its own folders): never a cached instance
        "spark.hadoop.fs.s3.impl.disable.cache": "true",
    }


def spark_hadoop_conf(home: Path, buckets: Iterable[str]) -> dict[str, str]:
    """This run's mounts: ``s3://bucket/`` is ``<home>/bucket/``. A ``linkFallback``, not a
    ``linkMergeSlash``: with the latter, Hadoop 3.3's ViewFileSystem lists a folder's children
    as ``s3://bucket/user/<user>/bucket/...`` (the chroot stripped against an empty resolved
    path, then qualified with the working directory), so a recursive listing (upkeep's
    remove_orphan_files) fails on its second level."""
    root = Path(home).resolve()
    return {
        f"fs.viewfs.mounttable.{bucket}.linkFallback": f"file://{root / bucket}/"
        for bucket in buckets
    }


def parse_conf_argument(value: str) -> dict[str, str]:
    """Glue's ``--conf`` job argument (``k=v --conf k=v ...``) as Spark settings."""
    found: dict[str, str] = {}
    for entry in value.split("--conf"):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, setting = entry.partition("=")
        if not sep:
            raise ValueError(f"--conf entry {entry!r} is not key=value")
        found[key.strip()] = setting.strip()
    return found


def local_catalog_conf(
    conf: dict[str, str], warehouse_default: str, catalog_file: Path
) -> dict[str, str]:
    """The job's own ``--conf`` with the AWS-only parts of its Iceberg catalog replaced:
    ``catalog-impl`` GlueCatalog -> JdbcCatalog on this run's SQLite file (filled from Glue
    around the run) and ``io-impl`` S3FileIO -> HadoopFileIO (the s3 mounts above)."""
    prefix = f"spark.sql.catalog.{SPARK_CATALOG}"
    local = dict(conf)
    local.setdefault(prefix, "org.apache.iceberg.spark.SparkCatalog")
    local[f"{prefix}.catalog-impl"] = "org.apache.iceberg.jdbc.JdbcCatalog"
    local[f"{prefix}.uri"] = f"jdbc:sqlite:{catalog_file}"
    local[f"{prefix}.jdbc.schema-version"] = "V1"
    local[f"{prefix}.io-impl"] = "org.apache.iceberg.hadoop.HadoopFileIO"
    local.setdefault(f"{prefix}.warehouse", warehouse_default)
    return {k: v for k, v in local.items() if k != "spark.sql.extensions"}


# ---------------------------------------------------------------------------------------------
# The Glue catalog around a local job run


def glue_iceberg_tables(glue: Any, database: str) -> dict[str, str]:
    """``database.table`` -> current ``metadata_location`` of every Iceberg table."""
    found: dict[str, str] = {}
    try:
        for table in table_entries(glue, database):
            location = table.get("Parameters", {}).get("metadata_location")
            if is_iceberg(table) and location:
                found[f"{database}.{table['Name']}"] = location
    except glue.exceptions.EntityNotFoundException:
        return {}
    return found


class CommitConflict(RuntimeError):
    """Glue's table moved on while the job ran (AWS's GlueCatalog fails the same way)."""


def commit_to_glue(
    glue: Any, home: Path, before: dict[str, str], after: dict[str, str]
) -> list[str]:
    """Write each table whose metadata location moved during the run to Glue, as Iceberg's
    GlueCatalog would have at the job's commits; returns the tables written."""
    from pyiceberg.catalog.glue import _construct_table_input
    from pyiceberg.serializers import FromInputFile

    io = HomeFileIO(io_properties(home))
    written = []
    for identifier, location in sorted(after.items()):
        previous = before.get(identifier)
        if location == previous:
            continue
        database, table = identifier.split(".", 1)
        metadata = FromInputFile.table_metadata(io.new_input(location))
        try:
            current = glue.get_table(DatabaseName=database, Name=table)["Table"]
        except glue.exceptions.EntityNotFoundException:
            current = None
        if current is None:
            if previous is not None:
                raise CommitConflict(f"{identifier} was dropped while the job ran")
            glue.create_table(
                DatabaseName=database,
                TableInput=_construct_table_input(table, location, metadata.properties, metadata),
            )
        else:
            now = current.get("Parameters", {}).get("metadata_location")
            if now != previous:
                raise CommitConflict(
                    f"{identifier}: the catalog moved from {previous} to {now} during the job"
                )
            glue.update_table(
                DatabaseName=database,
                TableInput=_construct_table_input(
                    table,
                    location,
                    metadata.properties,
                    metadata,
                    glue_table=current,
                    prev_metadata_location=previous,
                ),
                VersionId=current.get("VersionId", ""),
            )
        written.append(identifier)
    return written
