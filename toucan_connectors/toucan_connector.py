"""The base models every connector and data source derive from.

A connector (`ToucanConnector`) holds what is needed to reach a provider; a data source
(`ToucanDataSource`) holds what is needed to get one DataFrame from it. A connector names its
data source model with a class keyword or an annotation::

    class FooConnector(ToucanConnector, data_source_model=FooDataSource): ...

    class FooConnector(ToucanConnector):
        data_source_model: FooDataSource
"""

from __future__ import annotations

import builtins
import contextlib
import datetime
import enum
import hashlib
import json
import logging
import sys
import time
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr, ValidationError
from typing_extensions import Self

from toucan_connectors.discovery import ColumnInfo, DiscoverableConnector, TableInfo
from toucan_connectors.errors import (
    InvalidConfigurationError,
    InvalidDataSourceError,
    UnsupportedFeatureError,
)
from toucan_connectors.frames import ReturnType, convert_frame, normalize_frame
from toucan_connectors.permissions.pandas_filter import apply_permissions
from toucan_connectors.retry import RetryPolicy
from toucan_connectors.secrets import fingerprint_secrets, reveal_secrets
from toucan_connectors.slicing import (
    DataSlice,
    DataStats,
    PageRequest,
    PaginationInfo,
    RetrievedPage,
    build_pagination_info,
)
from toucan_connectors.status import ConnectorStatus, StatusCheck, run_status_checks
from toucan_connectors.templating import render

logger = logging.getLogger(__name__)

__all__ = [
    "ColumnInfo",
    "ConnectorStatus",
    "DataSlice",
    "DataStats",
    "DiscoverableConnector",
    "PageRequest",
    "PaginationInfo",
    "RetrievedPage",
    "RetryPolicy",
    "TableInfo",
    "ToucanConnector",
    "ToucanDataSource",
]

Permissions = Mapping[str, Any]
_Item = TypeVar("_Item")


class ToucanDataSource(BaseModel):
    """What is needed to get one DataFrame from a connector."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    unrendered_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields the connector renders itself (SQL queries bind their values instead)."""

    domain: str = Field(description="Name of the dataset this data source produces.")
    name: str = Field(description="Name of the connector this data source reads from.")
    type: str | None = Field(None, description="Type key of the connector.")
    load: bool = Field(True, description="Whether the host loads this data source.")
    live_data: bool = Field(False, description="Whether the host queries it on each request.")
    validation: dict[str, Any] | None = Field(
        None, description="Checks the host runs on the result."
    )
    parameters: dict[str, Any] | None = Field(
        None, description="Values for the `{{ name }}` and `%(name)s` templates of the fields."
    )
    cache_ttl: int | None = Field(None, description="Seconds the host may cache the result.")

    def rendered(self) -> Self:
        """Return a copy whose templated fields are filled with `parameters`, validated again.

        Raises:
            TemplateError: a template is undefined, malformed or unsafe.
            InvalidDataSourceError: a rendered value does not fit its field's type.
        """
        base_fields = set(ToucanDataSource.model_fields)
        updates = {
            name: render(getattr(self, name), self.parameters)
            for name in type(self).model_fields
            if name not in base_fields and name not in self.unrendered_fields
        }
        changed = {name for name, value in updates.items() if value is not getattr(self, name)}
        if not changed:
            return self.model_copy()

        fields = {name: getattr(self, name) for name in type(self).model_fields}
        try:
            return type(self).model_validate({**fields, **updates})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
                if error["loc"] and error["loc"][0] in changed
            )
            raise InvalidDataSourceError(
                f'Data source "{self.domain}" has a field whose template gives a value of the '
                f"wrong type ({problems or exc.error_count()}): fix the template or the "
                "parameter it uses."
            ) from None


