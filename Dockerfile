# campus-ingest as a container (deploy/compose.yaml builds it): the server extra only, no
# OpenCV. The config is mounted at /etc/campuswatch/ingest.yaml, the state is a volume.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/campuswatch campuswatch \
 && install -d -o campuswatch -g campuswatch -m 0700 /var/lib/campuswatch
WORKDIR /src
COPY pyproject.toml README.md ./
COPY campuswatch campuswatch
COPY gateway gateway
COPY ingest ingest
COPY dashboards dashboards
RUN pip install --no-cache-dir '.[server]'
# The setup steps of deploy/compose.yaml (its `setup` service).
COPY deploy/server/envfile.py deploy/server/influxql.py deploy/server/compose-setup.sh \
     deploy/server/influx-users.sh /opt/campuswatch/tools/
USER campuswatch
VOLUME /var/lib/campuswatch
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=5s \
  CMD python -c "import ssl, urllib.request as u; u.urlopen('https://127.0.0.1:8443/api/health', context=ssl._create_unverified_context(), timeout=4)"
ENTRYPOINT ["campus-ingest"]
CMD ["run", "--config", "/etc/campuswatch/ingest.yaml"]
