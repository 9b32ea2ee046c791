"""Options of source ``radar`` (``study.yaml`` ``sources.radar.options``, or a run's
``{"options": {"radar": {...}}}``): the external bucket RADAR-base exports are fetched from,
and how the study's radar-output-restructure filed them (its ``restructure.yml``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from phenolake.sources.radar.paths import (
    DEFAULT_FORMAT,
    DEFAULT_TIME_BIN,
    PathFormatError,
    PathLayout,
)


class RadarOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The bucket holding the output-restructure exports; empty: nothing is fetched.
    bucket: str = ""
    #: The folder in it holding the site folders.
    prefix: str = ""
    #: Only these sites (empty: every site); never ``exclude_sites``.
    include_sites: list[str] = []
    exclude_sites: list[str] = []
    #: ``paths.properties.timeBinFormat``: the hour bin of ``${filename}`` (Java pattern).
    time_bin_format: str = DEFAULT_TIME_BIN
    #: ``restructure.yml`` ``paths.path.format`` (or ``paths.properties.format``): the
    #: tool's default unless the study changed it.
    path_format: str = DEFAULT_FORMAT
    #: ``topics.<topic>.pathProperties.format``: topics filed under a format of their own
    #: (the tool's example: questionnaire_response under ``.../${topic}/${value:name}/...``).
    topic_path_formats: dict[str, str] = {}

    @field_validator("include_sites", "exclude_sites", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """``"a,b"`` (a parameter's shape) or ``["a", "b"]``."""
        if isinstance(value, str):
            return [n.strip() for n in value.split(",") if n.strip()]
        return value

    @field_validator("time_bin_format", "path_format", "topic_path_formats")
    @classmethod
    def _readable(cls, value: Any, info: ValidationInfo) -> Any:
        """A format phenolake can read back, else one line naming what it cannot."""
        time_bin = info.data.get("time_bin_format", DEFAULT_TIME_BIN)
        try:
            if info.field_name == "time_bin_format":
                PathLayout.of(time_bin_format=value)
            elif info.field_name == "path_format":
                PathLayout.of(value, time_bin_format=time_bin)
            else:
                PathLayout.of(topic_path_formats=value, time_bin_format=time_bin)
        except PathFormatError as exc:
            raise PydanticCustomError(
                "radar_path_format", "{reason}", {"reason": str(exc)}
            ) from None
        return value