class ToucanConnector(BaseModel):
    """What is needed to reach a provider, and the retrieval methods built on it."""

    # A validation error would otherwise repeat the whole input, passwords included.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # `builtins.type`: the `type` field below shadows the builtin inside the class body.
    data_source_model: ClassVar[builtins.type[ToucanDataSource]]
    transient_errors: ClassVar[tuple[builtins.type[BaseException], ...]] = ()
    """Exceptions worth retrying under `retry_policy`; any other error is raised at once."""
    status_steps: ClassVar[tuple[str, ...]] = ()
    """Names of the `get_status` checks in order, for the doc page."""
    limitations: ClassVar[tuple[str, ...]] = ()
    """Known shortcomings, one line each, for the doc page's Limitations section."""

    name: str = Field(description="Name of this connector, referred to by data sources.")
    type: str | None = Field(None, description="Type key of the connector in the registry.")
    retry_policy: RetryPolicy | None = Field(None, description="Retries on transient errors.")
    cache_ttl: int | None = Field(None, description="Seconds the host may cache results.")
    identifier: str | None = Field(None, description="A stable identifier set by the host.")
    secrets_storage_version: str = Field("1", description="Version of the secrets format.")

    def __init_subclass__(
        cls, data_source_model: builtins.type[ToucanDataSource] | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        annotations = cls.__dict__.get("__annotations__", {})
        annotated = annotations.pop("data_source_model", None)
        if annotated is not None and data_source_model is None:
            data_source_model = _resolve_annotation(cls, annotated)

        if data_source_model is not None:
            if not (
                isinstance(data_source_model, builtins.type)
                and issubclass(data_source_model, ToucanDataSource)
            ):
                raise TypeError(
                    f"{cls.__name__}.data_source_model is {data_source_model!r}, which is not a "
                    "ToucanDataSource subclass: declare the data source as "
                    "`class MyDataSource(ToucanDataSource)` and name that class."
                )
            cls.data_source_model = data_source_model
        elif not hasattr(cls, "data_source_model") and not _is_abstract(cls):
            raise TypeError(
                f"{cls.__name__} declares no data source model: write "
                f"`class {cls.__name__}(ToucanConnector, data_source_model=MyDataSource)` "
                "or annotate `data_source_model: MyDataSource` in the class body."
            )

    @abstractmethod
    def _retrieve_data(self, data_source: Any) -> pd.DataFrame:
        """Return the whole result of a rendered data source."""

    def _retrieve_page(
        self,
        data_source: Any,
        permissions: Permissions | None,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        """Return rows offset..offset+limit-1 of the permitted result; the hook to push down.

        This default retrieves everything and filters and slices in pandas; connectors that can
        push offset, limit, counting and permissions into the provider override it.
        """
        df = self._retrieve_data(data_source)

        started = time.perf_counter()
        df = apply_permissions(df, permissions, data_source.parameters)
        filtering_time = time.perf_counter() - started

        total_rows = len(df)
        if offset or limit is not None:
            df = df.iloc[offset : None if limit is None else offset + limit]
        return RetrievedPage(df, total_rows, permission_filtering_time=filtering_time)

    def get_df(
        self,
        data_source: Any,
        permissions: Permissions | None = None,
        return_type: ReturnType = "pandas",
    ) -> Any:
        """Render, retrieve, filter by permissions and normalise the data source's result.

        `return_type` "arrow" gives a pyarrow Table and "polars" a polars DataFrame, converted
        from the normalised pandas frame (they need the `fast` and `polars` extras).
        """
        with self._naming(data_source):
            rendered = data_source.rendered()
            page = self._call_with_retry(rendered, permissions, 0, None, False)
        return convert_frame(
            normalize_frame(page.df), return_type, self.type or type(self).__name__
        )

    def get_slice(
        self,
        data_source: Any,
        permissions: Permissions | None = None,
        offset: int = 0,
        limit: int | None = None,
        get_row_count: bool = False,
    ) -> DataSlice:
        """Return one page of the result with its pagination info, timings and column types."""
        _check_page_bounds(offset, limit)
        with self._naming(data_source):
            started = time.perf_counter()
            rendered = data_source.rendered()
            generated = time.perf_counter()

            fetch_limit = None if limit is None else limit + 1
            page = self._call_with_retry(
                rendered, permissions, offset, fetch_limit, get_row_count, page_size=limit
            )
            extracted = time.perf_counter()

        df = normalize_frame(page.df.iloc[:limit] if limit is not None else page.df)
        converted = time.perf_counter()

        stats = DataStats(
            query_generation_time=generated - started,
            data_extraction_time=max(extracted - generated - page.permission_filtering_time, 0.0),
            data_conversion_time=converted - extracted,
            permission_filtering_time=page.permission_filtering_time,
            df_memory_size=int(df.memory_usage(deep=True).sum()),
        )
        pagination = build_pagination_info(offset, limit, len(page.df), page.total_rows)
        metadata = page.column_types or {str(k): str(v) for k, v in df.dtypes.items()}
        return DataSlice(df=df, pagination_info=pagination, stats=stats, query_metadata=metadata)

    def get_status(self) -> ConnectorStatus:
        """Check step by step that the provider is reachable and accepts the credentials."""
        checks = self._status_checks()
        if not checks:
            return ConnectorStatus(status=None, message="This connector has no status checks.")
        return run_status_checks(checks)

    def _status_checks(self) -> list[StatusCheck]:
        """The named steps of `get_status`, in order; none by default."""
        return []

    def describe(self, data_source: Any) -> dict[str, str]:
        """Return the result's column names and types, fetching as little as possible."""
        with self._naming(data_source):
            page = self._retrieve_page(data_source.rendered(), None, 0, 1, False)
        if page.column_types:
            return dict(page.column_types)
        df = normalize_frame(page.df)
        return {str(name): str(dtype) for name, dtype in df.dtypes.items()}

    def explain(self, data_source: Any, permissions: Permissions | None = None) -> Any:
        """Return the provider's plan for the data source's query."""
        raise UnsupportedFeatureError(
            f'The "{self.type or type(self).__name__}" connector cannot explain queries; '
            "see the Limitations section of its doc page."
        )

    def get_unique_identifier(self) -> str:
        """Return `identifier`, or a digest of the configuration that reaches the provider."""
        if self.identifier:
            return self.identifier
        return _digest(self._identity_payload())

    def get_cache_key(
        self,
        data_source: Any = None,
        permissions: Permissions | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> str:
        """Return a digest that changes with anything that changes the result, never a secret."""
        payload: dict[str, Any] = {"connector": self._identity_payload()}
        if data_source is not None:
            fields = data_source.model_dump(
                exclude={"domain", "name", "load", "live_data", "cache_ttl"}
            )
            payload["data_source"] = fingerprint_secrets(fields)
        payload.update(permissions=permissions, offset=offset, limit=limit)
        return _digest(payload)

    def dump_with_secrets(self) -> dict[str, Any]:
        """Return the configuration with secrets in clear, for the host's secret storage."""
        dumped: dict[str, Any] = reveal_secrets(self.model_dump(mode="python", exclude_none=False))
        return dumped

    def _identity_payload(self) -> dict[str, Any]:
        fields = self.model_dump(
            mode="python", exclude={"name", "cache_ttl", "retry_policy", "identifier"}
        )
        return fingerprint_secrets(fields)  # type: ignore[no-any-return]

    def _named_stream(self, data_source: Any, stream: Iterator[_Item]) -> Iterator[_Item]:
        """Yield from `stream`, prefixing its input errors as `get_df` does."""
        with self._naming(data_source):
            yield from stream

    @contextlib.contextmanager
    def _naming(self, data_source: Any) -> Iterator[None]:
        """Prefix an input error with the connector and data source it happened in."""
        try:
            yield
        except InvalidDataSourceError as exc:
            domain = getattr(data_source, "domain", None)
            message = str(exc)
            if domain is not None and f'data source "{domain}"' not in message.lower():
                kind = self.type or type(self).__name__
                exc.args = (
                    f'Data source "{domain}" of connector "{self.name}" ({kind}): {message}',
                )
            raise

    def _call_with_retry(
        self,
        data_source: Any,
        permissions: Permissions | None,
        offset: int,
        limit: int | None,
        count_rows: bool,
        page_size: int | None = None,
    ) -> RetrievedPage:
        # `page_size`: the rows asked for when `limit` holds one more, to tell the last page.
        def attempt() -> RetrievedPage:
            return self._retrieve_page(data_source, permissions, offset, limit, count_rows)

        started = time.perf_counter()
        if self.retry_policy is None:
            page = attempt()
        else:
            page = self.retry_policy.call(attempt, self.transient_errors)
        rows = len(page.df) if page_size is None else min(len(page.df), page_size)
        logger.info(
            "Data source %r returned %d rows in %.3fs",
            data_source.domain,
            rows,
            time.perf_counter() - started,
        )
        return page


_MAX_OFFSET = 2**62


def _check_page_bounds(offset: Any, limit: Any) -> None:
    def is_count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_OFFSET

    if not is_count(offset) or not (limit is None or is_count(limit)):
        raise InvalidConfigurationError(
            f"get_slice needs offset >= 0 and limit >= 0 as whole numbers up to {_MAX_OFFSET} "
            f"(got offset={offset!r}, limit={limit!r})."
        )


def _resolve_annotation(cls: type, annotation: Any) -> type[ToucanDataSource]:
    if not isinstance(annotation, str):
        return annotation  # type: ignore[no-any-return]
    namespace = dict(vars(sys.modules[cls.__module__]))
    try:
        resolved: type[ToucanDataSource] = eval(annotation, namespace, dict(vars(cls)))  # noqa: S307
        return resolved
    except NameError:
        pass

    # Classes defined inside a function: the name lives in the frame running the class statement.
    frame = sys._getframe(1)
    for _ in range(8):
        frame = frame.f_back  # type: ignore[assignment]
        if frame is None:
            break
        if annotation in frame.f_locals:
            return frame.f_locals[annotation]  # type: ignore[no-any-return]
    raise TypeError(
        f"{cls.__name__}.data_source_model names {annotation!r}, which is not defined "
        "before the connector class: define the data source class first, or name it with the "
        f"class keyword `class {cls.__name__}(ToucanConnector, data_source_model=...)`."
    )


def _is_abstract(cls: type) -> bool:
    return bool(getattr(getattr(cls, "_retrieve_data", None), "__isabstractmethod__", False))


def _digest(payload: Any) -> str:
    text = json.dumps(_canonical(payload), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """Return an exact JSON form of `value` that tells types apart and sorts unordered parts.

    Every value but a string becomes `[type tag, payload]`, so `1`, `"1"`, `True`, `(1,)` and
    `[1]` all differ; dict items and set members are sorted by their own encoding, so neither
    insertion order nor PYTHONHASHSEED changes the key, and mixed key types are fine.
    """
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return ["const", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, Mapping):
        items = [[_canonical(key), _canonical(item)] for key, item in value.items()]
        return ["dict", sorted(items, key=_encoded)]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_canonical(item) for item in value]]
    if isinstance(value, set | frozenset):
        return ["set", sorted((_canonical(item) for item in value), key=_encoded)]
    if isinstance(value, SecretStr | SecretBytes):
        return ["secret", fingerprint_secrets(value)]
    if isinstance(value, BaseModel):
        return [_type_name(value), _canonical(fingerprint_secrets(value.model_dump()))]
    if isinstance(value, bytes | bytearray):
        return ["bytes", bytes(value).hex()]
    if isinstance(value, datetime.date | datetime.time):
        return [_type_name(value), value.isoformat()]
    if isinstance(value, enum.Enum):
        return [_type_name(value), _canonical(value.value)]
    if isinstance(value, pd.DataFrame | pd.Series):
        return [_type_name(value), _frame_digest(value)]
    if hasattr(value, "tobytes") and hasattr(value, "dtype") and hasattr(value, "shape"):
        array_bytes = value.tobytes()
        return [_type_name(value), str(value.dtype), list(value.shape), _sha(array_bytes)]
    return [_type_name(value), repr(value)]


def _encoded(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _frame_digest(frame: pd.DataFrame | pd.Series) -> list[Any]:
    # Every cell counts: a repr would elide the middle rows of a long frame.
    if isinstance(frame, pd.Series):
        labels, dtypes = [_canonical(frame.name)], [str(frame.dtype)]
    else:
        labels, dtypes = [_canonical(name) for name in frame.columns], list(map(str, frame.dtypes))
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    return [labels, dtypes, _sha(hashed)]
