# Production image: the runtime set of uv.lock (hashes checked) in /opt/venv, the system packages of
# the `run` set in scripts/sysdeps.txt (the CJK font of the PDF certificates), as a non-root user.
#
# One image, three kinds of process, run apart (README, "Running on PostgreSQL and in production"):
#   api       the default command: migrates, then serves with WEB_CONCURRENCY workers (scale: more of them)
#   delivery  youth deliver-notifications --loop   sends the outbox to WeChat (one or more)
#   sweeper   youth sweep --loop                   due work: no-shows, lapsed offers, reminders (one or more)
# All three take the same YOUTH_* environment and stop cleanly on SIGTERM. Only the api migrates:
# start the workers once it is healthy. As compose services, for example:
#   services:
#     api:      {image: youth, env_file: prod.env, ports: ["8000:8000"]}
#     delivery: {image: youth, env_file: prod.env, command: [youth, deliver-notifications, --loop],
#                healthcheck: {disable: true}, depends_on: {api: {condition: service_healthy}}}
#     sweeper:  {image: youth, env_file: prod.env, command: [youth, sweep, --loop],
#                healthcheck: {disable: true}, depends_on: {api: {condition: service_healthy}}}
FROM python:3.11-slim AS build
# Must match [tool.uv] required-version in pyproject.toml (uv refuses to run otherwise).
ARG UV_VERSION=0.13.8
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON=/usr/local/bin/python3 UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1
RUN pip install "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies from the lock alone first: this layer is rebuilt only when pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-install-project
COPY app ./app
COPY models ./models
COPY routers ./routers
RUN uv sync --locked --no-editable

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    YOUTH_ENV=prod WEB_CONCURRENCY=4 PORT=8000
COPY scripts/sysdeps scripts/sysdeps.txt /tmp/sysdeps/
RUN /tmp/sysdeps/sysdeps run && rm -rf /var/lib/apt/lists/* /tmp/sysdeps
RUN useradd --system --uid 10001 --home /app youth
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
USER youth
EXPOSE 8000
# Behind a proxy container, name it so that clients keep their own addresses (rate limits, login
# throttles): -e YOUTH_FORWARDED_ALLOW_IPS=<the proxy's address or network>. See the README's Security.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"
CMD ["sh", "-c", "youth migrate && exec youth serve --host 0.0.0.0 --port ${PORT} --workers ${WEB_CONCURRENCY} --no-migrate"]
