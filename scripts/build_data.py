"""Build gis_data/ from the source bundle: the same as `vpostcode data build`, for use without the console script."""

from __future__ import annotations

import sys

from vpostcode.cli import main

if __name__ == "__main__":
    sys.exit(main(["data", "build", *sys.argv[1:]]))
