"""Options of source ``mhealth`` (``study.yaml`` ``sources.mhealth.options``, or a run's
``{"options": {"mhealth": {...}}}``): the Kaggle dataset the daily run fetches."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class MHealthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``owner/slug`` (``nirmalsankalana/mhealth-dataset-data-set``); empty: nothing is fetched.
    kaggle_dataset: str = ""
