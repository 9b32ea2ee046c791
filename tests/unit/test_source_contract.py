"""What every registered source declares, checked over the registry: a source is one package
(converter, spec, options model, curate module, samples) whose tables each name their
participant column, and the shared curate job fits every source's declared sizing."""

from __future__ import annotations

import importlib.util

import pytest
from pydantic import BaseModel

from phenolake import image_audit, sources, tables
from phenolake.sources.base import CurateSizing, SourceSpec, TableSpec
from phenolake.steps import completeness
from phenolake_local import template
from phenolake_local.engine import PROJECT_ROOT

NAMES = sources.names()


@pytest.mark.parametrize("name", NAMES)
def test_a_source_is_one_package(name: str) -> None:
    package = f"phenolake.sources.{name}"
    for module in ("convert", "spec", "options", "curate", "samples"):
        assert importlib.util.find_spec(f"{package}.{module}"), f"{package}.{module}"
    source = sources.get(name)
    assert type(source).__module__ == f"{package}.convert"
    assert isinstance(source.spec, SourceSpec)
    assert issubclass(source.options_model, BaseModel)
    assert source.options_model.model_config.get("extra") == "forbid"


@pytest.mark.parametrize("name", NAMES)
def test_every_table_declares_its_participant_column_and_keys(name: str) -> None:
    spec = sources.get(name).spec
    assert spec.tables, name
    for table in spec.tables:
        assert isinstance(table, TableSpec)
        assert table.participant, table.name
        assert table.time is None or table.time != table.participant
        # the participant is a partition key or not one at all (Forget drops or rewrites)
        assert len(set(table.partition_keys)) == len(table.partition_keys), table.name
    for listed in sources.get(name).tables:
        assert spec.table(listed) is not None, listed  # every table it names is declared


@pytest.mark.parametrize("name", NAMES)
def test_options_are_validated_by_the_source_and_name_a_wrong_field(name: str) -> None:
    source = sources.get(name)
    assert source.parse_options({}) == {}
    with pytest.raises(ValueError, match=rf"^{name}\.options\.no_such_option: Extra inputs"):
        source.parse_options({"no_such_option": 1})


def test_radar_sites_may_be_a_comma_separated_text() -> None:
    assert sources.get("radar").parse_options({"include_sites": "kcl, mssm"}) == {
        "include_sites": ["kcl", "mssm"]
    }


def test_the_steps_tables_are_declared_by_the_names_their_writers_use() -> None:
    declared = {t.name for t in tables.STEP_TABLES}
    written = {completeness.TABLE, completeness.DAYS_TABLE, completeness.STATS_TABLE}
    assert declared == written | {image_audit.TABLE}


def test_a_table_family_matches_its_metrics_only() -> None:
    family = TableSpec("radar_{metric}", ("site",), participant="participant_id")
    assert family.metric_of("radar_sensorkit_acceleration") == "sensorkit_acceleration"
    assert family.metric_of("radar_") is None
    assert family.metric_of("mhealth") is None
    assert tables.participant_column("radar_questionnaire_response") == "participant_id"
    assert tables.participant_column("screenlake_logs") == "panelist"
    assert tables.participant_column("mhealth") == "user_id"
    assert tables.participant_column("image_redactions") == "participant"


def test_an_undeclared_table_is_an_error_that_names_it() -> None:
    with pytest.raises(tables.UndeclaredTable, match="table 'fitbit_steps' is declared by no"):
        tables.participant_column("fitbit_steps")


def test_one_curate_job_fits_every_sources_declared_sizing() -> None:
    deployment = template.load(PROJECT_ROOT)
    job = deployment.glue_jobs["CurateJob"]
    assert job.script == PROJECT_ROOT / "glue_jobs" / "curate.py"
    props = deployment.resources[job.logical_id]["Properties"]
    sizes = {name: sources.get(name).spec.curate for name in NAMES}
    assert all(isinstance(s, CurateSizing) for s in sizes.values())
    assert {(s.worker_type, s.workers) for s in sizes.values()} == {
        (props["WorkerType"], int(props["NumberOfWorkers"]))
    }
    assert int(props["Timeout"]) == max(s.timeout_minutes for s in sizes.values())
    curate = deployment.state_machine_definition["States"]["Curate"]
    task = curate["ItemProcessor"]["States"]["CurateSource"]["Parameters"]
    assert task["JobName"] == job.name
    assert task["Arguments"]["--source.$"] == "$.source"


@pytest.mark.parametrize("name", NAMES)
def test_companions_reach_only_a_converter_that_found_some(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Source.companions``: the Convert step passes what it found of them as the keyword
    ``companions``; a source given none (every source but radar names none) is called with
    the plain signature."""
    import io

    from phenolake.sources import toolkit
    from phenolake.sources.base import Member, Provenance
    from phenolake.sources.toolkit import RejectionReport

    source = sources.get(name)
    calls: list[dict[str, object]] = []

    def convert(stream, member, provenance, report, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        yield from ()

    monkeypatch.setattr(source, "convert", convert)
    member = Member(source=name, participant="p", metric="m")
    provenance = Provenance(source_key="k", source_sha256="0", run_id="r")
    for companions in (None, {}, {"a/schema-m.json": b"{}"}):
        report = RejectionReport()
        list(toolkit.convert(source, io.BytesIO(), member, provenance, report, companions))
    assert calls == [{}, {}, {"companions": {"a/schema-m.json": b"{}"}}]
    assert source.companions("a/b/c/d.csv") == () or name == "radar"
