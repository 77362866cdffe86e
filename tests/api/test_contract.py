"""Property: any response to any request has a status and a content type that the OpenAPI document lists.

Requests are drawn from everything a client could send: documented and undocumented paths and methods, path
parameters of any text, known and unknown query parameters with any values, any body in any media type, any
``Accept``. A documented operation must answer with one of its documented statuses and that status's media
type; an undocumented method on a documented path is a 405 problem, an undocumented path a 404 problem.
Also: the document covers every route the app serves, and every example in it is valid against its schema.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

import jsonschema_rs
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROBLEM = "application/problem+json"
METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")
UNDOCUMENTED_ROUTES = {"/", "/static/<filename>"}


@pytest.fixture(scope="module")
def spec(app: Flask) -> dict[str, Any]:
    return app.test_client().get("/openapi.json").json


def _template_regex(path: str, item: dict[str, Any]) -> re.Pattern[str]:
    """A regex for a path template: integer parameters match digits (the app's routes say so), others any segment."""
    integers = {p["name"] for op in item.values() for p in op.get("parameters", [])
                if p["in"] == "path" and p["schema"].get("type") == "integer"}
    pattern = re.escape(path)
    for name in re.findall(r"\{([^}]+)\}", path):
        pattern = pattern.replace(re.escape("{" + name + "}"), "[0-9]+" if name in integers else "[^/]+")
    return re.compile("^" + pattern + "$")


def _operation(spec: dict[str, Any], path: str, method: str) -> tuple[bool, dict[str, Any] | None]:
    """Whether a documented template matches the path, and the operation of ``method`` there.

    The most specific template with that method wins (``GET /v1/codes/batch`` decodes the code ``batch``, as
    the app's router does, since ``/v1/codes/batch`` has only ``POST``).
    """
    matches = [(template, item) for template, item in spec["paths"].items()
               if _template_regex(template, item).match(path)]
    matches.sort(key=lambda pair: pair[0].count("{"))  # a literal segment beats a parameter
    for _template, item in matches:
        if method.lower() in item:
            return True, item[method.lower()]
    return bool(matches), None


def _paths(spec: dict[str, Any]) -> st.SearchStrategy[str]:
    segment = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"),
                      min_size=1, max_size=12)

    def fill(template: str, values: list[str]) -> str:
        it = iter(values)
        return re.sub(r"\{[^}]+\}", lambda _m: quote(next(it), safe=""), template)

    documented = st.sampled_from(sorted(spec["paths"])).flatmap(
        lambda template: st.lists(segment, min_size=template.count("{"), max_size=template.count("{")).map(
            lambda values: fill(template, values)))
    junk = st.lists(segment, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(quote(p) for p in parts))
    return st.one_of(documented, documented, documented, junk, st.sampled_from(["/v1", "/v1/", "/v1/codes"]))


def _queries(spec: dict[str, Any]) -> st.SearchStrategy[dict[str, str]]:
    names = sorted({p["name"] for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)
                    for p in op.get("parameters", [])} | {"unknown", "x"})
    values = st.one_of(st.sampled_from(["", "0", "1", "-1", "21.03", "105.8", "1e309", "nan", "true", "geojson",
                                        "json", "01", "00004", "W5Y7DH420Y", "105.8,21.0,105.9,21.1", "21,105"]),
                       st.text(max_size=20))
    return st.dictionaries(st.sampled_from(names), values, max_size=4)


BODIES = st.one_of(
    st.none(),
    st.builds(lambda v: ("application/json", json.dumps(v).encode()),
              st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=10)),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                               st.sampled_from(["points", "encode", "decode", "addresses", "address", "lat", "lon",
                                                "k", "crs", "name", "kind", "x"]), inner, max_size=4),
                           max_leaves=12)),
    st.tuples(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
              st.binary(max_size=40)),
)
ACCEPTS = st.sampled_from([None, "application/json", "application/geo+json", "text/html", "*/*", "image/png",
                           "application/geo+json, application/json;q=0.5"])


def test_every_route_is_documented(app: Flask, spec: dict[str, Any]) -> None:
    documented = {re.sub(r"\{([^}]+)\}", r"<\1>", path): {m.upper() for m in item} for path, item in
                  spec["paths"].items()}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule)
        if path in UNDOCUMENTED_ROUTES:
            continue
        assert path in documented, f"{rule.rule} is not in the OpenAPI document"
        assert set(rule.methods or ()) - {"HEAD", "OPTIONS"} <= documented[path], rule.rule


def test_every_example_matches_its_schema(spec: dict[str, Any]) -> None:
    def check(schema: dict[str, Any], example: Any, where: str) -> None:
        validator = jsonschema_rs.validator_for({**schema, "components": spec["components"]})
        errors = [str(error) for error in validator.iter_errors(example)]
        assert not errors, f"{where}: {errors}"

    for name, schema in spec["components"]["schemas"].items():
        if "example" in schema:
            check(schema, schema["example"], name)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    if "example" in content:
                        check(content["schema"], content["example"], f"{method} {path} {code} {media}")


def test_any_request_gets_a_documented_status_and_type(app: Flask, spec: dict[str, Any]) -> None:
    client = app.test_client()

    @given(method=st.sampled_from(METHODS), path=_paths(spec), query=_queries(spec), body=BODIES, accept=ACCEPTS)
    @settings(max_examples=250, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(method: str, path: str, query: dict[str, str], body: tuple[str, bytes] | None,
            accept: str | None) -> None:
        headers = {"Accept": accept} if accept else {}
        kwargs: dict[str, Any] = {}
        if body is not None and method in ("POST", "PATCH", "PUT", "DELETE"):
            headers["Content-Type"] = body[0]
            kwargs["data"] = body[1]
        url = path + ("?" + urlencode(query) if query else "")
        response = client.open(url, method=method, headers=headers, **kwargs)
        known, operation = _operation(spec, path.split("?")[0], method)
        status = str(response.status_code)
        if not known:
            assert response.status_code == 404 and response.mimetype == PROBLEM, (method, url, status)
            return
        if operation is None:
            assert response.status_code == 405 and response.mimetype == PROBLEM, (method, url, status)
            return
        documented = operation["responses"]
        assert status in documented, f"{method} {url}: {status} is not documented ({sorted(documented)})"
        media = documented[status].get("content", {})
        if media:
            assert response.mimetype in media, f"{method} {url}: {response.mimetype} not in {sorted(media)}"
        else:
            assert not response.data, f"{method} {url}: {status} should have no body"

    run()
