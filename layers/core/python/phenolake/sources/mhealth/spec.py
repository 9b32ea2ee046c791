"""What source ``mhealth`` declares: its two curated tables (the seed's ``user_id``)."""

from __future__ import annotations

from phenolake.sources.base import SourceSpec, TableSpec

SPEC = SourceSpec(
    tables=(
        TableSpec("mhealth", ("user_id", "date"), participant="user_id", time="timestamp"),
        TableSpec("mhealth_readings", ("user_id", "date"), participant="user_id", time="timestamp"),
    ),
    fetch=("kaggle",),
)
