"""The time-series sink interface, so Timestream can be swapped for another store.

Amazon Timestream for LiveAnalytics takes no new AWS accounts since 2025-06-20; the
pipeline only needs a sink that can (1) turn a merged day file into load files and (2) start
and describe a bulk load. Timestream's batch load is the implementation in this repo.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa


@dataclass(frozen=True)
class SeriesSpec:
    """One stream a source sends to the sink: a multi-measure record per row."""

    metric: str  # which merged metric of the source
    measure_name: str  # the multi-measure record name (the stream)
    time_column: str  # a timestamp column in the merged files
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]


class TimeSeriesSink(abc.ABC):
    name: ClassVar[str]

    @abc.abstractmethod
    def load_rows(self, table: pa.Table, spec: SeriesSpec) -> pa.Table:
        """The rows to load, in the sink's load-file layout."""

    @abc.abstractmethod
    def load_request(
        self, *, run_id: str, prefix: str, spec: SeriesSpec, bucket: str
    ) -> dict[str, Any]:
        """The request that starts one bulk load of the files under ``prefix``."""
