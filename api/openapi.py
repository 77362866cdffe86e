"""The OpenAPI 3.1 description of the service, built from this module's tables when first asked for.

Every operation lists every status it can answer with (``tests/api`` checks that any response to any request has
a documented status and content type, and schemathesis checks the bodies against the schemas). Error answers
are RFC 9457 problems (``Problem``); their ``type`` values are listed in ``x-problem-types`` and served at
``/problems``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Final

from flask import Flask

from api.auth import SCOPES
from api.config import Settings
from api.errors import PROBLEM_JSON, problem_types
from vpostcode import __version__

JSON: Final = "application/json"
GEOJSON: Final = "application/geo+json"
SPEC_EXTENSION: Final = "vpostcode.openapi"

# ------------------------------------------------------------------------------------------------ schema helpers


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> dict[str, Any]:
    """A JSON-Schema type that may also be null (OpenAPI 3.1 style)."""
    return {"type": [kind, "null"], **extra}


def obj(properties: dict[str, Any], required: list[str] | None = None, *, closed: bool = False,
        **extra: Any) -> dict[str, Any]:
    """An object schema; ``required`` defaults to every property (answers always carry all their fields)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def array(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An array schema."""
    return {"type": "array", "items": items, **extra}


STR: Final = {"type": "string"}
NUM: Final = {"type": "number"}
INT: Final = {"type": "integer"}
BOOL: Final = {"type": "boolean"}
NSTR: Final = nullable("string")
NNUM: Final = nullable("number")
COMMUNE_CODE: Final = {"type": "string", "pattern": "^[0-9]{5}$", "example": "00004"}

EXAMPLE_REVERSE: Final = {
    "lat": 21.0336, "lon": 105.8144, "commune_code": "00008", "commune_name": "Phường Ngọc Hà",
    "province_code": "01", "province_name": "Thành phố Hà Nội", "postal_code": "11119",
    "address_code": "W5Y7DH420Y", "local_code": "11119-7DH420Y", "match": "inside", "distance_m": 0.0,
    "also_in": [],
}
EXAMPLE_ENCODE: Final = {"code": "W5Y7DH420Y", "display": "W5Y7-DH4-20Y", "local_code": "11119-7DH420Y",
                         "commune_code": "00008", "lat": 21.0336, "lon": 105.8144, "cell_m": [0.52, 0.492]}
EXAMPLE_DECODE: Final = {"code": "W5Y7DH420Y", "display": "W5Y7-DH4-20Y", "lat": 21.03360222222222,
                         "lon": 105.8144025, "south": 21.0336, "west": 105.8144, "north": 21.033604444444446,
                         "east": 105.814405, "length": 10, "commune_code": "00008", "local_code": "11119-7DH420Y"}
EXAMPLE_CANDIDATE: Final = {
    "commune_code": "00004", "commune_name": "Phường Ba Đình", "province_code": "01",
    "province_name": "Thành phố Hà Nội", "postal_code": "11120", "lat": 21.039446, "lon": 105.836365,
    "precision": "commune", "confidence": 0.99, "match_type": "normalised",
    "standard_address": "Phường Ba Đình, Thành phố Hà Nội", "legacy_code": None, "share": None,
}
EXAMPLE_PROVINCE: Final = {"code": "01", "name": "Hà Nội", "name_en": "Hanoi", "full_name": "Thành phố Hà Nội",
                           "full_name_en": "Hanoi City", "postal_prefixes": ["10", "11", "12", "13", "14"],
                           "area_km2": 3359.84, "population": 8811473, "commune_count": 126}
EXAMPLE_COMMUNE: Final = {
    "code": "00004", "name": "Ba Đình", "name_en": "Ba Dinh", "full_name": "Phường Ba Đình",
    "full_name_en": "Ba Dinh Ward", "type": "phường", "province_code": "01", "province_name": "Thành phố Hà Nội",
    "postal_code": "11120", "area_km2": 2.97, "population": 65023, "rep_lat": 21.039446, "rep_lon": 105.836365,
    "bbox": [21.02789, 105.82066, 21.04776, 105.84726],
    "legacy_units": [{"code": "00004", "name": "Phường Trúc Bạch", "level": "ward", "share": "full"}],
}
EXAMPLE_POINT: Final = {
    "id": 1, "source": "vnpost_offices", "source_key": "100000", "kind": "post_office",
    "name": "Bưu cục Ba Đình", "lat": 21.0394, "lon": 105.8364, "address": "Phường Ba Đình, Hà Nội",
    "commune_code": "00004", "precision": "exact", "staffed": True, "opening_hours": None,
    "created_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-01T00:00:00+00:00", "distance_m": None,
}
EXAMPLE_PROBLEM: Final = {"type": "/problems/invalid-code", "title": "Invalid code", "status": 400,
                          "detail": "wrong check character in 'W5Y7DH42Y0': a character is mistyped or two are "
                                    "swapped", "instance": "/v1/codes/W5Y7DH42Y0",
                          "invalid-params": [{"name": "code", "reason": "wrong check character"}],
                          "suggestions": ["W5Y7DH420Y"]}


def _schemas() -> dict[str, Any]:
    """Every component schema."""
    geometry = obj({"type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString",
                                                        "Polygon", "MultiPolygon", "GeometryCollection"]},
                    "coordinates": {"type": "array"}}, ["type"],
                   description="A GeoJSON geometry (RFC 7946), WGS84 longitude/latitude.")
    commune_props = {
        "code": COMMUNE_CODE, "name": STR, "name_en": STR, "full_name": STR, "full_name_en": STR, "type": STR,
        "province_code": STR, "province_name": STR, "postal_code": NSTR, "area_km2": NUM, "population": INT,
        "rep_lat": NUM, "rep_lon": NUM,
        "bbox": array(NUM, minItems=4, maxItems=4, description="south, west, north, east"),
        "legacy_units": array(obj({"code": STR, "name": STR, "level": STR, "share": STR})),
    }
    candidate = obj({
        "commune_code": STR, "commune_name": STR, "province_code": STR, "province_name": STR,
        "postal_code": NSTR, "lat": NUM, "lon": NUM,
        "precision": {"type": "string", "enum": ["address_code", "commune"]}, "confidence": NUM,
        "match_type": {"type": "string",
                       "enum": ["exact", "normalised", "fuzzy", "legacy_converted", "legacy_partial"]},
        "standard_address": STR, "legacy_code": NSTR, "share": NSTR,
    }, example=EXAMPLE_CANDIDATE)
    reverse_props = {
        "lat": NUM, "lon": NUM, "commune_code": NSTR, "commune_name": NSTR, "province_code": NSTR,
        "province_name": NSTR, "postal_code": NSTR, "address_code": NSTR, "local_code": NSTR,
        "match": {"type": "string", "enum": ["none", "inside", "overlap", "nearest", "invalid"]},
        "distance_m": NNUM, "also_in": array(STR),
    }
    point_props = {
        "id": INT, "source": STR, "source_key": STR,
        "kind": {"type": "string", "enum": ["post_office", "commune_cultural_post_office", "agent", "locker"]},
        "name": STR, "lat": NUM, "lon": NUM, "address": NSTR, "commune_code": NSTR,
        "precision": {"type": "string", "enum": ["exact", "address", "commune"]}, "staffed": BOOL,
        "opening_hours": {}, "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"}, "distance_m": NNUM,
    }
    writable = {
        "source": {"type": "string", "minLength": 1, "maxLength": 64},
        "source_key": {"type": "string", "minLength": 1, "maxLength": 128},
        "kind": point_props["kind"], "name": {"type": "string", "minLength": 1, "maxLength": 300},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "address": nullable("string", maxLength=1000), "commune_code": nullable("string", pattern="^[0-9]{5}$"),
        "precision": point_props["precision"], "staffed": BOOL, "opening_hours": {},
    }
    lat_lon_item = {"oneOf": [array(NUM, minItems=2, maxItems=2),
                              obj({"lat": NUM, "lon": NUM})]}
    return {
        "Problem": obj({
            "type": {"type": "string", "format": "uri-reference", "example": "/problems/invalid-code"},
            "title": STR, "status": {"type": "integer", "minimum": 400, "maximum": 599}, "detail": STR,
            "instance": NSTR,
            "invalid-params": array(obj({"name": STR, "reason": STR})),
            "suggestions": array(STR), "candidates": array({"type": "object"}),
            "retry_after": INT, "required_scope": STR, "max_items": INT, "reason": STR,
        }, ["type", "title", "status", "detail"], example=EXAMPLE_PROBLEM,
            description="An RFC 9457 problem; `type` is `/problems/<slug>` (see `x-problem-types`)."),
        "Geometry": geometry,
        "Feature": obj({"type": {"const": "Feature"}, "geometry": {"oneOf": [ref("Geometry"), {"type": "null"}]},
                        "properties": {"type": ["object", "null"]}, "id": {"type": ["string", "integer"]},
                        "bbox": array(NUM)}, ["type", "geometry", "properties"]),
        "FeatureCollection": obj({"type": {"const": "FeatureCollection"}, "features": array(ref("Feature"))},
                                 ["type", "features"]),
        "ReverseResult": obj(reverse_props, example=EXAMPLE_REVERSE),
        "ReverseRow": obj({**{k: (nullable("number") if k in ("lat", "lon") else v) for k, v in reverse_props.items()},
                           "error": NSTR}),
        "ReverseBatchRequest": obj({"points": array(lat_lon_item, maxItems=10_000),
                                    "crs": {"type": ["string", "integer"], "default": "EPSG:4326"}}, ["points"],
                                   example={"points": [[21.0336, 105.8144], {"lat": 10.7769, "lon": 106.7009}]}),
        "ReverseBatch": obj({"results": array(ref("ReverseRow"))}),
        "EncodeResult": obj({"code": STR, "display": STR, "local_code": NSTR, "commune_code": NSTR, "lat": NUM,
                             "lon": NUM, "cell_m": array(NUM, minItems=2, maxItems=2)}, example=EXAMPLE_ENCODE),
        "LocalResolution": obj({"local_code": STR, "code": STR, "postal_code": STR, "scheme": STR,
                                "unit_code": STR, "commune_candidates": array(STR),
                                "alternatives": array({"type": "object"})}),
        "DecodeResult": obj({"code": STR, "display": STR, "lat": NUM, "lon": NUM, "south": NUM, "west": NUM,
                             "north": NUM, "east": NUM, "length": INT, "commune_code": NSTR, "local_code": NSTR,
                             "local": ref("LocalResolution")},
                            ["code", "display", "lat", "lon", "south", "west", "north", "east", "length",
                             "commune_code", "local_code"], example=EXAMPLE_DECODE),
        "CodesBatchRequest": obj({"encode": array(lat_lon_item, maxItems=10_000),
                                  "decode": array(STR, maxItems=10_000),
                                  "length": {"type": "integer", "minimum": 2, "maximum": 10, "default": 10}}, [],
                                 example={"encode": [[21.0336, 105.8144]], "decode": ["W5Y7-DH4-20Y"]}),
        "CodesBatch": obj({
            "encode": array(obj({"lat": NNUM, "lon": NNUM, "code": NSTR, "local_code": NSTR,
                                 "commune_code": NSTR, "error": NSTR})),
            "decode": array(obj({"code": STR, "full_code": NSTR, "lat": NNUM, "lon": NNUM, "south": NNUM,
                                 "west": NNUM, "north": NNUM, "east": NNUM, "commune_code": NSTR,
                                 "error": NSTR})),
        }, []),
        "Candidate": candidate,
        "Candidates": obj({"candidates": array(ref("Candidate"))}),
        "GeocodeBatchRequest": obj({"addresses": array(STR, maxItems=1000)}, ["addresses"],
                                   example={"addresses": ["Phường Ba Đình, Hà Nội", "Phuc Xa, Ba Dinh, Ha Noi"]}),
        "GeocodeBatch": obj({"results": array(obj({
            "address": STR, "commune_code": NSTR, "commune_name": NSTR, "province_code": NSTR,
            "province_name": NSTR, "postal_code": NSTR, "lat": NNUM, "lon": NNUM, "precision": NSTR,
            "confidence": NNUM, "match_type": NSTR, "standard_address": NSTR, "candidates": INT, "error": NSTR,
        }))}),
        "ValidateRequest": obj({"address": {"type": "string", "maxLength": 1000}, "code": NSTR,
                                "lat": nullable("number", minimum=-90, maximum=90),
                                "lon": nullable("number", minimum=-180, maximum=180)}, ["address"],
                               example={"address": "12 Phố Huế, Phường Hai Bà Trưng, Hà Nội"}),
        "Validation": obj({
            "verdict": {"type": "string", "enum": ["valid", "valid_outdated", "ambiguous", "invalid",
                                                   "inconsistent"]},
            "components": {"type": "object", "additionalProperties": obj(
                {"value": NSTR, "status": STR, "standard": NSTR}, ["value", "status"])},
            "standard_address": NSTR, "postal_code": NSTR, "suggestions": array(STR),
            "candidates": array(ref("Candidate")), "message": STR, "distance_m": NNUM,
            "structure": {"type": "string", "enum": ["legacy", "2025", "unknown"]},
        }),
        "Province": obj({"code": STR, "name": STR, "name_en": STR, "full_name": STR, "full_name_en": STR,
                         "postal_prefixes": array(STR), "area_km2": NUM, "population": INT,
                         "commune_count": INT}, example=EXAMPLE_PROVINCE),
        "Provinces": obj({"provinces": array(ref("Province"))}),
        "Commune": obj(commune_props, example=EXAMPLE_COMMUNE),
        "CommuneShape": obj({**commune_props, "geometry": ref("Geometry")}),
        "CommunePage": obj({"total": INT, "limit": INT, "offset": INT, "communes": array(ref("Commune"))}),
        "LegacyUnit": obj({"code": STR, "level": STR, "name": STR, "type": STR, "district_code": STR,
                           "district_name": STR, "province_code": STR, "province_name": STR,
                           "postcode_2020": NSTR, "lat": NUM, "lon": NUM, "full_path": STR}),
        "Conversion": obj({"legacy": ref("LegacyUnit"), "candidates": array(obj({
            "code": STR, "full_name": STR, "province_code": STR, "province_name": STR,
            "share": {"type": "string", "enum": ["full", "partial"]}}))}),
        "PostalPoint": obj(point_props, example=EXAMPLE_POINT),
        "PostalPoints": obj({"points": array(ref("PostalPoint")), "limit": INT, "offset": INT}),
        "NewPostalPoint": obj(writable, ["source", "source_key", "kind", "name", "lat", "lon"], closed=True,
                              example={"source": "shop", "source_key": "hn-1", "kind": "agent",
                                       "name": "Đại lý Phố Huế", "lat": 21.0136, "lon": 105.8516,
                                       "staffed": True}),
        "PostalPointChanges": obj(writable, [], closed=True, minProperties=1,
                                  example={"name": "Đại lý Phố Huế 2", "staffed": False}),
        "CoverageSummary": obj({
            "radius_km": NUM, "points": INT, "staffed_points": INT, "points_without_commune": INT,
            "communes": INT, "served": INT, "unserved": INT, "served_pct": NUM, "with_staffed_point": INT,
            "with_staffed_point_pct": NUM, "median_nearest_staffed_m": NNUM, "population": INT,
            "population_within_km": {"type": "object", "additionalProperties": NUM},
            "population_within_km_people": {"type": "object", "additionalProperties": INT},
            "population_within_km_bounds": {"type": "object", "additionalProperties": array(NUM)},
            "offshore": {"type": "object"},
        }),
        "CoverageGaps": obj({"radius_km": NUM, "communes": INT, "unserved": INT, "unserved_pct": NUM,
                             "unserved_population": INT, "without_staffed_point": INT,
                             "provinces": array({"type": "object"}), "offshore": array({"type": "object"}),
                             "province": obj({"code": STR, "name": STR})},
                            ["radius_km", "communes", "unserved", "unserved_pct", "unserved_population",
                             "without_staffed_point", "provinces", "offshore"]),
        "CommuneCoverage": obj({"code": STR, "full_name": STR, "province_code": STR, "population": NUM,
                                "points": INT, "staffed_points": INT, "nearest_staffed_m": NNUM,
                                "served": BOOL, "served_by": STR, "status": STR, "covered_population": NNUM,
                                "covered_pct": NUM, "radius_km": NUM, "geometry": ref("Geometry")},
                               ["code", "points", "staffed_points", "served", "status", "geometry"]),
        "SuggestRequest": obj({"k": {"type": "integer", "minimum": 1, "maximum": 200, "default": 10},
                               "radius_km": {"type": "number", "minimum": 0.1, "maximum": 100, "default": 5},
                               "province": {"type": "string", "maxLength": 200},
                               "time_limit_s": {"type": "number", "minimum": 0.1, "maximum": 30, "default": 10}},
                              [], example={"k": 5, "radius_km": 5, "province": "01"}),
        "Suggestion": obj({"k": INT, "radius_km": NUM, "province": {"type": ["object", "null"]},
                           "population": INT, "covered_before": INT, "covered_before_pct": NUM,
                           "covered_after": INT, "covered_after_pct": NUM, "newly_covered": INT,
                           "sites": array({"type": "object"}), "solver": {"type": "object"}, "seconds": NUM}),
        "RegisterRequest": obj({"address": {"type": ["string", "object"]},
                                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                                "contact": obj({"name": NSTR, "phone": NSTR, "email": NSTR}, []),
                                "consent": BOOL}, ["address", "lat", "lon"],
                               example={"address": "12 Phố Huế, Phường Hai Bà Trưng, Hà Nội", "lat": 21.0136,
                                        "lon": 105.8516, "contact": {"phone": "+84 912 345 678"},
                                        "consent": True}),
        "Registration": obj({
            "code": STR, "display_code": STR, "local_code": NSTR, "commune_code": STR, "commune_name": STR,
            "province_code": STR, "province_name": STR, "postal_code": NSTR, "lat": NUM, "lon": NUM,
            "standard_address": NSTR, "structured": {"type": "object"}, "verdict": STR, "contact_stored": BOOL,
            "created_at": {"type": "string", "format": "date-time"}, "notes": array(STR)}),
        "RegisteredAddress": obj({
            "display_code": STR, "code": STR, "local_code": NSTR, "structured": {"type": "object"},
            "commune_code": STR, "lat": NUM, "lon": NUM, "consent": BOOL,
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "contact": obj({"name": NSTR, "phone": NSTR, "email": NSTR})},
            ["display_code", "code", "local_code", "structured", "commune_code", "lat", "lon", "consent",
             "created_at", "updated_at"],
            description="Public fields; `contact` only for a key with `registry:private`."),
        "Health": obj({"status": {"const": "ok"}, "version": STR}),
        "Ready": obj({"status": {"const": "ready"}, "version": STR, "data": {"type": "object"},
                      "database": {"type": "object"},
                      "native": {"type": "object", "description": "Whether each compiled module runs compiled.",
                                 "additionalProperties": {"enum": ["compiled", "source", "not imported"]}}}),
        "ProblemType": obj({"type": STR, "slug": STR, "status": INT, "title": STR, "description": STR}),
        "ProblemTypes": obj({"problems": array(ref("ProblemType"))}),
        "Index": {"type": "object"},
    }


# ------------------------------------------------------------------------------------------------ operations

_STATUS_TEXT: Final = {
    400: "Bad parameter or body (`invalid-params` names it)", 401: "No valid API key", 403: "Key lacks the scope",
    404: "Not found", 409: "Conflict with existing data", 413: "Body or batch too large",
    415: "Body is not application/json", 422: "Well-formed but cannot be processed", 429: "Rate limit exceeded",
    500: "Unexpected error", 503: "Data not loaded or database unavailable",
}
_RETRY: Final = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}


def _problem(status: int) -> dict[str, Any]:
    """A problem response of ``status`` (with ``Retry-After`` for 429 and 503)."""
    response: dict[str, Any] = {"description": _STATUS_TEXT[status],
                                "content": {PROBLEM_JSON: {"schema": ref("Problem")}}}
    if status in (429, 503):
        response["headers"] = copy.deepcopy(_RETRY)
    return response


def _content(schema: dict[str, Any], geo: str | None = None, example: Any = None) -> dict[str, Any]:
    """JSON content with ``schema`` (and ``example``), plus GeoJSON (``feature`` or ``collection``) when given."""
    content: dict[str, Any] = {JSON: {"schema": schema}}
    if example is not None:
        content[JSON]["example"] = example
    if geo:
        content[GEOJSON] = {"schema": ref("Feature") if geo == "feature" else ref("FeatureCollection")}
    return content


def param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False,
          example: Any = None) -> dict[str, Any]:
    """One parameter object."""
    out: dict[str, Any] = {"name": name, "in": where, "schema": schema, "description": description,
                           "required": required or where == "path"}
    if where == "query":
        out["explode"] = False  # one value per name: ``bbox=1,2,3,4``, never ``a=1&b=2`` for an object
    if example is not None:
        out["example"] = example
    return out


FORMAT: Final = param("format", "query", {"type": "string", "enum": ["json", "geojson"]},
                      "`geojson` answers with GeoJSON (as `Accept: application/geo+json` does).")
LIMIT: Final = param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 5000, "default": 100},
                     "Most items to return.")
OFFSET: Final = param("offset", "query", {"type": "integer", "minimum": 0, "maximum": 1_000_000_000, "default": 0},
                      "Items to skip.")
RADIUS_KM: Final = param("radius_km", "query", {"type": "number", "minimum": 0.1, "maximum": 100, "default": 5},
                         "A commune is served by a staffed point within this distance of its centre.")
PROVINCE: Final = param("province", "query", {"type": "string", "maxLength": 200},
                        "A province by 2-digit code or name (`01`, `Hà Nội`).", example="01")


def op(op_id: str, tag: str, summary: str, description: str, ok: dict[str, Any], *,
       params: Sequence[dict[str, Any]] = (),
       body: str | None = None, errors: tuple[int, ...] = (400, 422), ok_status: int = 200,
       scope: str | None = None, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An operation object with its success answer and every problem answer it can give."""
    statuses = set(errors) | {429, 500, 503}
    if body is not None:
        statuses |= {400, 413, 415}
    if scope is not None:
        statuses |= {401, 403}
    success: dict[str, Any] = {"description": "Success", **ok}
    if headers:
        success["headers"] = headers
    operation: dict[str, Any] = {
        "operationId": op_id, "tags": [tag], "summary": summary, "description": description,
        "parameters": list(params),
        "responses": {str(ok_status): success, **{str(s): _problem(s) for s in sorted(statuses)}},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(body)}}}
    if scope is not None:
        operation["security"] = [{"apiKey": [scope]}]
        operation["x-required-scope"] = scope
    else:
        operation["security"] = [{}, {"apiKey": []}]
    return operation


