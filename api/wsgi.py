"""The WSGI entry point for servers: ``api.wsgi:app`` (the settings come from the environment and
``$VPOSTCODE_CONFIG``). Importing this module builds the app and loads the data; ``import api`` alone does not.
"""

from __future__ import annotations

from api import create_app

app = create_app()
