"""Small connectors the core tests build on."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import SecretStr

from toucan_connectors.slicing import RetrievedPage
from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource


class FrameDataSource(ToucanDataSource):
    query: str = ""


class FrameConnector(ToucanConnector, data_source_model=FrameDataSource):
    """Returns a copy of `frame`; records the rendered data sources it was asked for."""

    password: SecretStr | None = None
    frame: Any = None

    def model_post_init(self, context: Any) -> None:
        self._calls: list[FrameDataSource] = []

    def _retrieve_data(self, data_source: FrameDataSource) -> pd.DataFrame:
        self._calls.append(data_source)
        return self.frame.copy()


class AnnotatedConnector(ToucanConnector):
    data_source_model: FrameDataSource

    def _retrieve_data(self, data_source: FrameDataSource) -> pd.DataFrame:
        return pd.DataFrame()


class PushdownConnector(ToucanConnector, data_source_model=FrameDataSource):
    """Slices `frame` itself, like a SQL connector would, optionally without counting."""

    frame: Any = None
    counts_rows: bool = True

    def model_post_init(self, context: Any) -> None:
        self._pages: list[tuple[int, int | None, bool]] = []

    def _retrieve_data(self, data_source: FrameDataSource) -> pd.DataFrame:
        return self.frame.copy()

    def _retrieve_page(
        self,
        data_source: Any,
        permissions: Any,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        self._pages.append((offset, limit, count_rows))
        end = None if limit is None else offset + limit
        total = len(self.frame) if self.counts_rows else None
        types = {str(name): f"SQL_{dtype}" for name, dtype in self.frame.dtypes.items()}
        return RetrievedPage(self.frame.iloc[offset:end], total, types, 0.25)
