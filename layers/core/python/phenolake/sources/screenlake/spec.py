"""What source ``screenlake`` declares: one table per CSV kind, and the consolidated export
the old Screenlake scripts wrote (``phenolake export screenlake``)."""

from __future__ import annotations

from phenolake.sources.base import ExportFile, ExportSpec, SourceSpec, TableSpec
from phenolake.sources.screenlake.convert import KINDS

SPEC = SourceSpec(
    tables=tuple(
        TableSpec(kind.table, ("panelist", "date"), participant="panelist", time="timestamp")
        for kind in KINDS.values()
    ),
    fetch=("s3",),
    #: ``combined/panelists/<panelist>/metadata/<prefix>-consolidated.csv``, as the old
    #: scripts left them (every upload's CSV of a kind under one header, in time order).
    export=ExportSpec(
        participant_column="panelist",
        participant_word="panelist",
        folder="panelists",
        subfolder="metadata",
        order_by=("timestamp", "source_key", "row_index"),
        files=tuple(
            ExportFile(
                f"{kind.prefix}-consolidated.csv",
                kind.table,
                tuple((c.column, c.csv) for c in kind.columns),
            )
            for kind in KINDS.values()
        ),
    ),
)
