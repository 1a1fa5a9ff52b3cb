"""The MongoDB connector (also for AWS DocumentDB): aggregation pipelines into DataFrames."""

from __future__ import annotations

import datetime
import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from typing import Any, ClassVar
from urllib.parse import unquote

import pandas as pd
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from typing_extensions import Self

from toucan_connectors.dependencies import import_optional
from toucan_connectors.discovery import ColumnInfo, DiscoverableConnector, TableInfo
from toucan_connectors.errors import (
    ConnectionFailedError,
    InvalidConfigurationError,
    InvalidDataSourceError,
    ProviderError,
    UnsupportedFeatureError,
)
from toucan_connectors.frames import normalize_frame
from toucan_connectors.mongo.documents import bson_type_name, documents_to_frame, to_python
from toucan_connectors.mongo.pipeline import build_pipeline, page_stages
from toucan_connectors.slicing import RetrievedPage
from toucan_connectors.status import CheckFailedError, StatusCheck, host_and_port_checks
from toucan_connectors.toucan_connector import Permissions, ToucanConnector, ToucanDataSource

logger = logging.getLogger(__name__)

__all__ = ["MongoConnector", "MongoDataSource"]

_SYSTEM_DATABASES = ("admin", "config", "local")
_STATUS_TIMEOUT_MS = 3000
_MODEL_SAMPLE_SIZE = 100
_DESCRIBE_SAMPLE_SIZE = 100
_DEFAULT_PORT = 27017
# Server error codes of a refused login: AuthenticationFailed, UserNotFound, MechanismUnavailable.
_LOGIN_REFUSED_CODES = frozenset({18, 11, 334})
# Words of a connection failure that only a configuration change cures (the server's TLS
# certificate is not trusted, or the server speaks no TLS, or a client certificate is missing).
_PERMANENT_CONNECTION_SIGNS = (
    "certificate verify failed",
    "wrong version number",
    "tlsv13 alert certificate required",
)
# Connection string options holding a secret, lowercased.
_SECRET_OPTIONS = frozenset({"tlscertificatekeyfilepassword", "sslpemkeypassword"})


class MongoDataSource(ToucanDataSource):
    """A MongoDB collection read through a `$match` document or an aggregation pipeline."""

    # The connector renders the query itself, after removing the optional filters.
    unrendered_fields: ClassVar[frozenset[str]] = frozenset({"query"})

    database: str = Field(description="Database holding the collection.", examples=["shop"])
    collection: str = Field(description="Collection to read.", examples=["orders"])
    query: dict[str, Any] | list[dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "A `$match` document, or an aggregation pipeline as a list of stages. Templates are "
            "filled with `parameters`, keeping their value's type; in a `$match`, a clause whose "
            "variable is not given is lifted (it restricts nothing; inside `$nor` or `$not` it "
            "is refused). A `$sort` may be a list of single-key documents to keep its order."
        ),
        examples=[
            [
                {"$match": {"status": "{{ status }}", "year": {"$gte": "{{ min_year }}"}}},
                {"$sort": [{"year": -1}, {"n": 1}]},
            ]
        ],
    )
    flatten: bool = Field(
        False,
        description="Spread nested documents into dotted columns (`address.city`).",
    )
    batch_size: int = Field(
        1000, ge=1, description="Documents fetched from the server per round trip."
    )


