# The production image: the bot only; Redis runs as its own service (docker-compose.yml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && useradd --system --uid 1000 safar

COPY dialogs ./dialogs
COPY knowledge ./knowledge
COPY locales ./locales
RUN pybabel compile -d locales -D messages

USER safar
ENV SAFAR_HOST=0.0.0.0 SAFAR_PORT=8080 SAFAR_CONTENT_DIR=/app
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)" || exit 1
CMD ["safar", "serve"]
