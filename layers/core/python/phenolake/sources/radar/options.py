"""Options of source ``radar`` (``study.yaml`` ``sources.radar.options``, or a run's
``{"options": {"radar": {...}}}``): the external bucket RADAR-base exports are fetched from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class RadarOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The bucket holding the output-restructure exports; empty: nothing is fetched.
    bucket: str = ""
    #: The folder in it holding the site folders.
    prefix: str = ""
    #: Only these sites (empty: every site); never ``exclude_sites``.
    include_sites: list[str] = []
    exclude_sites: list[str] = []

    @field_validator("include_sites", "exclude_sites", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """``"a,b"`` (a parameter's shape) or ``["a", "b"]``."""
        if isinstance(value, str):
            return [n.strip() for n in value.split(",") if n.strip()]
        return value
