"""``vpostcode serve``: the HTTP service for development, on Werkzeug's threaded server.

For production use gunicorn (``gunicorn -c api/gunicorn.conf.py``): several processes that share the loaded data.
Settings come from ``VPOSTCODE_*`` variables and ``$VPOSTCODE_CONFIG`` as for gunicorn (see ``api.config``).
"""

from __future__ import annotations

import sys

import click

from vpostcode.errors import VpostcodeError


def register(main: click.Group) -> None:
    """Add the ``serve`` command to the CLI group."""

    @main.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
    @click.option("--debug", is_flag=True, help="Flask debug mode: reload on change, tracebacks in the browser.")
    def serve(host: str, port: int, debug: bool) -> None:
        """Run the HTTP API and the map page (development server)."""
        try:
            from api import create_app
        except ImportError as error:  # pragma: no cover - the api extra is missing
            click.echo(f"vpostcode: error: the service needs the api extra ({error.name}): "
                       "pip install 'vpostcode[api]'", err=True)
            sys.exit(1)
        click.echo("vpostcode: loading the data…", err=True)
        try:
            app = create_app({"public_url": f"http://{host}:{port}"})
        except VpostcodeError as error:
            click.echo(f"vpostcode: error: {error.message}", err=True)
            sys.exit(1)
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        click.echo(f"vpostcode: API {base}/docs  map {base}/map", err=True)
        app.run(host=host, port=port, debug=debug, use_reloader=debug, threaded=True)
