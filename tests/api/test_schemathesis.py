"""Schemathesis against ``/openapi.json``: no server error and no answer outside the document, for every operation.

Bounded for CI: ``VPOSTCODE_SCHEMATHESIS_EXAMPLES`` examples per operation and mode (default 10), positive data
and negative (schema-violating) data, writes with an API key. Operations that compute for seconds per distinct
input (the coverage map, site suggestions) get a quarter of that. Run it harder locally with a larger value.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.config import SchemathesisConfig

from api import create_app
from tests.api.conftest import POINTS
from vpostcode.features import add_point
from vpostcode.store import open_store

EXAMPLES = int(os.environ.get("VPOSTCODE_SCHEMATHESIS_EXAMPLES", "10"))
SLOW = {"GET /v1/coverage/map.png", "POST /v1/coverage/suggest"}
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, st_checks.negative_data_rejection]


@pytest.fixture(scope="module")
def st_store_url(tmp_path_factory: pytest.TempPathFactory, gazetteer: Any) -> str:
    """A store of the fuzzer's own: its writes (with valid keys) must not touch the other tests' points."""
    url = f"sqlite:///{tmp_path_factory.mktemp('st-store') / 'vpostcode.sqlite'}"
    with open_store(url) as store:
        for record in POINTS:
            add_point(store, record)
    return url


@pytest.fixture(scope="module")
def st_keys(st_store_url: str) -> dict[str, str]:
    """Write keys in the fuzzer's store."""
    with open_store(st_store_url) as store:
        return {"points": store.create_key("fuzz points", ["points:write"])[1],
                "registry": store.create_key("fuzz registry", ["registry:write", "registry:private"])[1]}


@pytest.fixture(scope="module")
def st_schema(st_store_url: str) -> Any:
    """The document of an app of its own (small limits for the slow operations), loaded by schemathesis."""
    app = create_app({"database_url": st_store_url, "rate_limits_enabled": False, "TESTING": True, "gzip": False,
                      "max_suggest_k": 3, "max_suggest_seconds": 2.0})
    # 413 is a rejection too: a batch over its documented maxItems is refused with batch-too-large
    config = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]}}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


def _labels() -> list[str]:
    """Every documented operation as ``METHOD /path`` (from the document of a settings-only build, no data)."""
    from api.config import Settings
    from api.openapi import build

    paths = build(Settings())["paths"]
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item if method != "parameters"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize("label", _labels())
def test_operation_conforms_to_the_document(st_schema: Any, st_keys: dict[str, str], label: str,
                                            mode: GenerationMode) -> None:
    method, path = label.split(" ", 1)
    operation = st_schema[path][method]
    raw = operation.definition.raw
    if mode is GenerationMode.NEGATIVE and not raw.get("parameters") and "requestBody" not in raw:
        pytest.skip("nothing to make invalid: the operation takes no input")
    headers = {}
    if operation.definition.raw.get("x-required-scope"):
        scope = operation.definition.raw["x-required-scope"]
        headers["Authorization"] = f"Bearer {st_keys['points' if scope == 'points:write' else 'registry']}"
    examples = max(2, EXAMPLES // 4) if label in SLOW else EXAMPLES
    checks = NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else CHECKS

    @given(data=st.data())
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode))
        case.call_and_validate(headers=headers, checks=checks)

    run()
