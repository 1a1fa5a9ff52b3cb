"""Row-level permissions: a tree of conditions, rendered and translated for each backend.

A permission tree is made of leaves ``{"column": ..., "operator": ..., "value": ...}`` joined by
``{"and": [...]}`` or ``{"or": [...]}``. Translators turn a tree into a pandas mask
(`pandas_filter`), a SQLAlchemy predicate (`sql_filter`) or a MongoDB ``$match`` (`mongo_filter`).
"""

from __future__ import annotations

from toucan_connectors.permissions.model import (
    OPERATORS,
    Condition,
    Group,
    PermissionNode,
    parse_permissions,
    to_number,
)

__all__ = ["OPERATORS", "Condition", "Group", "PermissionNode", "parse_permissions", "to_number"]
