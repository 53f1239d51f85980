#!/bin/sh
# `docker compose run --rm setup` (deploy/district/compose.yaml), as root in the ingest's
# image: the district's CA (its key stays in the volume district-ca), the certificate of
# the three NATS nodes and the consoles, each ingest process's NATS account (it reads only
# its sites; the password goes into its env file) and its InfluxDB's users.
# `docker compose run --rm setup add-gateway SITE GATEWAY` adds a gateway's account and
# prints its password. Re-runnable: what exists is kept.
set -euf  # -f: site ids are split on commas below, never globbed
TOOLS=/opt/campuswatch/tools
AUTH=/secrets/auth.conf

if [ "${1:-}" = add-gateway ]; then
  campus-ingest broker add-gateway "$2" "$3" --nats "$AUTH"
  echo "now: docker compose kill -s HUP nats-1 nats-2 nats-3   (the nodes read it again)" >&2
  exit 0
fi

campus-ingest broker certs --dir /ca --host "$CAMPUSWATCH_HOST" \
  --host nats-1 --host nats-2 --host nats-3
mkdir -p /secrets/tls
install -m 0644 /ca/ca.crt /ca/server.crt /secrets/tls/
# The nodes (root) and the ingest processes (group 10001) read the key; nobody else.
install -m 0640 -g 10001 /ca/server.key /secrets/tls/server.key

for process in east west; do
  ENV=/secrets/$process.env
  [ -f "$ENV" ] || { echo "make $ENV first (see the top of compose.yaml)" >&2; exit 2; }
  get() { python "$TOOLS/envfile.py" get "$ENV" "$1"; }
  if [ -z "$(get MQTT_PASSWORD)" ]; then
    set -- --site "$(get CAMPUSWATCH_SITE)"
    IFS=,
    for site in $(get CAMPUSWATCH_ALSO_SERVES); do set -- "$@" --site "$site"; done
    unset IFS
    password=$(campus-ingest broker add-ingest "$(get MQTT_USER)" "$@" --nats "$AUTH")
    python "$TOOLS/envfile.py" set "$ENV" MQTT_PASSWORD "$password"
  fi
  chown 10001:10001 "$ENV" && chmod 0600 "$ENV"
  # Statements on standard input, passwords never on a command line (see influxql.py).
  export INFLUX_URL="$(get INFLUX_URL)"
  sql() { INFLUX_ADMIN_PASSWORD=$(get INFLUX_ADMIN_PASSWORD) python "$TOOLS/influxql.py"; }
  echo "CREATE USER admin WITH PASSWORD '$(get INFLUX_ADMIN_PASSWORD)' WITH ALL PRIVILEGES" \
    | INFLUX_ADMIN_PASSWORD="" python "$TOOLS/influxql.py" 2>/dev/null || true
  echo 'CREATE DATABASE campus' | sql
  echo 'ALTER RETENTION POLICY "autogen" ON "campus" DURATION 400d' | sql
  echo "CREATE USER campuswatch WITH PASSWORD '$(get INFLUX_PASSWORD)'" | sql 2>/dev/null \
    || echo "SET PASSWORD FOR campuswatch = '$(get INFLUX_PASSWORD)'" | sql
  echo 'GRANT ALL ON "campus" TO campuswatch' | sql
done
chmod 0640 "$AUTH"
echo "set up: docker compose up -d; then add each gateway: docker compose run --rm setup add-gateway SITE GATEWAY"
