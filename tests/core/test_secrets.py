from __future__ import annotations

import pandas as pd
import pytest
from pydantic import SecretStr, ValidationError

from toucan_connectors.toucan_connector import ToucanConnector, ToucanDataSource


class QueryDataSource(ToucanDataSource):
    query: str


class SecretConnector(ToucanConnector, data_source_model=QueryDataSource):
    host: str
    port: int
    password: SecretStr

    def _retrieve_data(self, data_source: QueryDataSource) -> pd.DataFrame:
        return pd.DataFrame()


def test_validation_errors_never_repeat_a_password():
    with pytest.raises(ValidationError) as caught:
        SecretConnector(name="shop", password="hunter2", port="not a port")

    assert "hunter2" not in str(caught.value)
    assert "port\n  Input should be a valid integer" in str(caught.value)