class MongoConnector(ToucanConnector, DiscoverableConnector, data_source_model=MongoDataSource):
    """Reads MongoDB (or AWS DocumentDB) collections through aggregation pipelines."""

    status_steps: ClassVar[tuple[str, ...]] = (
        "Host resolved",
        "Port opened",
        "Server answered",
        "Authenticated",
        "Database exists",
    )
    limitations: ClassVar[tuple[str, ...]] = (
        "Permissions filter the stored documents: they are merged into the pipeline's leading "
        "`$match` (or put in front of it, or right after an opening `$search`, `$vectorSearch` "
        "or `$geoNear`), so they name document fields, not fields computed by later stages.",
        "Permissions filter the read collection only: with permissions, `$unionWith` and a "
        "pipeline opening with a stage that reads no stored documents (`$collStats`, "
        "`$searchMeta`, `$documents`...) are refused, and the documents `$lookup` or "
        "`$graphLookup` join from other collections are not filtered.",
        'A permission comparing a word with a field holding numbers (`year eq "abc"`) '
        "matches no document, where a frame or SQL source refuses it: MongoDB fields have no "
        "type to check the value against.",
        "`matches` and `notmatches` permissions read number fields through `$isNumber`, which "
        "needs MongoDB 4.4 or later; other non-text fields (booleans, dates) never match.",
        "A result without documents is a frame without columns, with or without permissions: "
        "MongoDB has no schema to name them.",
        "Permissions follow MongoDB's rule that an absent field is null: `isnull` on a field "
        "that no document has matches every document (and `notnull` none), where a SQL "
        "source rejects the unknown column.",
        "A page asked with its row count is returned by one `$facet` stage, whose result must "
        "fit in one 16 MB BSON document; ask without the count for larger pages. AWS DocumentDB "
        "versions without `$facet` refuse counted pages: ask them without the count.",
        "`iter_batches(as_arrow=True)` refuses a batch whose column mixes types Arrow cannot "
        "hold (text and numbers) with `UnsupportedFeatureError`, as `get_df` does.",
        "For `mongodb+srv://` hosts the status skips the host and port steps, since the "
        "addresses come from DNS SRV records.",
        "Types reported by `get_model` are sampled from the first 100 documents of each "
        "collection; a field absent from them is not listed.",
        "`describe` samples the first 100 documents of the result: a field absent from them is "
        "not listed, and dtypes are those `get_df` gives those documents.",
        "`iter_batches` converts each batch on its own: a field first seen in a later batch is "
        "absent from the earlier ones, and a field's dtype may differ between batches (`int64` "
        "where it is always set, `Int64` where it has gaps), so concatenated batches equal "
        "`get_df` only when the batches agree; use `get_df` when they may not.",
        "The tests run against an in-process stand-in (mockupdb answering with mongomock) "
        "unless TOUCAN_MONGO_URI (or TOUCAN_MONGO_HOST/PORT) names a real server: they write "
        "`$project` exclusions instead of `$unset`, which the stand-in lacks, and compare "
        "`$group` results regardless of column order, which the stand-in does not keep.",
    )
    transient_errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionFailedError,)

    host: str = Field(
        description="Host name, or a full `mongodb://` or `mongodb+srv://` connection string.",
        examples=["mongo.example.com"],
    )
    port: int | None = Field(
        27017, ge=1, le=65535, description="Port; ignored when `host` is a connection string."
    )
    username: str | None = Field(
        None, description="User name to authenticate with.", examples=["reader"]
    )
    password: SecretStr | None = Field(
        None, description="Password of `username`.", examples=["${MONGO_PASSWORD}"]
    )
    tls_key_password: SecretStr | None = Field(
        None,
        description="Password of the client certificate key file (`tlsCertificateKeyFile`).",
        examples=["${MONGO_TLS_KEY_PASSWORD}"],
    )
    database: str | None = Field(
        None, description="Database `get_status` checks for; the check is skipped when empty."
    )
    ssl: bool | None = Field(
        None, description="Use TLS; when empty, the connection string decides."
    )
    max_pool_size: int = Field(100, ge=1, description="Most connections kept open to each server.")
    connect_timeout_ms: int = Field(
        5000, ge=1, description="Milliseconds to wait for a connection to open."
    )
    server_selection_timeout_ms: int = Field(
        5000, ge=1, description="Milliseconds to wait for a usable server."
    )

    _client_slot: _ClientSlot = PrivateAttr(default_factory=lambda: _ClientSlot())

    @model_validator(mode="after")
    def _password_needs_username(self) -> Self:
        if self.password is not None and not self.username and not _uri_username(self.host):
            raise ValueError(
                "a password needs a username: set `username` (or put it in the connection string)"
            )
        return self

    @field_validator("host")
    @classmethod
    def _valid_host(cls, host: str) -> str:
        if "://" not in host:
            return host
        if not _is_uri(host):
            raise ValueError(
                "the connection string must start with mongodb:// or mongodb+srv://: fix its "
                "scheme, or give a bare host name and `port`"
            )
        # A password inside the string would show in repr, dumps and cache keys: it is no secret.
        if _uri_password(host):
            raise ValueError(
                "the connection string holds a password: move it to `password` (a secret) "
                "and the user name to `username`"
            )
        _check_no_secret_options(host)
        _check_uri_syntax(host)
        return host

    def __eq__(self, other: object) -> bool:
        # The client and its lock are per instance: equal configurations are equal connectors.
        if type(other) is not type(self):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Self:
        # A copy opens its own client: sharing one would let `close()` on either break the other.
        copied = super().__copy__()
        copied._client_slot = _ClientSlot()
        return copied

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connector's client and its connections; a later call opens a new one."""
        self._client_slot.close()

    def _retrieve_data(self, data_source: MongoDataSource) -> pd.DataFrame:
        """Run the data source's pipeline and return every resulting document as a row."""
        return self._retrieve_page(data_source, None, 0, None, False).df

    def _retrieve_page(
        self,
        data_source: MongoDataSource,
        permissions: Permissions | None,
        offset: int,
        limit: int | None,
        count_rows: bool,
    ) -> RetrievedPage:
        """Run the pipeline with permissions, paging and counting pushed into the server."""
        pipeline = build_pipeline(data_source.query, data_source.parameters, permissions)
        logger.debug(
            "Running a %d-stage pipeline on %s/%s.%s for %r",
            len(pipeline),
            self._display_host(),
            data_source.database,
            data_source.collection,
            data_source.domain,
        )

        with self._provider_errors(data_source):
            collection = self._get_client()[data_source.database][data_source.collection]
            if count_rows:
                return self._retrieve_counted_page(collection, pipeline, data_source, offset, limit)
            stages = pipeline + page_stages(offset, limit)
            cursor = collection.aggregate(stages, batchSize=data_source.batch_size)
            with cursor:
                df = documents_to_frame(cursor, data_source.flatten)
        return RetrievedPage(df)

    def iter_batches(
        self,
        data_source: MongoDataSource,
        permissions: Permissions | None = None,
        batch_size: int = 10_000,
        as_arrow: bool = False,
    ) -> Iterator[Any]:
        """Yield the result as frames (or Arrow record batches) of at most `batch_size` rows.

        Documents stream from the server's cursor `batch_size` at a time, so memory stays
        bounded by the batch size. Each frame keeps the columns of the previous ones (a field
        absent from a batch is null there) and its index continues theirs; a field first seen
        in a later batch is absent from the earlier ones, and dtypes may differ between
        batches (see the limitations). At least one (possibly empty) batch is yielded.

        Raises:
            UnsupportedFeatureError: with `as_arrow`, a column mixes types Arrow cannot hold.
        """
        batches = self._stream_batches(data_source, permissions, batch_size, as_arrow)
        return self._named_stream(data_source, batches)

    def _stream_batches(
        self,
        data_source: MongoDataSource,
        permissions: Permissions | None,
        batch_size: int,
        as_arrow: bool,
    ) -> Iterator[Any]:
        if batch_size < 1:
            raise InvalidDataSourceError(f"batch_size must be at least 1 (got {batch_size}).")
        rendered = data_source.rendered()
        pipeline = build_pipeline(rendered.query, rendered.parameters, permissions)
        logger.debug(
            "Streaming a %d-stage pipeline on %s/%s.%s for %r in batches of %d",
            len(pipeline),
            self._display_host(),
            rendered.database,
            rendered.collection,
            rendered.domain,
            batch_size,
        )

        started = time.perf_counter()
        columns: dict[str, None] = {}
        offset = 0
        with self._provider_errors(rendered):
            collection = self._get_client()[rendered.database][rendered.collection]
            with collection.aggregate(pipeline, batchSize=batch_size) as cursor:
                for documents in _chunks(cursor, batch_size):
                    df = _align_columns(documents_to_frame(documents, rendered.flatten), columns)
                    df = normalize_frame(df).set_axis(pd.RangeIndex(offset, offset + len(df)))
                    offset += len(df)
                    yield _to_record_batch(df) if as_arrow else df
        if not offset:
            df = normalize_frame(documents_to_frame([], rendered.flatten))
            yield _to_record_batch(df) if as_arrow else df

        elapsed = time.perf_counter() - started
        logger.info("Data source %r streamed %d rows in %.3fs", rendered.domain, offset, elapsed)

    def _retrieve_counted_page(
        self,
        collection: Any,
        pipeline: list[dict[str, Any]],
        data_source: MongoDataSource,
        offset: int,
        limit: int | None,
    ) -> RetrievedPage:
        # `$skip: 0` keeps the rows sub-pipeline non-empty, which the server requires.
        rows = [{"$skip": offset}, *page_stages(0, limit)]
        facet = {"$facet": {"rows": rows, "total": [{"$count": "count"}]}}
        with collection.aggregate([*pipeline, facet]) as cursor:
            result = next(cursor, None) or {}

        df = documents_to_frame(result.get("rows", []), data_source.flatten)
        # The server's `$count` yields no document for an empty input; the stand-in yields 0.
        counted = result.get("total") or [{"count": 0}]
        return RetrievedPage(df, int(counted[0]["count"]))

    def describe(self, data_source: Any) -> dict[str, str]:
        """Return the column names and dtypes of the result's first 100 documents."""
        # Documents need not share fields, so one document would miss the later ones.
        page = self._retrieve_page(data_source.rendered(), None, 0, _DESCRIBE_SAMPLE_SIZE, False)
        df = normalize_frame(page.df)
        return {str(name): str(dtype) for name, dtype in df.dtypes.items()}

    def explain(self, data_source: Any, permissions: Permissions | None = None) -> dict[str, Any]:
        """Return the server's plan summary: namespace, winning plan, stages and the pipeline."""
        rendered = data_source.rendered()
        pipeline = build_pipeline(rendered.query, rendered.parameters, permissions)
        command = {"aggregate": rendered.collection, "pipeline": pipeline, "cursor": {}}

        with self._provider_errors(rendered):
            database = self._get_client()[rendered.database]
            plan = database.command("explain", command, verbosity="queryPlanner")
        return _summarize_plan(plan, pipeline)

    def get_model(
        self,
        db_name: str | None = None,
        schema_name: str | None = None,
        table_name: str | None = None,
        exclude_columns: bool = False,
    ) -> list[TableInfo]:
        """List collections with field names and types sampled from their documents."""
        with self._provider_errors(None):
            client = self._get_client()
            databases = [db_name] if db_name else self._user_databases()
            tables: list[TableInfo] = []
            for database in databases:
                names = sorted(client[database].list_collection_names())
                for name in names:
                    if table_name and name != table_name:
                        continue
                    columns = [] if exclude_columns else self._sample_columns(database, name)
                    tables.append(
                        TableInfo(
                            database=database,
                            schema=None,
                            type="collection",
                            name=name,
                            columns=columns,
                        )
                    )
        return tables

    def _status_checks(self) -> list[StatusCheck]:
        """Host resolves, port opens, server answers, credentials accepted, database exists."""
        checks: list[StatusCheck] = []
        address = self._first_address()
        if address is not None:
            checks += host_and_port_checks(*address, timeout=_STATUS_TIMEOUT_MS / 1000)
        checks += [
            StatusCheck("Server answered", self._check_server_answers),
            StatusCheck("Authenticated", self._check_authenticated),
        ]
        if self.database:
            checks.append(StatusCheck("Database exists", self._check_database_exists))
        return checks

    def _check_server_answers(self) -> None:
        pymongo = _import_pymongo()
        # Without credentials, so that a refused login fails the next step, not this one.
        options = self._client_options(with_credentials=False)
        options.update(serverSelectionTimeoutMS=_STATUS_TIMEOUT_MS)
        client = pymongo.MongoClient(**options)
        try:
            client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            raise CheckFailedError(
                f"{self._display_host()} did not answer a ping within "
                f"{_STATUS_TIMEOUT_MS / 1000:g}s: check that it is a MongoDB server."
            ) from exc
        finally:
            client.close()

    def _check_authenticated(self) -> None:
        user = self.username or _uri_username(self.host)
        if not user:
            return
        pymongo = _import_pymongo()
        try:
            self._get_client().admin.command("ping")
        except pymongo.errors.OperationFailure as exc:
            message = (exc.details or {}).get("errmsg") or str(exc)
            raise CheckFailedError(
                f'User "{user}" was refused ({message}): check the user name, the '
                "password and the authentication database."
            ) from exc

    def _check_database_exists(self) -> None:
        if self.database not in self._user_databases():
            raise CheckFailedError(
                f'Database "{self.database}" does not exist on {self._display_host()}: '
                "check its spelling."
            )

    def _get_client(self) -> Any:
        # The client is keyed by its options: after a field changes, a new one is opened.
        options = self._client_options()
        return self._client_slot.get(options, lambda: self._open_client(options))

    def _open_client(self, options: dict[str, Any]) -> Any:
        pymongo = _import_pymongo()
        logger.debug("Opening a MongoDB client for %s", self._display_host())
        return pymongo.MongoClient(**options)

    def _client_options(self, with_credentials: bool = True) -> dict[str, Any]:
        options: dict[str, Any] = {
            "host": self.host if with_credentials else _without_userinfo(self.host),
            "maxPoolSize": self.max_pool_size,
            "connectTimeoutMS": self.connect_timeout_ms,
            "serverSelectionTimeoutMS": self.server_selection_timeout_ms,
            "tz_aware": True,
            "tzinfo": datetime.timezone.utc,
            "appname": "toucan-connectors",
            "connect": False,
        }
        if not _is_uri(self.host) and self.port is not None:
            options["port"] = self.port
        if self.ssl is not None:
            options["tls"] = self.ssl
        if self.tls_key_password is not None:
            options["tlsCertificateKeyFilePassword"] = self.tls_key_password.get_secret_value()
        if with_credentials and self.username:
            options["username"] = self.username
        if with_credentials and self.password is not None:
            # The user name may come from the connection string instead of `username`.
            options["password"] = self.password.get_secret_value()
        return options

    def _first_address(self) -> tuple[str, int] | None:
        if self.host.startswith("mongodb+srv://"):
            return None
        if not _is_uri(self.host):
            return self.host, self.port or _DEFAULT_PORT
        return _uri_address(self.host)

    def _display_host(self) -> str:
        # Never log a connection string: it may hold a password and options.
        if self.host.startswith("mongodb+srv://"):
            return self.host.split("@")[-1].split("/")[0].split("?")[0]
        address = self._first_address()
        return f"{address[0]}:{address[1]}" if address else "MongoDB"

    def _user_databases(self) -> list[str]:
        names = self._get_client().list_database_names()
        return [name for name in names if name not in _SYSTEM_DATABASES]

    def _sample_columns(self, database: str, collection: str) -> list[ColumnInfo]:
        types: dict[str, set[str]] = {}
        documents = self._get_client()[database][collection].find({}, limit=_MODEL_SAMPLE_SIZE)
        for document in documents:
            for key, value in document.items():
                types.setdefault(key, set()).add(bson_type_name(value))
        return [ColumnInfo(name=key, type=_join_types(found)) for key, found in types.items()]

    @contextmanager
    def _provider_errors(self, data_source: MongoDataSource | None) -> Iterator[None]:
        pymongo = _import_pymongo()
        where = f' for data source "{data_source.domain}"' if data_source is not None else ""
        try:
            yield
        except pymongo.errors.ConnectionFailure as exc:
            if not is_transient_failure(exc):
                raise ConnectionFailedError(
                    f"MongoDB at {self._display_host()} refused the TLS handshake{where} "
                    f"({exc}): check `ssl` (whether the server speaks TLS) and the certificate "
                    "options of the connection string (`tlsCAFile`, `tlsCertificateKeyFile`).",
                    transient=False,
                ) from exc
            raise ConnectionFailedError(
                f"MongoDB at {self._display_host()} could not be reached{where} ({exc}): "
                "check the host, the port and that the server is running."
            ) from exc
        except pymongo.errors.OperationFailure as exc:
            message = (exc.details or {}).get("errmsg") or str(exc)
            if is_refused_login(exc):
                raise ConnectionFailedError(
                    f"MongoDB at {self._display_host()} refused the login{where}: {message} "
                    f"(code {exc.code}). Check the user name, the password and the "
                    "authentication database (`authSource`) with get_status().",
                    transient=False,
                ) from exc
            raise ProviderError(
                f"MongoDB refused the request{where}: {message} (code {exc.code}). Fix the "
                "query or check the user's rights."
            ) from exc
        except pymongo.errors.ConfigurationError as exc:
            raise InvalidConfigurationError(
                f"MongoDB at {self._display_host()} could not be configured{where} ({exc}): "
                "check the host name (for mongodb+srv://, its DNS records) and the options."
            ) from exc
        except pymongo.errors.InvalidOperation as exc:
            raise ProviderError(f"MongoDB client error{where}: {exc}.") from exc


