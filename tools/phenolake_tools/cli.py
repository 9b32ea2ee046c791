"""The ``phenolake`` command: run the pipeline locally, query the lake, write samples, validate,
redact a folder of images.

Bad input never shows a traceback: one line on stderr naming what and where, exit code 2.
A pipeline execution that fails exits 1.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer._click import exceptions as cx  # typer (pinned) vendors click; these are what it raises

app = typer.Typer(
    name="phenolake",
    help="A serverless data lake for digital-phenotyping data, runnable whole on a laptop.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[
    Path, typer.Option("--home", help="Folder holding the local lake's state.", show_default=True)
]
DEFAULT_HOME = Path(".phenolake")


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Study configuration (YAML); default: ./study.yaml when it exists.",
    ),
]
DEFAULT_CONFIG = Path("study.yaml")

#: Where a command's SQL runs: the local lake, or real Athena (``query``, ``summary``).
AthenaOption = Annotated[
    bool, typer.Option("--athena", help="Run against real Athena (awswrangler).")
]
WorkgroupOption = Annotated[str, typer.Option(help="Athena workgroup (with --athena).")]
DatabaseOption = Annotated[str, typer.Option(help="Glue database.")]


class UserError(Exception):
    """Reported as one line and exit code 2."""


def _study_config(path: Path | None) -> Path | None:
    """The study configuration to use, validated; None when there is none to publish."""
    from phenolake import study

    if path is None:
        if not DEFAULT_CONFIG.is_file():
            return None
        path = DEFAULT_CONFIG
    if not path.is_file():
        raise UserError(f"--config: file not found: {path}")
    try:
        study.parse(path.read_text(encoding="utf-8"), str(path))
    except (study.StudyConfigError, UnicodeDecodeError) as exc:
        raise UserError(str(exc)) from None
    return path


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


def _sources(names: list[str]) -> list[str]:
    from phenolake import sources

    for name in names:
        try:
            sources.get(name)
        except sources.UnknownSource as exc:
            raise UserError(f"--source: {exc}") from None
    return names


@app.command()
def run(
    inputs: Annotated[
        list[Path] | None,
        typer.Option(
            "--input",
            "-i",
            help="File, folder or zip to land (repeatable). Without it, seeded samples are landed.",
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            "-s",
            help="Source of the inputs (repeatable); recognised by shape when omitted.",
        ),
    ] = None,
    date: Annotated[str | None, typer.Option(help="Process one day (YYYY-MM-DD).")] = None,
    start: Annotated[str | None, typer.Option(help="Window start (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Window end (YYYY-MM-DD), inclusive.")] = None,
    participant: Annotated[
        list[str] | None,
        typer.Option("--participant", help="Only these participants (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan only: print the work and a cost estimate.")
    ] = False,
    replay: Annotated[
        bool, typer.Option("--replay", help="Reprocess everything landed in the window.")
    ] = False,
    parameter: Annotated[
        list[str] | None,
        typer.Option("--parameter", help="Template parameter override NAME=VALUE (repeatable)."),
    ] = None,
    config: ConfigOption = None,
    include_sites: Annotated[
        str | None,
        typer.Option(
            "--include-sites",
            help="Sources filed by site: only these sites (comma-separated), landed or fetched.",
        ),
    ] = None,
    exclude_sites: Annotated[
        str | None,
        typer.Option(
            "--exclude-sites", help="Sources filed by site: never these sites (comma-separated)."
        ),
    ] = None,
    home: HomeOption = DEFAULT_HOME,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile", help="Also write the run's timeline chart (PNG) of its steps here."
        ),
    ] = None,
) -> None:
    """Run the whole pipeline (the real state machine) in the embedded AWS."""
    from phenolake_local import runner

    chosen = _sources(source or [])
    try:  # before the study configuration: parsing it loads every source's converter
        runner.plan_landing(list(inputs or []), chosen)
    except runner.InputError as exc:
        raise UserError(str(exc)) from None
    config_file = _study_config(config)
    options = runner.RunOptions(
        home=home,
        inputs=list(inputs or []),
        sources=chosen,
        date=_date(date, "--date"),
        start=_date(start, "--start"),
        end=_date(end, "--end"),
        participants=participant or [],
        dry_run=dry_run,
        replay=replay,
        parameters=_parameters(parameter or []),
        config=config_file,
        source_options=_site_options(include_sites, exclude_sites),
    )
    if options.date and (options.start or options.end):
        raise UserError("--date: give either --date or --start/--end, not both")
    if options.start and options.end and options.start > options.end:
        raise UserError(f"--start {options.start} is after --end {options.end}")

    from phenolake_local import engine, template

    deployed = template.load(options.root or engine.PROJECT_ROOT)
    item_states = _item_states(deployed.state_machine_definition)

    def progress(event: dict[str, Any]) -> None:
        kind = event["type"]
        details = event.get("stateEnteredEventDetails")
        if details and kind.endswith("StateEntered") and not _inner_state(event, item_states):
            out.print(f"[dim]{event['timestamp']:%H:%M:%S}[/dim] {details['name']}")

    if profile is not None and profile.suffix.lower() != ".png":
        raise UserError(f"--profile: expected a .png file, got {profile}")
    result = runner.run(options, progress)
    _print_summary(result, home)
    if profile is not None:
        _write_profile_chart(result, home, profile)
    if result.status != "SUCCEEDED":
        raise typer.Exit(1)


def _site_options(include: str | None, exclude: str | None) -> dict[str, dict[str, Any]]:
    """``--include-sites``/``--exclude-sites`` -> the execution input's options of every source
    whose inputs are filed by site (its spec's ``sites``)."""
    chosen = {}
    for option, text in (("include_sites", include), ("exclude_sites", exclude)):
        if text is None:
            continue
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names:
            raise UserError(f"--{option.replace('_', '-')}: give one or more site names")
        chosen[option] = names
    if not chosen:
        return {}
    from phenolake import sources

    return {name: dict(chosen) for name in sources.names() if sources.get(name).spec.sites}


def _item_states(definition: dict[str, Any]) -> frozenset[str]:
    """The states inside a Map's iterations (its ``ItemProcessor``, or the older
    ``Iterator``), at any depth: they repeat per item. Read from the state machine
    definition, so a state renamed or added there needs no edit here."""
    found: set[str] = set()

    def walk(states: dict[str, Any], in_map: bool) -> None:
        for name, state in states.items():
            if in_map:
                found.add(name)
            for branch in state.get("Branches", []):
                walk(branch["States"], in_map)
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor["States"], True)

    walk(definition["States"], False)
    return frozenset(found)


