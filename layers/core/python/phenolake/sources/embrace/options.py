"""Options of source ``embrace``: none (its exports are landed, not fetched); the model
still refuses any option given, so a typo in ``study.yaml`` is named, not ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EmbraceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
