"""What source ``embrace`` declares: its six curated tables and the Glue time they need."""

from __future__ import annotations

from phenolake.sources.base import CurateSizing, SourceSpec, TableSpec

SPEC = SourceSpec(
    tables=(
        *(
            TableSpec(
                f"embrace_{stream}",
                ("participant_id", "date"),
                participant="participant_id",
                time="time",
            )
            for stream in ("eda", "temp", "acc")
        ),
        TableSpec(
            "embrace_wear_time", ("participant_id", "local_date"), participant="participant_id"
        ),
        TableSpec("embrace_duplicates", ("participant_id",), participant="participant_id"),
        TableSpec(
            "embrace_metadata",
            ("participant_id", "date"),
            participant="participant_id",
            time="datetime_utc",
        ),
    ),
    #: Wear time and local dates over a month of 32 Hz acceleration: twice the default.
    curate=CurateSizing(timeout_minutes=120),
)
