# syntax=docker/dockerfile:1.7
# vpostcode service image: gunicorn + the API + the map page, with gis_data/ built in.
#
#   docker build --build-context sources=../shared/data -t vpostcode .
#   docker run -p 8000:8000 -v vpostcode-db:/var/lib/vpostcode vpostcode
#
# The source bundle (../shared/data) is outside the repository, so it comes in as a named build context.
# Stages: web (Leaflet from the npm registry), build (venv + gis_data), runtime (slim, non-root).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------------- web
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
 && mkdir -p vendor/leaflet \
 && cp -R node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
          node_modules/leaflet/dist/images node_modules/leaflet/LICENSE vendor/leaflet/

# ---------------------------------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vpostcode ./vpostcode
COPY api ./api
COPY scripts/compile_native.py ./scripts/
# the address reader compiled to C by mypyc, in the installed package; mypy leaves the image afterwards
RUN pip install ".[api,postgis]" "mypy>=1.10" "setuptools>=69" \
 && python scripts/compile_native.py \
 && pip uninstall -y mypy
COPY --from=sources . /sources
RUN vpostcode data build --sources /sources --out /app/gis_data \
 && rm -rf /sources

# ---------------------------------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libsqlite3-mod-spatialite \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vpostcode \
 && useradd --system --uid 10001 --gid vpostcode --home-dir /app --shell /usr/sbin/nologin vpostcode \
 && mkdir -p /var/lib/vpostcode \
 && chown vpostcode:vpostcode /var/lib/vpostcode
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --from=build /app/gis_data ./gis_data
COPY api ./api
COPY --from=web /web/vendor ./api/static/vendor
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VPOSTCODE_DATA_DIR=/app/gis_data \
    VPOSTCODE_DATABASE_URL=sqlite:////var/lib/vpostcode/vpostcode.sqlite \
    VPOSTCODE_BIND=0.0.0.0:8000
USER vpostcode
VOLUME ["/var/lib/vpostcode"]
EXPOSE 8000
# Loading the data takes 10-20 s; /readyz answers 200 once it is loaded and the database answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["gunicorn", "-c", "api/gunicorn.conf.py"]
