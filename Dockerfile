# The portal image: one image for every role (web, worker, scheduler, one-off commands).
#   docker build -t procurement-portal .
#   docker run --env-file portal.env procurement-portal                      # web (gunicorn)
#   docker run --env-file portal.env procurement-portal flask jobs worker -q documents
# Slim Debian base, the app as a non-root user, WeasyPrint's system libraries (Pango, HarfBuzz) and the fonts
# the PDF stylesheets name (DejaVu, Liberation).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY portal ./portal
# the dependencies of setup.cfg into a virtualenv; the portal itself runs from /app (templates, static, migrations)
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip wheel \
 && /opt/venv/bin/pip install . \
 && /opt/venv/bin/pip uninstall -y procurement-portal

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig \
      fonts-dejavu-core fonts-dejavu-extra fonts-liberation shared-mime-info \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin portal \
 && mkdir -p /var/lib/portal /tmp/portal-metrics \
 && chown portal:portal /var/lib/portal /tmp/portal-metrics
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY wsgi.py gunicorn.conf.py ./
COPY portal ./portal
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FLASK_APP=wsgi.py \
    PORTAL_ENV=production \
    PORTAL_LOG_FORMAT=json \
    PORTAL_INSTANCE_PATH=/var/lib/portal \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/portal-metrics
USER portal
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
