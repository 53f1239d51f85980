#!/bin/sh
# `docker compose run --rm setup` (deploy/compose.yaml), as root in the ingest's image:
# the campus CA (its key stays in the volume campus-ca), the broker's certificate for the
# ingest and Mosquitto, the ingest's broker account (its password goes into the secret
# ingest.env) and the database's users. Re-runnable: what exists is kept.
set -eu
TOOLS=/opt/campuswatch/tools
ENV=/secrets/ingest.env
get() { python "$TOOLS/envfile.py" get "$ENV" "$1"; }
[ -f "$ENV" ] || { echo "make $ENV first (see the top of compose.yaml)" >&2; exit 2; }

campus-ingest broker certs --dir /ca --host "$CAMPUSWATCH_HOST" --host mosquitto
install -m 0644 /ca/ca.crt /ca/server.crt /tls/
# Mosquitto (uid 1883) owns the key, the ingest (group 10001) reads it; nobody else.
install -m 0640 -o 1883 -g 10001 /ca/server.key /tls/server.key

if [ -z "$(get MQTT_PASSWORD)" ]; then
  password=$(campus-ingest broker add-ingest ingest --passwd /accounts/passwd --acl /accounts/acl)
  python "$TOOLS/envfile.py" set "$ENV" MQTT_PASSWORD "$password"
fi
chown 1883:1883 /accounts/passwd /accounts/acl
# Compose hands file secrets over as bind mounts with the host file's owner and mode:
# each belongs to the one container user that reads it (ingest 10001, Grafana 472).
chown 10001:10001 "$ENV" && chmod 0600 "$ENV"
for secret in /secrets/grafana-admin-password /secrets/grafana-influx-password; do
  [ -f "$secret" ] || { echo "make $secret first (see the top of compose.yaml)" >&2; exit 2; }
  chown 472:0 "$secret" && chmod 0600 "$secret"
done

sh "$TOOLS/influx-users.sh" "$ENV" http://influxdb:8086
# Statements on standard input, passwords never on a command line (see influxql.py).
export INFLUX_URL=http://influxdb:8086
sql() { INFLUX_ADMIN_PASSWORD=$(get INFLUX_ADMIN_PASSWORD) python "$TOOLS/influxql.py"; }
echo "CREATE USER grafana WITH PASSWORD '$(get GRAFANA_INFLUX_PASSWORD)'" | sql 2>/dev/null \
  || echo "SET PASSWORD FOR grafana = '$(get GRAFANA_INFLUX_PASSWORD)'" | sql
echo 'GRANT READ ON "campus" TO grafana' | sql
echo "set up: docker compose up -d; give gateways and phones the CA (docker compose cp ...:/etc/campuswatch/tls/ca.crt)"