def is_refused_login(error: BaseException) -> bool:
    """Tell whether a server error says the credentials were refused, which retrying cannot cure."""
    code = getattr(error, "code", None)
    return code in _LOGIN_REFUSED_CODES


def is_transient_failure(error: BaseException) -> bool:
    """Tell whether a connection failure may pass on its own (a TLS handshake refused will not)."""
    text = str(error).lower()
    return not any(sign in text for sign in _PERMANENT_CONNECTION_SIGNS)


class _ClientSlot:
    """Holds a connector's client with a digest of the options it was opened with.

    Copies and pickles of a slot start empty: a client (and its lock) belongs to one connector.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: Any = None
        self._fingerprint: str | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> _ClientSlot:
        return _ClientSlot()

    def __reduce__(self) -> tuple[type[_ClientSlot], tuple[()]]:
        return _ClientSlot, ()

    def get(self, options: Mapping[str, Any], open_client: Callable[[], Any]) -> Any:
        """Return the client opened for `options`, replacing one opened for other options."""
        fingerprint = _fingerprint(options)
        stale = None
        with self._lock:
            if self._client is not None and self._fingerprint != fingerprint:
                stale, self._client = self._client, None
            if self._client is None:
                self._client, self._fingerprint = open_client(), fingerprint
            client = self._client
        if stale is not None:
            logger.debug("The connector's options changed: closing the client opened before")
            stale.close()
        return client

    def close(self) -> None:
        """Close the client, if one is open."""
        with self._lock:
            client, self._client, self._fingerprint = self._client, None, None
        if client is not None:
            client.close()


def _fingerprint(options: Mapping[str, Any]) -> str:
    """Return a digest of client options (they hold the password, so never the options)."""
    text = repr(sorted((key, repr(value)) for key, value in options.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _import_pymongo() -> Any:
    pymongo = import_optional("pymongo", connector="MongoDB", extra="mongo")
    return pymongo


def _uri_username(host: str) -> str | None:
    if not _is_uri(host):
        return None
    userinfo, at, _ = _uri_authority(host).rpartition("@")
    if not at:
        return None
    return unquote(userinfo.partition(":")[0]) or None


def _without_userinfo(host: str) -> str:
    if not _is_uri(host) or "@" not in _uri_authority(host):
        return host
    scheme, rest = host.split("://", 1)
    authority = _uri_authority(host)
    return f"{scheme}://{authority.rpartition('@')[2]}{rest[len(authority) :]}"


def _uri_password(host: str) -> bool:
    userinfo, at, _ = _uri_authority(host).rpartition("@")
    return bool(at) and ":" in userinfo


def _uri_authority(uri: str) -> str:
    return uri.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]


def _check_no_secret_options(host: str) -> None:
    """Refuse connection string options that carry a secret (they would show in dumps)."""
    query = host.split("?", 1)[1] if "?" in host else ""
    for option in query.replace(";", "&").split("&"):
        written, _, value = option.partition("=")
        name = unquote(written).lower()
        if name in _SECRET_OPTIONS:
            raise ValueError(
                f"the connection string holds the secret option {unquote(written)}: remove it "
                "and set `tls_key_password` (a secret) instead"
            )
        if name == "authmechanismproperties" and "aws_session_token" in unquote(value).lower():
            raise ValueError(
                "the connection string holds an AWS_SESSION_TOKEN: remove it from "
                "authMechanismProperties and set the AWS_SESSION_TOKEN environment variable, "
                "which the driver reads (with the access key in `username` and the secret key "
                "in `password`)"
            )


def _check_uri_syntax(host: str) -> None:
    """Parse the connection string as the driver will, without any DNS query."""
    try:
        pymongo = import_optional("pymongo", connector="MongoDB", extra="mongo")
    except ImportError:
        return  # Checked when the client opens, once the extra is installed.
    validate = _uri_validator(pymongo)
    if validate is None and host.startswith("mongodb+srv://"):
        return
    try:
        if validate is not None:
            validate(host, validate=True, warn=False)
        else:
            pymongo.uri_parser.parse_uri(host, validate=True, warn=False)
    except (pymongo.errors.ConfigurationError, ValueError, TypeError) as exc:
        raise ValueError(
            f"the connection string is malformed ({exc}): fix it, see "
            "https://www.mongodb.com/docs/manual/reference/connection-string/"
        ) from None


def _uri_validator(pymongo: Any) -> Callable[..., Any] | None:
    # pymongo 4.12+ parses a connection string without resolving mongodb+srv:// names.
    try:
        shared = importlib.import_module("pymongo.uri_parser_shared")
    except ImportError:
        return None
    validator: Callable[..., Any] | None = getattr(shared, "_validate_uri", None)
    return validator


def _uri_address(uri: str) -> tuple[str, int]:
    # The first host of `mongodb://user:pw@host1:port1,host2/db?options`, read without pymongo
    # so that a malformed string fails the status step that connects, not the whole status.
    authority = _uri_authority(uri)
    first = authority.rsplit("@", 1)[-1].split(",", 1)[0]
    if first.startswith("["):
        host, _, rest = first[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = first.partition(":")
    return unquote(host), int(port) if port.isdigit() else _DEFAULT_PORT


def _chunks(documents: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Yield the documents in lists of `size`, the last one possibly shorter."""
    iterator = iter(documents)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _align_columns(df: pd.DataFrame, seen: dict[str, None]) -> pd.DataFrame:
    """Return `df` with every column of earlier batches, in first-seen order, null where absent."""
    seen.update(dict.fromkeys(df.columns))
    missing = [name for name in seen if name not in df.columns]
    if not missing:
        return df[list(seen)] if list(df.columns) != list(seen) else df
    nulls = pd.DataFrame({name: [None] * len(df) for name in missing}, index=df.index, dtype=object)
    return pd.concat([df, nulls], axis=1)[list(seen)]


