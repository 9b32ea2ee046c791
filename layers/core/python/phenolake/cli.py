"""The ``phenolake`` command: run the pipeline locally, query the lake, write samples, validate,
redact a folder of images.

Bad input never shows a traceback: one line on stderr naming what and where, exit code 2.
A pipeline execution that fails exits 1.
"""

from __future__ import annotations

import datetime as dt
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


class UserError(Exception):
    """Reported as one line and exit code 2."""


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
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Run the whole pipeline (the real state machine) in the embedded AWS."""
    from phenolake_local import runner

    chosen = _sources(source or [])
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
    )
    if options.date and (options.start or options.end):
        raise UserError("--date: give either --date or --start/--end, not both")
    if options.start and options.end and options.start > options.end:
        raise UserError(f"--start {options.start} is after --end {options.end}")
    try:
        runner.plan_landing(options.inputs, chosen)
    except runner.InputError as exc:
        raise UserError(str(exc)) from None

    def progress(event: dict[str, Any]) -> None:
        kind = event["type"]
        details = event.get("stateEnteredEventDetails")
        if details and kind.endswith("StateEntered") and not _inner_state(event):
            out.print(f"[dim]{event['timestamp']:%H:%M:%S}[/dim] {details['name']}")

    result = runner.run(options, progress)
    _print_summary(result, home)
    if result.status != "SUCCEEDED":
        raise typer.Exit(1)


def _inner_state(event: dict[str, Any]) -> bool:
    """States inside Map iterations repeat per item; the progress shows each state once."""
    return event.get("previousEventId", 0) > 0 and event["stateEnteredEventDetails"]["name"] in {
        "UnzipOne",
        "RedactBatch",
        "ConvertFile",
        "MergeDay",
        "CurateSource",
        "CreateBatchLoad",
        "WaitForBatchLoad",
        "DescribeBatchLoad",
        "BatchLoadDone",
    }


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
        for name, value in output.get("estimate", {}).items():
            table.add_row(f"estimate {name}", str(value))
        out.print(table)
        return
    notify = output.get("notify", {})
    table.add_row("inputs landed", str(len(result.landed)))
    labels = {"objects": "new objects taken in", "days": "participant-days"}
    for name in ("objects", "data_files", "images", "rows", "days", "rejected_rows", "quarantined"):
        if name in notify:
            table.add_row(labels.get(name, name.replace("_", " ")), str(notify[name]))
    table.add_row("seconds", f"{result.seconds:.1f}")
    out.print(table)
    if result.landed and notify.get("objects") == 0:
        out.print("nothing new: every input was taken in by an earlier run (use --replay to redo)")
    if notify.get("quarantined"):
        out.print(
            f"quarantine: {home / 'quarantine'} (see the .reason.json files under the lake bucket)"
        )
    if result.status != "SUCCEEDED":
        err.print(f"run failed: {result.error}: {result.cause[:400]}")
    else:
        _print_tables(home)


def _print_tables(home: Path) -> None:
    from phenolake import query

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
    athena: Annotated[
        bool, typer.Option("--athena", help="Run against real Athena (awswrangler).")
    ] = False,
    workgroup: Annotated[str, typer.Option(help="Athena workgroup (with --athena).")] = "phenolake",
    database: Annotated[str, typer.Option(help="Glue database.")] = "phenolake",
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Run Athena SQL over the lake: locally with DuckDB, or on Athena with --athena."""
    from phenolake import query as q

    if fmt not in ("table", "csv", "json"):
        raise UserError(f"--format: expected table, csv or json, got {fmt!r}")
    try:
        result = (
            q.query_athena(sql, database, workgroup)
            if athena
            else q.query_local(sql, home, database)
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
            result = redaction.redact(redaction.decode(path.read_bytes(), path.name), detector,
                                      mode)  # type: ignore[arg-type]
            (out_dir / path.name).write_bytes(redaction.encode(result.image, path.name))
        except redaction.UnreadableImage as exc:
            counts["quarantined"] += 1
            table.add_row(path.name, "-", "-", f"quarantined: {exc}", "-")
            continue
        counts[result.action] += 1
        counts["faces"] += len(result.faces)
        counts["flagged"] += result.flagged
        scores = " ".join(f"{f.score:.2f}" for f in result.faces)
        table.add_row(path.name, str(len(result.faces)), scores, result.action,
                      "yes" if result.flagged else "")
    out.print(table)
    out.print(
        f"{len(images)} image(s): {counts['redacted']} redacted ({counts['faces']} face(s), "
        f"{counts['flagged']} flagged for review), {counts['no_faces']} with no face, "
        f"{counts['quarantined']} quarantined (not written); output in {out_dir}"
    )


@app.command()
def validate(
    home: HomeOption = DEFAULT_HOME,
) -> None:
    """Check template.yaml, the state machine definition and the configuration."""
    from phenolake_local import validate as v

    problems = v.validate_all()
    for problem in problems:
        err.print(f"invalid: {problem}")
    if problems:
        raise typer.Exit(2)
    out.print("template, state machine and configuration are valid")


def main() -> None:
    try:
        app(standalone_mode=False)
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


if __name__ == "__main__":
    main()
