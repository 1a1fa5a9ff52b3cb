"""The Amazon Redshift connector."""

from toucan_connectors.redshift.redshift_database_connector import (
    RedshiftConnector,
    RedshiftDataSource,
)

__all__ = ["RedshiftConnector", "RedshiftDataSource"]