def _paths(settings: Settings) -> dict[str, Any]:
    """Every path of the service with its operations."""
    lat = param("lat", "query", {"type": "number", "minimum": -90, "maximum": 90}, "Latitude (WGS84).", True,
                21.0336)
    lon = param("lon", "query", {"type": "number", "minimum": -180, "maximum": 180}, "Longitude (WGS84).", True,
                105.8144)
    commune_code = param("code", "path", {"type": "string", "maxLength": 64}, "A 2025 commune code.",
                         example="00004")
    tolerance = param("tolerance", "query", {"type": "number", "minimum": 0, "maximum": 0.1},
                      "Outline simplification in degrees (0: full resolution).")
    point_id = param("point_id", "path", {"type": "integer", "minimum": 0}, "A postal point's id.", example=1)
    address_code = param("code", "path", {"type": "string", "maxLength": 64}, "An address code.",
                         example="W5Y7DH420Y")
    page = [LIMIT, OFFSET]
    return {
        "/v1/codes/encode": {"get": op(
            "encodeCode", "codes", "Encode a point",
            "The address code of a WGS84 point (`length` 2..10; 10 is the full, sub-metre code), its display "
            "form, the commune it lies in and its local code (`PPPPP-TAIL`).",
            {"content": _content(ref("EncodeResult"), "feature", EXAMPLE_ENCODE)},
            params=[lat, lon, param("length", "query", {"type": "integer", "minimum": 2, "maximum": 10,
                                                        "default": 10}, "Code length."), FORMAT])},
        "/v1/codes/{code}": {"get": op(
            "decodeCode", "codes", "Decode a full or local code",
            "The cell a code names, and its commune. Accepts the display form (`W5Y7-DH4-20Y`), the compact "
            "form, any length 2..10, and local codes (`11119-7DH420Y`). An invalid code is a 400 problem whose "
            "`suggestions` list the valid codes one typo away.",
            {"content": _content(ref("DecodeResult"), "feature", EXAMPLE_DECODE)},
            params=[param("code", "path", {"type": "string", "maxLength": 64}, "A full or local address code.",
                          example="W5Y7-DH4-20Y"), FORMAT], errors=(400, 404, 422))},
        "/v1/codes/batch": {"post": op(
            "codesBatch", "codes", "Encode and decode in bulk",
            f"Up to {settings.max_codes_batch:,} items in all; each row carries its own `error`.",
            {"content": _content(ref("CodesBatch"), "collection")}, body="CodesBatchRequest", params=[FORMAT])},
        "/v1/reverse": {"get": op(
            "reverse", "reverse", "Reverse-geocode a point",
            "The 2025 commune, province, postal code, address code and local code of a point. `match` says how "
            "the commune was found (`inside`, `overlap` with `also_in`, `nearest` within 500 m of the coast or "
            "border, `none`). With a projected `crs`, `lat` is the northing and `lon` the easting.",
            {"content": _content(ref("ReverseResult"), "feature", EXAMPLE_REVERSE)},
            params=[param("lat", "query", NUM, "Latitude (or northing).", True, 21.0336),
                    param("lon", "query", NUM, "Longitude (or easting).", True, 105.8144),
                    param("crs", "query", {"type": "string", "maxLength": 64, "default": "EPSG:4326"},
                          "CRS of the input: EPSG:4326 (default), VN-2000 (EPSG:4756, 3405, 3406, 5896-5899, "
                          "9205-9218) or WGS 84 UTM (32648, 32649)."), FORMAT])},
        "/v1/reverse/batch": {"post": op(
            "reverseBatch", "reverse", "Reverse-geocode many points",
            f"Up to {settings.max_reverse_batch:,} points in one call; a point that cannot be placed gets its "
            "`error` and the others go on.",
            {"content": _content(ref("ReverseBatch"), "collection")}, body="ReverseBatchRequest", params=[FORMAT])},
        "/v1/geocode": {"get": op(
            "geocode", "addresses", "Geocode an address",
            "The 2025 communes an address names, best first, each with its postal code, a location and a "
            "calibrated confidence. Accepts the 2025 form and the legacy (ward, district, province) one, with or "
            "without diacritics. `lat`/`lon` or `code` pick among candidates.",
            {"content": _content(ref("Candidates"), "collection", {"candidates": [EXAMPLE_CANDIDATE]})},
            params=[param("q", "query", {"type": "string", "minLength": 1, "maxLength": 1000}, "The address.",
                          True, "Ba Đình, Hà Nội"),
                    param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
                          "Most candidates."),
                    param("lat", "query", {"type": "number", "minimum": -90, "maximum": 90}, "A point there."),
                    param("lon", "query", {"type": "number", "minimum": -180, "maximum": 180}, "Its longitude."),
                    param("code", "query", {"type": "string", "maxLength": 64}, "An address code there."),
                    FORMAT])},
        "/v1/geocode/batch": {"post": op(
            "geocodeBatch", "addresses", "Geocode many addresses",
            f"Up to {settings.max_geocode_batch:,} addresses; the best candidate's fields per row, or `error`.",
            {"content": _content(ref("GeocodeBatch"), "collection")}, body="GeocodeBatchRequest", params=[FORMAT])},
        "/v1/validate": {"post": op(
            "validate", "addresses", "Validate an address for a checkout",
            "One verdict (`valid`, `valid_outdated`, `ambiguous`, `invalid`, `inconsistent`), the status of each "
            "part, the 2025 form of the address and its postal code, and suggestions.",
            {"content": _content(ref("Validation"))}, body="ValidateRequest")},
        "/v1/provinces": {"get": op(
            "provinces", "gazetteer", "List the provinces", "The 34 provinces and centrally-run cities.",
            {"content": _content(ref("Provinces"))}, errors=())},
        "/v1/provinces/{code}": {"get": op(
            "province", "gazetteer", "One province", "A province by its 2-digit code or a name.",
            {"content": _content(ref("Province"), example=EXAMPLE_PROVINCE)},
            params=[param("code", "path", {"type": "string", "maxLength": 200}, "Code or name.", example="01")],
            errors=(400, 404))},
        "/v1/communes": {"get": op(
            "communes", "gazetteer", "List communes",
            "All communes, a province's, or those named `q` (diacritics and type word optional), in code order.",
            {"content": _content(ref("CommunePage"), "collection")},
            params=[PROVINCE, param("q", "query", {"type": "string", "maxLength": 200}, "A commune name.",
                                    example="Ba Đình"), *page, tolerance, FORMAT], errors=(400, 404))},
        "/v1/communes/{code}": {"get": op(
            "commune", "gazetteer", "One commune with its outline",
            "The commune's record, the legacy units it came from, and its outline simplified by `tolerance` "
            "degrees (default 0.0001, about 11 m).",
            {"content": _content(ref("CommuneShape"), "feature")}, params=[commune_code, tolerance, FORMAT],
            errors=(400, 404))},
        "/v1/legacy/wards/{code}/conversion": {"get": op(
            "legacyConversion", "gazetteer", "Convert a legacy ward",
            "The 2025 commune(s) a pre-reform ward went into, each `full` or `partial`.",
            {"content": _content(ref("Conversion"))},
            params=[param("code", "path", {"type": "string", "maxLength": 64}, "A legacy ward code.",
                          example="00007")], errors=(400, 404))},
        "/v1/communes/{code}/postal-points": {"get": op(
            "communePostalPoints", "postal points", "A commune's postal points", "The points assigned to it.",
            {"content": _content(ref("PostalPoints"), "collection")}, params=[commune_code, *page, FORMAT],
            errors=(400, 404))},
        "/v1/postal-points": {
            "get": op(
                "postalPoints", "postal points", "Find postal points",
                "In a box (`bbox=min_lon,min_lat,max_lon,max_lat`), within `radius` metres of `near=lat,lon` "
                "(sorted by distance, with `distance_m`), or all (paged).",
                {"content": _content(ref("PostalPoints"), "collection")},
                params=[param("bbox", "query", {"type": "string", "maxLength": 200},
                              "min_lon,min_lat,max_lon,max_lat", example="105.8,21.0,105.9,21.1"),
                        param("near", "query", {"type": "string", "maxLength": 200}, "lat,lon",
                              example="21.03,105.85"),
                        param("radius", "query", {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000},
                              "Metres, with `near`."),
                        param("kind", "query", {"type": "string", "maxLength": 64}, "post_office, agent..."),
                        param("staffed", "query", {"type": "boolean"}, "Only staffed (or unstaffed) points."),
                        *page, FORMAT]),
            "post": op(
                "createPostalPoint", "postal points", "Add a postal point",
                "Its commune is assigned by reverse geocoding; a point at sea or abroad is refused.",
                {"content": _content(ref("PostalPoint"))}, body="NewPostalPoint", ok_status=201,
                scope="points:write", errors=(400, 409, 422),
                headers={"Location": {"schema": STR, "description": "The new point's URL."}})},
        "/v1/postal-points/{point_id}": {
            "get": op("postalPoint", "postal points", "One postal point", "By id.",
                      {"content": _content(ref("PostalPoint"), "feature")}, params=[point_id, FORMAT],
                      errors=(400, 404)),
            "patch": op("updatePostalPoint", "postal points", "Change a postal point",
                        "Only the fields given change; a move re-assigns the commune.",
                        {"content": _content(ref("PostalPoint"))}, params=[point_id], body="PostalPointChanges",
                        scope="points:write", errors=(400, 404, 409, 422)),
            "delete": op("deletePostalPoint", "postal points", "Delete a postal point", "By id.",
                         {}, params=[point_id], scope="points:write", errors=(400, 404), ok_status=204)},
        "/v1/coverage/summary": {"get": op(
            "coverageSummary", "coverage", "National coverage",
            "Communes served by a staffed point (inside, or within `radius_km` of the centre) and the share of "
            "people within 1, 2, 5 and 10 km of one, on the store's current points.",
            {"content": _content(ref("CoverageSummary"))}, params=[RADIUS_KM])},
        "/v1/coverage/gaps": {"get": op(
            "coverageGaps", "coverage", "Unserved communes", "By province, largest population first.",
            {"content": _content(ref("CoverageGaps"))}, params=[PROVINCE, RADIUS_KM], errors=(400, 404, 422))},
        "/v1/coverage/communes": {"get": op(
            "coverageCommunes", "coverage", "Communes with their coverage, as GeoJSON",
            "For maps: every commune (or a province's) with `status` (`inside`, `nearby`, `unserved`, "
            "`offshore`) and a simplified outline (default tolerance 0.003 degrees).",
            {"content": {GEOJSON: {"schema": ref("FeatureCollection")}}},
            params=[PROVINCE, RADIUS_KM, tolerance], errors=(400, 404, 422))},
        "/v1/coverage/communes/{code}": {"get": op(
            "communeCoverage", "coverage", "One commune's coverage",
            "Points inside, the nearest staffed point, served or not, people covered, and the outline.",
            {"content": _content(ref("CommuneCoverage"), "feature")},
            params=[commune_code, RADIUS_KM, tolerance, FORMAT], errors=(400, 404, 422))},
        "/v1/coverage/suggest": {"post": op(
            "coverageSuggest", "coverage", "Where to add postal points",
            "The `k` sites that bring the most people within `radius_km` of a staffed point (maximal covering "
            "location problem, solved exactly by HiGHS within `time_limit_s`).",
            {"content": _content(ref("Suggestion"))}, body="SuggestRequest", errors=(400, 404, 422))},
        "/v1/coverage/map.png": {"get": op(
            "coverageMap", "coverage", "Coverage map (PNG)", "The country, or one province.",
            {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
            params=[PROVINCE, RADIUS_KM], errors=(400, 404, 422))},
        "/v1/addresses": {"post": op(
            "registerAddress", "registry", "Register a digital address",
            "Its address code, local code and commune come from the point; contact details are kept only with "
            "`consent: true`.", {"content": _content(ref("Registration"))}, body="RegisterRequest",
            ok_status=201, scope="registry:write", errors=(400, 409, 422),
            headers={"Location": {"schema": STR, "description": "The address's URL."}})},
        "/v1/addresses/{code}": {
            "get": op("getAddress", "registry", "Look up a registered address",
                      "Public fields; `contact` too for a key with `registry:private`.",
                      {"content": _content(ref("RegisteredAddress"), "feature")}, params=[address_code, FORMAT],
                      errors=(400, 401, 404)),
            "delete": op("deleteAddress", "registry", "Delete a registered address",
                         "The contact details go with it.", {}, params=[address_code], scope="registry:write",
                         errors=(400, 404), ok_status=204)},
        "/openapi.json": {"get": _plain_op("openapi", "This document", "The OpenAPI 3.1 description.", "Index",
                                           (500,))},
        "/docs": {"get": _html_op("docs", "API reference", "This document rendered as a page (local files only).")},
        "/map": {"get": _html_op("map", "Coverage map",
                                 "Communes coloured by postal coverage, postal points, click to locate, search.")},
        "/healthz": {"get": _plain_op("healthz", "Liveness", "The process answers.", "Health", (500,))},
        "/readyz": {"get": _plain_op("readyz", "Readiness",
                                     "Data loaded and database reachable: 200; otherwise 503 with the reason.",
                                     "Ready", (500, 503))},
        "/problems": {"get": _plain_op("problemTypes", "Problem types", "Every problem `type` this API uses.",
                                       "ProblemTypes", (500,))},
        "/problems/{slug}": {"get": {**_plain_op("problemType", "One problem type", "Its status and meaning.",
                                                 "ProblemType", (404, 500)),
                                     "parameters": [param("slug", "path", {"type": "string",
                                                                           "pattern": "^[a-z0-9-]{1,64}$"},
                                                          "The slug.", example="invalid-code")]}},
    }


