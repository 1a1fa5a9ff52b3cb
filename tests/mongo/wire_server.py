"""A MongoDB stand-in for tests: MockupDB speaks the wire protocol, mongomock runs the commands.

pymongo's real `MongoClient` connects to it over a TCP socket on 127.0.0.1. It answers with
mongomock's semantics, has no authentication (any credentials are refused) and keeps cursors
in memory so that `getMore` serves results batch by batch, as a server does.
"""

from __future__ import annotations

import datetime
import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import mongomock
from bson import SON
from mockupdb import MockupDB

_WIRE_VERSION = 21  # MongoDB 7.0
_DEFAULT_BATCH = 101
_HIDDEN_DATABASES = ("admin", "config", "local")


class MongoWireServer:
    """A MongoDB wire-protocol server on 127.0.0.1 backed by an in-memory mongomock client."""

    def __init__(self) -> None:
        self.client: mongomock.MongoClient = mongomock.MongoClient()
        self.commands: list[str] = []
        self._server = MockupDB(port=None, request_timeout=int(1e6))
        self._server.autoresponds(self._handle)
        self._cursors: dict[int, deque[dict[str, Any]]] = {}
        self._cursor_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._handlers: dict[str, Callable[[Any, str, dict[str, Any]], dict[str, Any]]] = {
            "hello": self._hello,
            "ismaster": self._hello,
            "buildinfo": self._build_info,
            "ping": self._ok,
            "endsessions": self._ok,
            "connectionstatus": self._connection_status,
            "saslstart": self._refuse_credentials,
            "authenticate": self._refuse_credentials,
            "find": self._find,
            "aggregate": self._aggregate,
            "getmore": self._get_more,
            "killcursors": self._kill_cursors,
            "count": self._count,
            "insert": self._insert,
            "delete": self._delete,
            "create": self._create,
            "drop": self._drop,
            "dropdatabase": self._drop_database,
            "listdatabases": self._list_databases,
            "listcollections": self._list_collections,
            "explain": self._explain,
        }

    @property
    def port(self) -> int:
        """The listening port."""
        return int(self._server.port)

    @property
    def uri(self) -> str:
        """The connection string of the server."""
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start listening."""
        self._server.run()

    def stop(self) -> None:
        """Stop listening and close the client connections."""
        self._server.stop()

    def _handle(self, request: Any) -> bool:
        doc = dict(request.doc)
        name = next(iter(doc), "")
        with self._lock:
            self.commands.append(name)
        handler = self._handlers.get(name.lower())
        if handler is None:
            return bool(
                request.command_err(59, f"no such command: '{name}'", codeName="CommandNotFound")
            )
        try:
            reply = handler(request, request.namespace, doc)
        except mongomock.OperationFailure as exc:
            return bool(request.command_err(exc.code or 2, str(exc)))
        except NotImplementedError as exc:
            return bool(request.command_err(2, f"stand-in lacks this feature: {exc}"))
        return bool(request.replies(reply))

    def _hello(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "ismaster": True,
            "isWritablePrimary": True,
            "helloOk": True,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000,
            "localTime": datetime.datetime.now(datetime.timezone.utc),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": 1,
            "minWireVersion": 0,
            "maxWireVersion": _WIRE_VERSION,
        }

    def _build_info(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {"version": "7.0.0", "versionArray": [7, 0, 0, 0]}

    def _ok(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _connection_status(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}}

    def _refuse_credentials(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        raise mongomock.OperationFailure("Authentication failed.", code=18)

    def _find(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        collection = self.client[db][doc["find"]]
        cursor = collection.find(doc.get("filter") or {}, doc.get("projection"))
        if doc.get("sort"):
            cursor = cursor.sort(list(doc["sort"].items()))
        if doc.get("skip"):
            cursor = cursor.skip(doc["skip"])
        if doc.get("limit"):
            cursor = cursor.limit(abs(doc["limit"]))
        return self._open_cursor(db, doc["find"], deque(cursor), doc.get("batchSize"), doc)

    def _aggregate(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        pipeline = [dict(stage) for stage in doc["pipeline"]]
        if doc.get("explain"):
            return self._plan(db, doc["aggregate"], pipeline)
        results = self.client[db][doc["aggregate"]].aggregate(pipeline)
        batch_size = (doc.get("cursor") or {}).get("batchSize")
        return self._open_cursor(db, doc["aggregate"], deque(results), batch_size, doc)

    def _get_more(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        cursor_id = doc["getMore"]
        with self._lock:
            results = self._cursors.get(cursor_id)
        if results is None:
            raise mongomock.OperationFailure(f"cursor id {cursor_id} not found", code=43)
        batch, more = _take(results, doc.get("batchSize") or _DEFAULT_BATCH)
        if not more:
            with self._lock:
                self._cursors.pop(cursor_id, None)
        namespace = f"{db}.{doc['collection']}"
        return {"cursor": {"id": cursor_id if more else 0, "ns": namespace, "nextBatch": batch}}

    def _kill_cursors(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for cursor_id in doc["cursors"]:
                self._cursors.pop(cursor_id, None)
        return {"cursorsKilled": doc["cursors"], "cursorsNotFound": [], "cursorsAlive": []}

    def _count(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {"n": self.client[db][doc["count"]].count_documents(doc.get("query") or {})}

    def _insert(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        documents = [dict(item) for item in doc["documents"]]
        self.client[db][doc["insert"]].insert_many(documents)
        return {"n": len(documents)}

    def _delete(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        collection = self.client[db][doc["delete"]]
        removed = sum(collection.delete_many(item["q"]).deleted_count for item in doc["deletes"])
        return {"n": removed}

    def _create(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        self.client[db].create_collection(doc["create"])
        return {}

    def _drop(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        self.client[db].drop_collection(doc["drop"])
        return {}

    def _drop_database(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        self.client.drop_database(db)
        return {}

    def _list_databases(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        names = [
            name for name in self.client.list_database_names() if name not in _HIDDEN_DATABASES
        ]
        databases = [{"name": name, "sizeOnDisk": 1, "empty": False} for name in names]
        return {"databases": databases, "totalSize": len(databases)}

    def _list_collections(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        names = self.client[db].list_collection_names() if db in self._databases() else []
        wanted = (doc.get("filter") or {}).get("name")
        infos = [
            {"name": name, "type": "collection", "options": {}, "info": {"readOnly": False}}
            for name in sorted(names)
            if wanted is None or name == wanted
        ]
        return {"cursor": {"id": 0, "ns": f"{db}.$cmd.listCollections", "firstBatch": infos}}

    def _explain(self, request: Any, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        command = dict(doc["explain"])
        if "aggregate" in command:
            pipeline = [dict(stage) for stage in command["pipeline"]]
            return self._plan(db, command["aggregate"], pipeline)
        match = [{"$match": command.get("filter") or {}}]
        return self._plan(db, command.get("find", command.get("count", "")), match)

    def _plan(self, db: str, collection: str, pipeline: list[dict[str, Any]]) -> dict[str, Any]:
        # A real server reports its chosen plan; the stand-in has no indexes, so it always
        # describes a collection scan followed by the remaining stages.
        query_planner = {
            "namespace": f"{db}.{collection}",
            "parsedQuery": pipeline[0].get("$match", {}) if pipeline else {},
            "winningPlan": {"stage": "COLLSCAN"},
            "rejectedPlans": [],
        }
        stages: list[dict[str, Any]] = [{"$cursor": {"queryPlanner": query_planner}}]
        stages.extend(stage for stage in pipeline if "$match" not in stage)
        return {"explainVersion": "1", "stages": stages, "command": {"aggregate": collection}}

    def _open_cursor(
        self,
        db: str,
        collection: str,
        results: deque[dict[str, Any]],
        batch_size: int | None,
        doc: dict[str, Any],
    ) -> dict[str, Any]:
        size = _DEFAULT_BATCH if batch_size is None else batch_size
        batch, more = _take(results, size)
        cursor_id = 0
        if more and not doc.get("singleBatch"):
            cursor_id = next(self._cursor_ids)
            with self._lock:
                self._cursors[cursor_id] = results
        namespace = f"{db}.{collection}"
        return {"cursor": {"id": cursor_id, "ns": namespace, "firstBatch": batch}}

    def _databases(self) -> list[str]:
        return list(self.client.list_database_names())


def _take(results: deque[dict[str, Any]], size: int) -> tuple[list[Any], bool]:
    batch = [SON(results.popleft()) for _ in range(min(size, len(results)))]
    return batch, bool(results)
