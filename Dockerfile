# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic reads settings only; these placeholders are never used to connect.
RUN SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
    CELERY_BROKER_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput -v0

RUN useradd --system --home /app ecrf && chown -R ecrf /app \
    && mkdir -p /exports && chown ecrf /exports
USER ecrf
EXPOSE 8000
CMD ["gunicorn", "blinacell_site.wsgi", "-c", "python:blinacell_site.gunicorn_conf", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