def _plain_op(op_id: str, summary: str, description: str, schema: str, errors: tuple[int, ...]) -> dict[str, Any]:
    """An operations endpoint: never rate-limited, never authenticated."""
    return {"operationId": op_id, "tags": ["operations"], "summary": summary, "description": description,
            "security": [{}],
            "responses": {"200": {"description": "Success", "content": {JSON: {"schema": ref(schema)}}},
                          **{str(s): _problem(s) for s in errors}}}


def _html_op(op_id: str, summary: str, description: str) -> dict[str, Any]:
    """A page for people."""
    return {"operationId": op_id, "tags": ["operations"], "summary": summary, "description": description,
            "security": [{}],
            "responses": {"200": {"description": "An HTML page", "content": {"text/html": {"schema": STR}}},
                          "500": _problem(500)}}


def build(settings: Settings) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for an app with these settings."""
    problems = [problem.to_dict() for problem in problem_types().values()]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "vpostcode",
            "version": __version__,
            "summary": "Digital addresses, geocoding and postal coverage for Vietnam (2025 gazetteer).",
            "description": (
                "JSON by default, with the same field names as the library and the CLI's `--json`; GeoJSON for "
                "anything with a geometry with `Accept: application/geo+json` or `?format=geojson`. Errors are "
                "RFC 9457 problems (`application/problem+json`) whose `type` is `/problems/<slug>`.\n\n"
                "**Authentication.** Reads are public and rate-limited per IP address "
                f"({settings.rate_limit_read}; batches and coverage also {settings.rate_limit_heavy}). Writes and "
                "private data need `Authorization: Bearer <key>` with a scope (made by `vpostcode keys create "
                f"--scopes ...`), limited per key ({settings.rate_limit_write}). No key: 401; wrong scope: 403."),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/", "description": "This server"}],
        "tags": [{"name": name} for name in ("codes", "reverse", "addresses", "gazetteer", "postal points",
                                             "coverage", "registry", "operations")],
        "paths": _paths(settings),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"apiKey": {
                "type": "http", "scheme": "bearer", "bearerFormat": "vpk_<key id>_<secret>",
                "description": "Scopes: " + "; ".join(f"`{k}`: {v}" for k, v in SCOPES.items()) + "."}},
        },
        "x-problem-types": problems,
    }


def spec(app: Flask) -> dict[str, Any]:
    """The app's OpenAPI document (built on first request, then kept)."""
    found: dict[str, Any] | None = app.extensions.get(SPEC_EXTENSION)
    if found is None:
        found = build(app.config["VPOSTCODE"])
        app.extensions[SPEC_EXTENSION] = found
    return found


def _example(spec_doc: dict[str, Any], content: dict[str, Any]) -> Any:
    """The example of a content map: its own, else its schema's (following one ``$ref``)."""
    for media in content.values():
        if "example" in media:
            return media["example"]
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = spec_doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        if "example" in schema:
            return schema["example"]
    return None


def _schema_name(content: dict[str, Any]) -> str:
    """The component name of a content map's schema ("" when it has none)."""
    for media in content.values():
        return str(media.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]
    return ""


def reference(spec_doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations in document order, flattened for the API reference page (``/docs``)."""
    out = []
    for path, item in spec_doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            success = next((code for code in responses if code.startswith("2")), None)
            body: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
            out.append({
                "id": operation["operationId"], "method": method.upper(), "path": path,
                "tag": operation.get("tags", [""])[0], "summary": operation["summary"],
                "description": operation["description"], "parameters": operation.get("parameters", []),
                "scope": operation.get("x-required-scope"),
                "body_schema": _schema_name(body),
                "body_example": _example(spec_doc, body) if body else None,
                "responses": [(code, response["description"], ", ".join(response.get("content", {})))
                              for code, response in responses.items()],
                "example": _example(spec_doc, responses[success].get("content", {})) if success else None,
            })
    return out
