"""What source ``radar`` declares: one table per topic, its keys and columns."""

from __future__ import annotations

from phenolake.sources.base import SourceSpec, TableSpec

SPEC = SourceSpec(
    tables=(
        TableSpec(
            "radar_{metric}",
            partition_keys=("site", "participant_id", "date"),
            participant="participant_id",
            time="time",
            summarised=True,
        ),
    ),
    fetch=("s3",),
    sites=True,
    #: Units of known value columns (SensorKit): topic -> column -> unit.
    units={
        "sensorkit_acceleration": {"x": "g", "y": "g", "z": "g"},
        "sensorkit_ambient_light": {"lux": "lx"},
        "sensorkit_pedometer": {"steps": "steps", "distance": "m"},
    },
)
