"""Operations: liveness, readiness, the OpenAPI document, the API reference and the problem types."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.exceptions import NotFound

from api.context import resources
from api.errors import ServiceUnavailable, problem_types
from api.openapi import reference, spec
from api.respond import ok
from api.routes import limited
from vpostcode import __version__, _native

bp = Blueprint("ops", __name__)


@bp.get("/")
@limited("exempt")
def index() -> Response:
    """Where to go from the root: the reference for people, the document for programs."""
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "text/html":
        return redirect("/docs")  # type: ignore[return-value]
    return ok({"name": "vpostcode", "version": __version__, "docs": "/docs", "openapi": "/openapi.json",
               "map": "/map", "health": "/healthz", "ready": "/readyz"})


@bp.get("/healthz")
@limited("exempt")
def healthz() -> Response:
    """Liveness: the process answers. It checks nothing else, so a slow database never restarts a healthy worker."""
    return ok({"status": "ok", "version": __version__})


@bp.get("/readyz")
@limited("exempt")
def readyz() -> Response:
    """Readiness: the data is in memory and the database answers (200), else 503 with the reason."""
    res = resources()
    if not res.loaded:
        if res.loading_error is not None:
            raise ServiceUnavailable(f"the data cannot be loaded ({res.loading_error.slug}): run "
                                     "`vpostcode data build`", reason=res.loading_error.slug)
        res.load_in_background()
        raise ServiceUnavailable("the data is still loading", reason="loading")
    from vpostcode.gazetteer import get_gazetteer

    manifest = get_gazetteer().manifest
    status = res.store().ping()
    return ok({
        "status": "ready",
        "version": __version__,
        "data": {"fingerprint": manifest.get("fingerprint"), "built_at": manifest.get("built_at"),
                 "load_seconds": res.load_seconds},
        "database": {"backend": status.backend, "revision": status.revision,
                     "schema_current": status.schema_current, "latency_ms": status.latency_ms},
        "native": _native.running(),  # "source" here means addresses are read at about 2.5 times the cost
    })


@bp.get("/openapi.json")
@limited("exempt")
def openapi() -> Response:
    """The OpenAPI 3.1 document of this service."""
    return ok(spec(current_app), headers={"Cache-Control": "public, max-age=300"})


@bp.get("/docs")
@limited("exempt")
def docs() -> str:
    """The API reference, rendered from the OpenAPI document (local files only, no CDN)."""
    document = spec(current_app)
    return render_template("docs.html", spec=document, operations=reference(document),
                           problems=list(problem_types().values()))


@bp.get("/problems")
@limited("exempt")
def problems() -> Response:
    """Every problem type the service answers with: its ``type`` URI, status, title and meaning."""
    return ok({"problems": [problem.to_dict() for problem in problem_types().values()]})


@bp.get("/problems/<slug>")
@limited("exempt")
def problem(slug: str) -> Response | str:
    """One problem type's documentation (what a ``type`` URI of a problem body points to)."""
    found = problem_types().get(slug)
    if found is None:
        raise NotFound(f"no problem type {slug!r}")
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return render_template("problem.html", problem=found)
    return ok(found.to_dict())

