"""Options of source ``screenlake`` (``study.yaml`` ``sources.screenlake.options``, or a run's
``{"options": {"screenlake": {...}}}``): the panel's bucket the zips are fetched from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ScreenlakeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The Screenlake bucket (``screenlake-zip-prod``); empty: nothing is fetched.
    bucket: str = ""
    #: ``academia/tenant/<id>_<name>/panel/<panel>/V_<version>/panelist/`` (default ``academia/``).
    prefix: str = "academia/"
    #: With the prefix ending in ``panelist/``, a site is a panelist.
    include_sites: list[str] = []
    exclude_sites: list[str] = []