def _inner_state(event: dict[str, Any], item_states: frozenset[str]) -> bool:
    """States inside Map iterations repeat per item; the progress shows each state once."""
    return (
        event.get("previousEventId", 0) > 0
        and event["stateEnteredEventDetails"]["name"] in item_states
    )


def _parameters(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UserError(f"--parameter: expected NAME=VALUE, got {pair!r}")
        found[name] = value
    return found


def _print_summary(result: Any, home: Path) -> None:
    table = Table(
        title=f"phenolake run {result.execution_name}: {result.status}", title_justify="left"
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    output = result.output
    if "dry_run" in output and output.get("dry_run"):
        landed = output.get("work", {}).get("landed", {})
        table.add_row("objects to take in", str(landed.get("count", 0)))
        estimate = output.get("estimate", {})
        for name, value in estimate.items():
            if name != "timestream":
                table.add_row(f"estimate {name}", str(value))
        timestream = estimate.get("timestream", {})
        for stream in timestream.get("streams", []):
            table.add_row(
                f"timestream {stream['source']}.{stream['stream']}",
                f"~{stream['records']} records of ~{stream['bytes_per_record']} B, "
                f"{stream['write_units']} write units, ${stream['usd']}",
            )
        out.print(table)
        if timestream.get("streams"):
            _print_timestream_preview(timestream)
        return
    notify = output.get("notify", {})
    table.add_row("inputs landed", str(len(result.landed)))
    labels = {
        "objects": "new objects taken in",
        "rows": "rows in tables",
        "days": "participant-days (distinct)",
        "refused_rows": "rows of refused day files",
        "skipped": "skipped, with reasons (run manifest)",
    }
    shown = ("objects", "data_files", "images", "rows", "days", "rejected_rows", "refused_rows")
    for name in (*shown, "quarantined", "skipped"):
        if name in notify:
            table.add_row(labels.get(name, name.replace("_", " ")), str(notify[name]))
    for load in notify.get("timestream_loads", []):
        table.add_row(
            f"timestream load {load['measure'] or load['task_id']} ({load['status']})",
            f"{load['records_ingested']} of {load['records_processed']} records ingested",
        )
    table.add_row("seconds", f"{result.seconds:.1f}")
    out.print(table)
    _print_profile(notify.get("profile", []))
    if result.landed and notify.get("objects") == 0:
        out.print("nothing new: every input was taken in by an earlier run (use --replay to redo)")
    if notify.get("quarantined"):
        where = _local_path(home, notify.get("manifest", "")).parents[2] / "quarantine"
        out.print(f"quarantine: {where / result.execution_name} (a .reason.json beside each file)")
    if result.status == "PARTIAL":
        err.print(
            f"run partial: {notify.get('failed_items', 0)} item(s) failed after retries; "
            f"the rest was kept: {_local_path(home, notify.get('failures_uri', ''))}"
        )
        _print_tables(home)
    elif result.status != "SUCCEEDED":
        err.print(f"run failed: {result.error}: {result.cause[:400]}")
        for denial in result.denials[1:]:
            err.print(f"also denied: {denial}")
    else:
        _print_tables(home)


def _print_profile(rows: list[dict[str, Any]]) -> None:
    """The run's profile, per step (``phenolake.profile``)."""
    from phenolake import profile

    if not rows:
        return
    table = Table(
        title="profile (peak memory MB / configured; * shared with overlapping calls)",
        title_justify="left",
    )
    for number, (title, _) in enumerate(profile.COLUMNS):
        table.add_column(title, justify="left" if number == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*profile.cells(row))
    # wider than a pipe's 80 columns: the table is read whole or not at all
    Console(highlight=False, width=max(out.width, 132)).print(table)


def _write_profile_chart(result: Any, home: Path, path: Path) -> None:
    """The timeline chart, from the run manifest's profile."""
    from phenolake_tools.profile_chart import write_chart

    manifest = result.output.get("notify", {}).get("manifest", "")
    if not manifest:
        err.print("--profile: the run wrote no run manifest, so no profile to chart")
        return
    found = json.loads(_local_path(home, manifest).read_text())
    try:
        write_chart(found.get("profile", {}), path, f"phenolake run {result.execution_name}")
    except ValueError as exc:
        err.print(f"--profile: {exc}")
        return
    out.print(f"profile chart: {path}")


def _local_path(home: Path, uri: str) -> Path:
    """Where an s3:// URI of the embedded AWS lives on disk (bucket folders under home)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return home / bucket / key


def _print_timestream_preview(timestream: dict[str, Any]) -> None:
    """The first records a Timestream load would write (one multi-measure record per row)."""
    state = "would be loaded" if timestream["enabled"] else "not loaded: EnableTimestream=false"
    out.print(f"Timestream records, preview ({state}; estimated ${timestream['usd']}):")
    streams: dict[str, list[dict[str, Any]]] = {}
    for record in timestream["preview"]:
        streams.setdefault(record["measure_name"], []).append(record)
    for records in streams.values():
        preview = Table(title_justify="left")
        columns = list(records[0])
        for column in columns:
            preview.add_column(column)
        for record in records:
            preview.add_row(*["" if record[c] is None else str(record[c]) for c in columns])
        out.print(preview)


def _print_tables(home: Path) -> None:
    from phenolake_tools import query

    try:
        counts = query.table_row_counts(home)
    except query.QueryError as exc:
        err.print(f"could not count table rows: {exc}")
        return
    if not counts:
        return
    tables = Table(
        title='tables (query them with: phenolake query "SELECT ...")', title_justify="left"
    )
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, rows in counts.items():
        tables.add_row(name, str(rows))
    out.print(tables)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="Athena SQL.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    athena: AthenaOption = False,
    workgroup: WorkgroupOption = "phenolake",
    database: DatabaseOption = "phenolake",
    home: HomeOption = DEFAULT_HOME,
    freeze: Annotated[
        str | None,
        typer.Option("--freeze", help="Read every curated table as this data freeze holds it."),
    ] = None,
) -> None:
    """Run Athena SQL over the lake: locally with DuckDB, or on Athena with --athena."""
    from phenolake_tools import query as q

    if fmt not in ("table", "csv", "json"):
        raise UserError(f"--format: expected table, csv or json, got {fmt!r}")
    if freeze is not None and athena:
        raise UserError(
            f"--freeze reads the local lake's freezes; on Athena run the statements "
            f"`phenolake freeze sql {freeze}` prints"
        )
    versions = _freeze_manifest(home, freeze).versions() if freeze is not None else None
    try:
        result = (
            q.query_athena(sql, database, workgroup)
            if athena
            else q.query_local(sql, home, database, versions, f"freeze {freeze}")
        )
    except q.QueryError as exc:
        raise UserError(f"query: {exc}") from None
    sys.stdout.write(q.format_table(result, fmt))  # type: ignore[arg-type]
    if not q.format_table(result, fmt).endswith("\n"):
        sys.stdout.write("\n")


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the samples into.")],
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only these sources.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20141,
) -> None:
    """Write seeded sample inputs for every source."""
    from phenolake import sources

    for name in _sources(source or []) or sources.names():
        written = sources.get(name).write_samples(out_dir / name, seed)
        out.print(f"{name}: {len(written)} file(s) in {out_dir / name}")


@app.command()
def redact(
    in_dir: Annotated[Path, typer.Argument(help="Folder of images to redact.")],
    out_dir: Annotated[Path, typer.Argument(help="Folder for the redacted copies (same names).")],
    mode: Annotated[str, typer.Option(help="box (solid black) or pixelate.")] = "box",
) -> None:
    """Redact faces in a folder of images with the library the Redact step uses.

    Images that cannot be decoded with confidence are reported as quarantined and not
    written. Prints one line per image and a summary."""
    from phenolake import lake, redaction

    if mode not in ("box", "pixelate"):
        raise UserError(f"--mode: expected box or pixelate, got {mode!r}")
    if not in_dir.is_dir():
        raise UserError(f"IN_DIR: not a folder: {in_dir}")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"OUT_DIR: exists and is not a folder: {out_dir}")
    if out_dir.resolve() == in_dir.resolve():
        raise UserError("OUT_DIR must differ from IN_DIR (the originals are kept)")
    images = sorted(p for p in in_dir.iterdir() if p.is_file() and lake.is_image(p.name))
    if not images:
        raise UserError(f"IN_DIR: no images in {in_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    detector = redaction.default_detector()
    table = Table("image", "faces", "scores", "action", "flagged")
    counts = {"redacted": 0, "no_faces": 0, "quarantined": 0, "flagged": 0, "faces": 0}
    for path in images:
        try:
            result = redaction.redact(
                redaction.decode(path.read_bytes(), path.name), detector, mode
            )  # type: ignore[arg-type]
            (out_dir / path.name).write_bytes(redaction.encode(result.image, path.name))
        except redaction.UnreadableImage as exc:
            counts["quarantined"] += 1
            table.add_row(path.name, "-", "-", f"quarantined: {exc}", "-")
            continue
        counts[result.action] += 1
        counts["faces"] += len(result.faces)
        counts["flagged"] += result.flagged
        scores = " ".join(f"{f.score:.2f}" for f in result.faces)
        table.add_row(
            path.name,
            str(len(result.faces)),
            scores,
            result.action,
            "yes" if result.flagged else "",
        )
    out.print(table)
    out.print(
        f"{len(images)} image(s): {counts['redacted']} redacted ({counts['faces']} face(s), "
        f"{counts['flagged']} flagged for review), {counts['no_faces']} with no face, "
        f"{counts['quarantined']} quarantined (not written); output in {out_dir}"
    )


@app.command()
def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the report into.")],
    silent_days: Annotated[
        int,
        typer.Option("--silent-days", help="List participants with no data for more than N days."),
    ] = 3,
    period: Annotated[
        str, typer.Option("--period", help="Participant summaries per month, week or year.")
    ] = "month",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Day silence is counted to (default: latest day with data)."),
    ] = None,
    config: ConfigOption = None,
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Coverage heatmaps (PNG), pivots (CSV), participant stats and summaries, an HTML page."""
    from phenolake_tools import query as q
    from phenolake_tools import reports

    if period not in ("month", "week", "year"):
        raise UserError(f"--period: expected month, week or year, got {period!r}")
    study = _summaries_settings(config)
    if silent_days < 0:
        raise UserError(f"--silent-days: expected a number of days >= 0, got {silent_days}")
    reference = _date(as_of, "--as-of")
    try:
        names = q.table_row_counts(home)
        missing = [t for t in ("completeness", "participant_stats") if t not in names]
        if missing:
            raise UserError(
                f"no {' or '.join(missing)} table in {home}: run the pipeline first (phenolake run)"
            )
        result = reports.write_report(
            lambda sql: q.query_local(sql, home),
            out_dir,
            silent_days=silent_days,
            period=period,  # type: ignore[arg-type]
            as_of=reference,
            table_names=sorted(names),
            study=study,
        )
    except (q.QueryError, ValueError) as exc:
        raise UserError(f"report: {exc}") from None
    written = result["written"]
    counts = {
        "heatmaps (PNG)": sum(p.suffix == ".png" for p in written),
        "pivots (CSV)": sum(p.name.startswith("coverage_") for p in written),
        "participant stats (csv.gz)": sum(p.name.endswith(".csv.gz") for p in written),
        f"participant summaries ({period})": sum(
            p.suffix == ".json" and "study_summaries" not in p.parts for p in written
        ),
    }
    for what, count in counts.items():
        out.print(f"{what}: {count}")
    _print_study_counts(result["study"], out_dir / "study_summaries" / period)
    silent = result["silent"]
    out.print(f"silent for more than {silent_days} day(s) as of {result['as_of']}: {len(silent)}")
    for s in silent:
        out.print(f"  {s.source} {s.site} {s.participant_id}: last data {s.last_date} ({s.days} d)")
    out.print(f"report: {out_dir / 'index.html'}")


def _summaries_settings(config: Path | None) -> Any:
    """study.yaml's ``summaries`` (validated), or the defaults when there is no study.yaml."""
    from phenolake import study

    path = _study_config(config)
    if path is None:
        return study.Summaries()
    return study.parse(path.read_text(encoding="utf-8"), str(path)).summaries


def _print_study_counts(found: Any, folder: Path | None) -> None:
    where = f" in {folder}" if folder else ""
    out.print(
        f"study summaries: {len(found.values)} feature/slider row(s), "
        f"{len(found.responses)} response row(s), {len(found.histograms)} histogram row(s){where}"
    )
    for reason in found.skipped:
        out.print(f"  skipped: {reason}")


@app.command()
def summary(
    period: Annotated[
        str, typer.Option("--period", help="Per participant per month, week or year.")
    ] = "month",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write the CSVs into this folder.")
    ] = None,
    figures: Annotated[
        str,
        typer.Option(
            "--figures", help="Show only values, days, responses or histograms (default: all)."
        ),
    ] = "all",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    config: ConfigOption = None,
    athena: AthenaOption = False,
    workgroup: WorkgroupOption = "phenolake",
    database: DatabaseOption = "phenolake",
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """The study's summaries as the CONNECT scripts make them (study.yaml's ``summaries``):
    feature and slider statistics (sd_population divides by n, as the scripts' std_dev;
    sd_sample by n - 1), responses per period and answer histograms, by SQL over the lake."""
    import pyarrow as pa

    from phenolake_tools import query as q
    from phenolake_tools import summaries

    if period not in ("month", "week", "year"):
        raise UserError(f"--period: expected month, week or year, got {period!r}")
    if fmt not in ("table", "csv", "json"):
        raise UserError(f"--format: expected table, csv or json, got {fmt!r}")
    shown = ("values", "days", "responses", "histograms")
    if figures not in (*shown, "all"):
        raise UserError(f"--figures: expected all, {', '.join(shown)}; got {figures!r}")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out: not a folder: {out_dir}")
    settings = _summaries_settings(config)

    def run_sql(sql: str) -> pa.Table:
        if athena:
            return q.query_athena(sql, database, workgroup)
        return q.query_local(sql, home, database)

    try:
        names = summaries.table_names(run_sql, database)
        if not names:
            where = f"Athena database {database}" if athena else f"{home}"
            raise UserError(f"summary: no tables in {where}: run the pipeline first")
        found = summaries.compute(run_sql, settings, period, names, database)  # type: ignore[arg-type]
    except q.QueryError as exc:
        raise UserError(f"summary: {exc}") from None
    if out_dir is not None:
        summaries.write(found, out_dir)
    for name in shown if figures == "all" else (figures,):
        header = summaries.FILES[f"{name}.csv"]
        rows = [{c: r.get(c) for c in header} for r in getattr(found, name)]
        if figures == "all":
            out.print(f"{name}:")
        if rows:
            table = pa.Table.from_pylist(rows)
        else:
            table = pa.table({c: pa.array([], pa.string()) for c in header})
        text = q.format_table(table, fmt)  # type: ignore[arg-type]
        out.file.flush()
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    if figures == "all":
        _print_study_counts(found, out_dir)
    else:
        for reason in found.skipped:
            err.print(f"skipped: {reason}")


@app.command()
def export(
    source: Annotated[str, typer.Argument(help="The source whose export to write.")],
    panelist: Annotated[
        str,
        typer.Option("--participant", "--panelist", help="The participant (panelist) to export."),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    database: Annotated[str, typer.Option(help="Glue database.")] = "phenolake",
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Write a participant's files as the tools the source replaces did (its spec's export)."""
    from phenolake import sources
    from phenolake_tools import export as exports

    exportable = [n for n in sources.names() if sources.get(n).spec.export]
    if source not in exportable:
        known = ", ".join(exportable)
        raise UserError(f"export: no export for source {source!r} (known: {known})")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out: not a folder: {out_dir}")
    try:
        written = exports.consolidate(source, panelist, out_dir, home, database)
    except exports.ExportError as exc:
        raise UserError(str(exc)) from None
    for path, rows in written:
        out.print(f"{path}: {rows} row(s)")


@app.command()
def validate(
    config: ConfigOption = None,
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Check template.yaml, the state machine definitions and the study configuration."""
    from phenolake_local import validate as v

    checked = _study_config(config)
    if checked:
        out.print(f"{checked}: valid study configuration")
    problems = v.validate_all()
    for problem in problems:
        err.print(f"invalid: {problem}")
    missing = v.node_validators_missing()
    if missing:
        err.print(f"AWS's ASL validators skipped: {missing}")
    if problems:
        raise typer.Exit(2)
    checked_by = "moto's parser" + (
        "" if missing else ", asl-validator and the ASL language service"
    )
    out.print(f"template, state machine and configuration are valid (checked by {checked_by})")


@app.command()
def forget(
    participant: Annotated[str, typer.Argument(help="The participant id, as in the tables.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Delete a participant from the local lake (consent withdrawal), as DeleteParticipant does:
    every zone, and on each curated Iceberg table Athena's DELETE, OPTIMIZE and VACUUM (the
    older snapshots expire, with the files only they held)."""
    from phenolake_local import runner

    _local_lake(home)
    if not participant.strip():
        raise UserError("participant: empty")
    from phenolake import forget as forgetting

    try:
        forgetting.check_participant(participant)
    except forgetting.UnsafeParticipant as exc:
        raise UserError(str(exc)) from None
    if not yes:
        if not sys.stdin.isatty():
            raise UserError("forget: deleting needs --yes when not run interactively")
        typer.confirm(f"Delete every record of participant {participant!r}?", abort=True)
    result = runner.forget(home, participant)
    if result.status != "SUCCEEDED":
        err.print(f"forget failed: {result.error}: {_athena_reason(result.cause)[:400]}")
        raise typer.Exit(1)
    audit = result.output
    table = Table(title=f"participant {participant} deleted", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, counts in (
        ("objects in", audit["deleted_objects"]),
        ("partitions of", audit["partitions_dropped"]),
        ("rows of", audit["rows_removed"]),
    ):
        for name, n in counts.items():
            if n:  # the tables and zones that never held the participant are left out
                table.add_row(f"{label} {name}", str(n))
    table.add_row("ledger entries", str(audit["ledger_entries_removed"]))
    out.print(table)
    for name, done in audit.get("iceberg_tables", {}).items():
        out.print(
            f"Iceberg table {name}: {done['rows_deleted']} row(s) deleted, "
            f"{done['snapshots_expired']} older snapshot(s) expired "
            f"({done['snapshots_kept']} kept), {done['files_removed']} file(s) removed"
        )
    for note in audit["not_deleted"]:
        out.print(f"not deleted: {note}")
    _print_freezes_rewritten(home, audit["audit"])
    out.print(f"audit record: {_local_path(home, audit['audit'])}")


#: A laptop trial of upkeep wants an immediate effect: every snapshot but the current and the
#: tagged ones expires (AWS: SnapshotRetentionDays, 7), and orphans go at Iceberg's floor of
#: 24 hours (AWS: OrphanFileAgeHours, 72; nothing else writes the local lake meanwhile).
LOCAL_RETENTION_DAYS = 0.0
LOCAL_ORPHAN_AGE_HOURS = 24.0


@app.command()
def maintain(
    retention_days: Annotated[
        float,
        typer.Option(help="Expire snapshots older than this (the current and tagged ones stay)."),
    ] = LOCAL_RETENTION_DAYS,
    orphan_age_hours: Annotated[
        float, typer.Option(help="Remove unreferenced files older than this (24 or more).")
    ] = LOCAL_ORPHAN_AGE_HOURS,
    target_mb: Annotated[
        int | None,
        typer.Option(help="Compact small data files toward this size; default: the tables'."),
    ] = None,
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Table upkeep of the local lake's curated Iceberg tables, as the weekly Maintain state
    machine does: compaction, manifests rewritten, old snapshots expired (never a tagged one),
    orphan files removed; every query answers the same. Prints files and bytes per table."""
    from phenolake import upkeep

    _local_lake(home)
    target = target_mb if target_mb is not None else upkeep.default_target_mb()
    try:
        upkeep.settings(retention_days, orphan_age_hours, target)
    except upkeep.UpkeepError as exc:  # "<parameter>: ...", named as this command's option
        name, _, reason = str(exc).partition(": ")
        raise UserError(f"--{name.replace('_', '-')}: {reason}") from None
    from phenolake_local import runner

    result = runner.maintain(
        home,
        {
            "retention_days": str(retention_days),
            "orphan_age_hours": str(orphan_age_hours),
            "target_mb": str(target),
        },
    )
    if result.status != "SUCCEEDED":
        err.print(f"maintain failed: {result.error}: {result.cause[:400]}")
        raise typer.Exit(1)
    path = _local_lake(home) / result.output["report"]
    report = upkeep.parse_report(json.loads(path.read_text()))
    out.print(_upkeep_table(report))
    out.print(f"upkeep report: {path}")


def _upkeep_table(report: Any) -> Table:
    """A row per table and measure (four narrow columns: it fits a terminal of 80)."""
    table = Table(
        title=(
            f"table upkeep (snapshots older than {report.retention_days:g} day(s) expired, "
            f"orphans older than {report.orphan_age_hours:g} h removed)"
        ),
        title_justify="left",
    )
    table.add_column("table", no_wrap=True)
    table.add_column("measure", no_wrap=True)
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for done in report.tables:
        for i, (label, field) in enumerate(
            (
                ("data files", "data_files"),
                ("data bytes", "data_bytes"),
                ("snapshots", "snapshots"),
                ("storage files", "storage_files"),
                ("storage bytes", "storage_bytes"),
            )
        ):
            before, after = getattr(done.before, field), getattr(done.after, field)
            table.add_row(done.table if i == 0 else "", label, f"{before:,}", f"{after:,}")
        table.add_section()
    return table


@app.command()
def migrate(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Only this curated table (repeatable); default: all."),
    ] = None,
    athena: AthenaOption = False,
    workgroup: WorkgroupOption = "phenolake",
    database: DatabaseOption = "phenolake",
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Turn the lake's curated Hive tables into Iceberg tables, once (from their own curated
    files, never raw): one line per table; a table already Iceberg is skipped."""
    from phenolake_tools import migrate as m

    if not athena:
        _local_lake(home)

    def show(outcome: m.Outcome) -> None:
        (out if outcome.ok else err).print(outcome.line())

    try:
        if athena:
            done = m.migrate_athena(database, workgroup, table or [], show)
        else:
            done = m.migrate_local(home, database, table or [], show)
    except m.BadInput as exc:
        raise UserError(str(exc)) from None
    if not done:
        out.print("no curated tables to migrate")
    if not all(o.ok for o in done):
        raise typer.Exit(1)


def _athena_reason(cause: str) -> str:
    """A failed Athena statement's query and reason (the task's cause is its QueryExecution)."""
    try:
        execution = json.loads(cause)["QueryExecution"]
        return f"{execution['Status']['StateChangeReason']} (in: {execution['Query']})"
    except (ValueError, KeyError, TypeError):
        return cause


def _local_lake(home: Path) -> Path:
    lakes = sorted(p for p in home.glob("*-lake") if p.is_dir())
    if not lakes:
        raise UserError(f"--home: no local lake under {home} (run `phenolake run` first)")
    return lakes[0]


@app.command()
def verify(
    bucket: Annotated[
        str | None, typer.Option(help="Check the deployed lake bucket in S3 instead.")
    ] = None,
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Check the chain of run manifests: any changed, missing or unlinked manifest is named."""
    from phenolake import provenance, storage

    store: provenance.ManifestStore = (
        provenance.S3Store(storage.client("s3"), bucket)
        if bucket
        else provenance.FolderStore(_local_lake(home))
    )
    report = provenance.verify(store)
    for problem in report.problems:
        err.print(f"verify: {problem}")
    if not report.ok:
        raise typer.Exit(1)
    newest = f", newest {report.runs[0]}" if report.runs else ""
    out.print(f"manifest chain intact: {len(report.runs)} run(s){newest}")


# ------------------------------------------------------------------ data freezes

freeze_app = typer.Typer(
    help="Data freezes: every curated table's snapshot at one moment, kept for good (tagged).",
    no_args_is_help=True,
)
app.add_typer(freeze_app, name="freeze")


def _freeze_store(home: Path) -> Any:
    from phenolake import provenance

    return provenance.FolderStore(_local_lake(home))


def _freeze_manifest(home: Path, name: str) -> Any:
    """A freeze's manifest from the local lake; one line when the name is bad or unknown."""
    from phenolake import freezes

    try:
        key = freezes.manifest_key(name)
    except freezes.FreezeError as exc:
        raise UserError(str(exc)) from None
    body = _freeze_store(home).read(key)
    if body is None:
        raise UserError(f"freeze {name!r}: no such freeze (see `phenolake freeze list`)")
    return freezes.Freeze.from_json(body)


def _check_as_of(home: Path, as_of: str) -> str:
    """--as-of as an ISO instant, refused when it is in the future or before any curated
    Iceberg table had a snapshot (the freeze would hold nothing)."""
    from phenolake import freezes
    from phenolake.iceberg import is_iceberg
    from phenolake_local import iceberg
    from phenolake_tools import query as q

    try:
        at = freezes.parse_as_of(as_of)
    except freezes.FreezeError as exc:
        raise UserError(str(exc)) from None
    if at > dt.datetime.now(dt.UTC):
        raise UserError(f"--as-of {as_of}: is in the future")
    first = None
    for tables in q.load_catalog(home).get("tables", {}).values():
        for entry in tables.values():
            location = entry.get("Parameters", {}).get("metadata_location")
            if not location or not is_iceberg(entry):
                continue
            log = iceberg.static_table(home, location).metadata.snapshot_log
            found = min((e.timestamp_ms for e in log), default=None)
            if found is not None and (first is None or found < first):
                first = found
    if first is None or freezes.epoch_ms(at) < first:
        since = ""
        if first is not None:
            since = (
                f"; the first snapshot is {dt.datetime.fromtimestamp(first / 1000, dt.UTC):%FT%TZ}"
            )
        raise UserError(f"--as-of {as_of}: no curated table existed then{since}")
    return at.isoformat(timespec="milliseconds")


def _print_freeze(freeze: Any) -> None:
    from phenolake import freezes

    title = f"freeze {freeze.name}: created {freeze.created_at}" + (
        f", as of {freeze.as_of}" if freeze.as_of else ""
    )
    rows = [
        (name, str(t.snapshot_id), str(t.rows), str(t.data_files))
        for name, t in sorted(freeze.tables.items())
    ]
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(("table", "snapshot id", "rows", "data files")):
        # ids in full: a researcher copies them into FOR VERSION AS OF
        width = max([len(column), *(len(r[i]) for r in rows)])
        table.add_column(column, justify="right" if i > 1 else "left", min_width=width)
    for row in rows:
        table.add_row(*row)
    out.print(table)
    tags = sorted({t.tag for t in freeze.tables.values()})
    out.print(f"tag {', '.join(tags)} on every frozen table")
    out.print(f"code version {freeze.code_version}, {freezes.study_text(freeze.study_sha256)}")
    for name, why in sorted(freeze.left_out.items()):
        out.print(f"left out: {name} ({why})")
    if not freeze.changes:
        out.print("changes: none")
    for change in freeze.changes:
        out.print(f"changed {change.at}: {change.reason}, audit record {change.audit_id}")
        for name, done in sorted(change.tables.items()):
            out.print(
                f"  {name}: {done.rows_before} -> {done.rows_after} rows "
                f"(snapshot {done.snapshot_before} -> {done.snapshot_after})"
            )


def _print_freezes_rewritten(home: Path, audit: str) -> None:
    """Each data freeze a deletion rewrote (its manifest's change names the audit record)."""
    from phenolake import freezes

    store = _freeze_store(home)
    for key in store.keys(freezes.PREFIX):
        if not freezes.name_of_key(key):
            continue
        freeze = freezes.Freeze.from_json(store.read(key) or b"{}")
        for change in freeze.changes:
            if change.audit_id == audit:
                rows = sum(t.rows_before - t.rows_after for t in change.tables.values())
                out.print(
                    f"freeze {freeze.name}: {rows} row(s) removed from its snapshots of "
                    f"{len(change.tables)} table(s) (the tag moved; `phenolake freeze show "
                    f"{freeze.name}`)"
                )


def _run_freeze(home: Path, action: str, name: str, as_of: str | None = None) -> None:
    from phenolake_local import runner

    result = runner.freeze(home, action, name, as_of)
    if result.status != "SUCCEEDED":
        err.print(f"freeze {action} failed: {result.error}: {result.cause[:400]}")
        raise typer.Exit(1)


@freeze_app.command("create")
def freeze_create(
    name: Annotated[str, typer.Argument(help="The freeze's name (lower case, digits, _).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="ISO 8601 instant (UTC when no zone); default: now."),
    ] = None,
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Freeze every curated table: tag its snapshot current now (or at --as-of)."""
    from phenolake import freezes

    _local_lake(home)
    try:
        key = freezes.manifest_key(name)
    except freezes.FreezeError as exc:
        raise UserError(str(exc)) from None
    if _freeze_store(home).read(key) is not None:
        raise UserError(f"freeze {name!r} already exists (drop it first, or choose another name)")
    chosen = _check_as_of(home, as_of) if as_of is not None else None
    _run_freeze(home, "create", name, chosen)
    _print_freeze(_freeze_manifest(home, name))


@freeze_app.command("list")
def freeze_list(home: HomeOption = DEFAULT_HOME) -> None:
    """The lake's freezes: when each was made, its tables and rows, and its changes."""
    from phenolake import freezes

    store = _freeze_store(home)
    found = [
        freezes.Freeze.from_json(store.read(key) or b"{}")
        for key in store.keys(freezes.PREFIX)
        if freezes.name_of_key(key)
    ]
    if not found:
        out.print("no freezes")
        return
    table = Table(title="freezes", title_justify="left")
    for column in ("name", "created", "as of", "tables", "rows", "changes"):
        table.add_column(
            column, justify="right" if column in ("tables", "rows", "changes") else "left"
        )
    for freeze in sorted(found, key=lambda f: f.name):
        table.add_row(
            freeze.name,
            freeze.created_at,
            freeze.as_of or "-",
            str(len(freeze.tables)),
            str(sum(t.rows for t in freeze.tables.values())),
            str(len(freeze.changes)),
        )
    out.print(table)


@freeze_app.command("show")
def freeze_show(name: str, home: HomeOption = DEFAULT_HOME) -> None:
    """A freeze's tables, snapshot ids and rows, and what withdrawals changed (audit ids)."""
    _print_freeze(_freeze_manifest(home, name))


@freeze_app.command("sql")
def freeze_sql(
    name: str, database: DatabaseOption = "phenolake", home: HomeOption = DEFAULT_HOME
) -> None:
    """The Athena SQL that reads the freeze: a SELECT ... FOR VERSION AS OF per table."""
    from phenolake import freezes

    sys.stdout.write(freezes.athena_sql(_freeze_manifest(home, name), database))


@freeze_app.command("drop")
def freeze_drop(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Remove a freeze's tags and manifest (its snapshots may then expire)."""
    _freeze_manifest(home, name)
    if not yes:
        if not sys.stdin.isatty():
            raise UserError("freeze drop: needs --yes when not run interactively")
        typer.confirm(f"Drop freeze {name!r}?", abort=True)
    _run_freeze(home, "drop", name)
    out.print(f"freeze {name} dropped")


def main() -> None:
    try:
        # without standalone mode, click returns typer.Exit's code instead of exiting with it
        code = app(standalone_mode=False)
    except UserError as exc:
        err.print(f"phenolake: error: {exc}")
        sys.exit(2)
    except cx.NoArgsIsHelpError as exc:
        out.print(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except cx.UsageError as exc:
        err.print(f"phenolake: error: {exc.format_message()}".replace("\n", " "))
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("phenolake: aborted")
        sys.exit(130)
    except FileNotFoundError as exc:
        err.print(f"phenolake: error: {exc}")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
