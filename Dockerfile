# Crisis Hub: one hub process. docker-compose.yml runs two behind HAProxy on one Redis.
#
#   docker build -t crisis-hub .
#   docker run -p 8080:8080 -e CRISIS_HUB_REDIS_URL=redis://redis-host:6379/0 crisis-hub
#
# Every option comes from a CRISIS_HUB_* environment variable (docs/configuration.md).
# Without CRISIS_HUB_REDIS_URL the hub starts its embedded Redis in
# /var/lib/crisis-hub: mount a volume there to keep its data.

# Build stage: `pip install .` into a virtualenv, so the final image holds no source tree.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/crisis-hub
COPY . /src
RUN /opt/crisis-hub/bin/pip install /src

FROM python:3.11-slim
LABEL org.opencontainers.image.title="Crisis Hub" \
      org.opencontainers.image.description="Multi-stakeholder cyber crisis information-sharing hub: STIX 2.1, TLP-aware live fan-out, TAXII 2.1" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/crisis-hub/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CRISIS_HUB_HOST=0.0.0.0 \
    CRISIS_HUB_PORT=8080 \
    CRISIS_HUB_DATA_DIR=/var/lib/crisis-hub
RUN groupadd --system --gid 10001 hub \
 && useradd --system --uid 10001 --gid hub --home-dir /var/lib/crisis-hub --shell /usr/sbin/nologin hub \
 && install -d -o hub -g hub -m 0750 /var/lib/crisis-hub
COPY --from=build /opt/crisis-hub /opt/crisis-hub
USER 10001:10001
WORKDIR /var/lib/crisis-hub
EXPOSE 8080
# 200 only while the hub answers and reaches Redis; any error or non-2xx exits 1.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('CRISIS_HUB_PORT', '8080'), timeout=4)"]
# SIGTERM (docker stop) is a graceful stop: requests finish, streams are told to reconnect elsewhere.
CMD ["crisis-hub", "serve"]
