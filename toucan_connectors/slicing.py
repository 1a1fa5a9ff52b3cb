"""Pages of a result: what a connector hands back, and what `get_slice` returns."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class RetrievedPage(NamedTuple):
    """What a connector's `_retrieve_page` hook returns.

    `total_rows` is the number of rows of the whole (permission-filtered) result, or None when
    the connector did not count them. `column_types` maps column names to the provider's types.
    """

    df: pd.DataFrame
    total_rows: int | None = None
    column_types: dict[str, str] | None = None
    permission_filtering_time: float = 0.0


class PageRequest(BaseModel):
    """An offset and a limit: the page asked for, or the next or previous one."""

    offset: int
    limit: int | None


class PaginationInfo(BaseModel):
    """Where a slice sits in the whole result."""

    parameters: PageRequest
    total_rows: int | None = Field(description="Rows in the whole result; None when unknown.")
    is_last_page: bool
    next_page: PageRequest | None
    previous_page: PageRequest | None


class DataStats(BaseModel):
    """Timings in seconds of each step of a retrieval, and the frame's memory size in bytes."""

    query_generation_time: float = 0.0
    data_extraction_time: float = 0.0
    data_conversion_time: float = 0.0
    permission_filtering_time: float = 0.0
    df_memory_size: int = 0


class DataSlice(BaseModel):
    """A page of rows with its pagination, statistics and column types."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    df: pd.DataFrame
    pagination_info: PaginationInfo
    stats: DataStats = Field(default_factory=DataStats)
    query_metadata: dict[str, str] = Field(default_factory=dict)


def build_pagination_info(
    offset: int, limit: int | None, fetched_rows: int, total_rows: int | None
) -> PaginationInfo:
    """Work out the pagination of a page from the rows fetched for it.

    `fetched_rows` is the number of rows fetched when asking for `limit + 1` rows: one more than
    the limit means another page follows, so an exactly full last page is told apart.
    """
    if limit == 0:
        # A page of no rows never advances: it is the last one a caller gets.
        is_last_page = True
    elif total_rows is not None:
        is_last_page = limit is None or offset + limit >= total_rows
    else:
        is_last_page = limit is None or fetched_rows <= limit
        if is_last_page and (fetched_rows > 0 or offset == 0):
            total_rows = offset + fetched_rows

    next_page = None
    if not is_last_page and limit:
        next_page = PageRequest(offset=offset + limit, limit=limit)

    previous_page = None
    if offset > 0:
        # Past the end, the previous page is the last one that holds rows.
        end = offset if total_rows is None else min(offset, total_rows)
        previous_offset = max(end - limit, 0) if limit else 0
        previous_page = PageRequest(offset=previous_offset, limit=limit)
    return PaginationInfo(
        parameters=PageRequest(offset=offset, limit=limit),
        total_rows=total_rows,
        is_last_page=is_last_page,
        next_page=next_page,
        previous_page=previous_page,
    )