def _to_record_batch(df: pd.DataFrame) -> Any:
    """Return a frame as one Arrow record batch."""
    pa = import_optional("pyarrow", connector="MongoDB", extra="fast")
    try:
        return pa.RecordBatch.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise UnsupportedFeatureError(
            f'The "MongoConnector" connector cannot return this batch as Arrow ({exc}): '
            "use as_arrow=False; see doc/fast_path.md."
        ) from exc


def _is_uri(host: str) -> bool:
    return host.startswith(("mongodb://", "mongodb+srv://"))


def _join_types(found: set[str]) -> str:
    present = found - {"null"} or found
    return "|".join(sorted(present))


def _summarize_plan(plan: Mapping[str, Any], pipeline: list[dict[str, Any]]) -> dict[str, Any]:
    stages = list(plan.get("stages") or [])
    planner = plan.get("queryPlanner")
    if planner is None and stages:
        planner = stages[0].get("$cursor", {}).get("queryPlanner")
    planner = planner or {}
    winning = planner.get("winningPlan") or {}
    winning = winning.get("queryPlan", winning)

    return {
        "namespace": planner.get("namespace"),
        "winning_plan": " <- ".join(_plan_stage_names(winning)),
        "stages": [next(iter(stage)) for stage in stages] or ["$cursor"],
        "pipeline": to_python(pipeline),
    }


def _plan_stage_names(plan: Mapping[str, Any]) -> list[str]:
    names = [str(plan["stage"])] if "stage" in plan else []
    if "inputStage" in plan:
        names += _plan_stage_names(plan["inputStage"])
    for child in plan.get("inputStages", []):
        names += _plan_stage_names(child)
    return names
