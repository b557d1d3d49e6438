# One image for every role (web, workers, beat); the command picks the role (compose.yaml).
# Build: docker build -t leadwise .   The image holds no secret: settings come from the environment.
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=saas_platform.settings.production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app app

# Dependencies first (hash-pinned), so a code change does not reinstall them. The production lock
# has the pins of requirements.lock without the dev extra (tests, linters, embedded engines).
COPY requirements-production.lock pyproject.toml ./
RUN pip install --no-cache-dir --require-hashes -r requirements-production.lock

COPY . .
# Browser libraries (pinned by checksum), then the static files served by whitenoise.
RUN python tools/vendor_assets.py \
    && SECRET_KEY=collectstatic-only-not-a-secret-key-000000000000000 \
       TOKEN_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LTAwMDAwMDAwMDAwMDA= \
       DATABASE_URL=postgres://unused/unused REDIS_URL=redis://unused:6379/0 \
       python manage.py collectstatic --noinput \
    && chown -R app /app

USER app
EXPOSE 8000
# /readyz as the first of PLATFORM_HOSTS, on WEB_BIND's port (tools/readyz_probe.py).
HEALTHCHECK --interval=15s --timeout=3s CMD ["python", "tools/readyz_probe.py"]
CMD ["gunicorn", "-c", "python:saas_platform.gunicorn_conf", "saas_platform.wsgi"]
