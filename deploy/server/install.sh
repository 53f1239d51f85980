#!/usr/bin/env bash
# Install (or upgrade: run it again) the central campuswatch server on Debian 12 or
# Raspberry Pi OS (Bookworm), as root, from a checkout of this repository:
#
#   sudo deploy/server/install.sh --site sunshine-kg --name 阳光幼儿园 --host watch.example-kg.cn
#
# It installs Mosquitto (the shipped config: accounts, ACL, TLS on 8883), InfluxDB 1.x with
# auth (an admin, the service's writer, Grafana's reader), campus-ingest in a virtualenv
# under /opt/campuswatch as the systemd service campus-ingest (own user, read-only system),
# the campus CA and server certificate (kept when they exist), and Grafana's provisioning
# files when Grafana is installed. Passwords are made once and kept in /etc/campuswatch/*.env,
# files of KEY="VALUE" lines that are read as data (deploy/server/envfile.py, campus-ingest
# --env-file) and never run by a shell; no password is ever put on a command line.
# --no-start leaves the services stopped (for a machine without systemd, e.g. a container).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=/usr/bin/python3  # Debian's, so the service user can run the virtualenv
PREFIX=/opt/campuswatch
ETC=/etc/campuswatch
BROKER=/etc/mosquitto/campuswatch
SITE="" NAME="" HOSTS=() START=1
while [ $# -gt 0 ]; do
  case "$1" in
    --site) SITE=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --host) HOSTS+=("$2"); shift 2 ;;
    --no-start) START=0; shift ;;
    *) echo "unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
[[ "$SITE" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || { echo "--site must match [a-z0-9][a-z0-9-]*" >&2; exit 2; }
[ -n "$NAME" ] || NAME=$SITE
[ ${#HOSTS[@]} -gt 0 ] || HOSTS=("$(hostname -f)")
for h in "${HOSTS[@]}"; do
  [[ "$h" =~ ^[A-Za-z0-9.:-]+$ ]] || { echo "--host $h: a host name or address" >&2; exit 2; }
done
say() { printf '== %s\n' "$*"; }
envfile() { "$PYTHON" "$SRC/deploy/server/envfile.py" "$@"; }

say "packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3-venv mosquitto influxdb influxdb-client \
  fonts-wqy-microhei curl >/dev/null

say "user and folders"
id campuswatch >/dev/null 2>&1 || useradd --system --home /var/lib/campuswatch \
  --shell /usr/sbin/nologin campuswatch
install -d -m 0750 -o root -g campuswatch "$ETC"
# The service's state (the unit's StateDirectory= makes it too; made here so that the
# commands below work before the service first starts, or without systemd).
install -d -m 0700 -o campuswatch -g campuswatch /var/lib/campuswatch
install -d -m 0750 -o root -g mosquitto "$BROKER"

say "campus-ingest in $PREFIX"
[ -x "$PREFIX/bin/python" ] || "$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/pip" install -q --upgrade pip
"$PREFIX/bin/pip" install -q "$SRC[server]"
install -d "$PREFIX/dashboards"
rm -rf "$PREFIX/dashboards/json" && cp -r "$SRC/dashboards/json" "$PREFIX/dashboards/json"
cp "$SRC/README.md" "$PREFIX/README.md"
rm -rf "$PREFIX/docs" && cp -r "$SRC/docs" "$PREFIX/docs"
CLI="$PREFIX/bin/campus-ingest"

say "secrets (made once, kept on upgrades)"
ENV="$ETC/ingest.env"
[ -f "$ENV" ] || envfile make "$ENV" --site "$SITE" --name "$NAME" \
  --public-url "https://${HOSTS[0]}:8443" --tls-dir "$ETC/tls"
chgrp campuswatch "$ENV" && chmod 0640 "$ENV"
MQTT_PASSWORD=$(envfile get "$ENV" MQTT_PASSWORD)
INFLUX_PASSWORD=$(envfile get "$ENV" INFLUX_PASSWORD)
INFLUX_ADMIN_PASSWORD=$(envfile get "$ENV" INFLUX_ADMIN_PASSWORD)
GRAFANA_INFLUX_PASSWORD=$(envfile get "$ENV" GRAFANA_INFLUX_PASSWORD)
CAMPUSWATCH_PUBLIC_URL=$(envfile get "$ENV" CAMPUSWATCH_PUBLIC_URL)

say "broker: certificates, accounts, config"
if [ ! -f "$BROKER/tls/server.crt" ]; then
  args=(); for h in "${HOSTS[@]}" 127.0.0.1 localhost; do args+=(--host "$h"); done
  "$CLI" broker certs --dir "$BROKER/tls" "${args[@]}"
fi
chgrp -R mosquitto "$BROKER/tls" && chmod 0640 "$BROKER/tls/server.key"
install -d -m 0750 -o root -g campuswatch "$ETC/tls"
install -m 0644 "$BROKER/tls/ca.crt" "$BROKER/tls/server.crt" "$ETC/tls/"
install -m 0640 -g campuswatch "$BROKER/tls/server.key" "$ETC/tls/"
if [ -z "${MQTT_PASSWORD}" ]; then
  MQTT_PASSWORD=$("$CLI" broker add-ingest ingest --passwd "$BROKER/passwd" --acl "$BROKER/acl")
  envfile set "$ENV" MQTT_PASSWORD "$MQTT_PASSWORD"  # keeps the file's owner and mode
fi
chgrp mosquitto "$BROKER/passwd" "$BROKER/acl"
[ -f /etc/mosquitto/mosquitto.conf.debian ] || cp /etc/mosquitto/mosquitto.conf /etc/mosquitto/mosquitto.conf.debian
install -m 0644 "$SRC/deploy/mosquitto/mosquitto.conf" /etc/mosquitto/mosquitto.conf

say "database: auth, users, retention"
[ -f /etc/influxdb/influxdb.conf.debian ] || cp /etc/influxdb/influxdb.conf /etc/influxdb/influxdb.conf.debian
install -m 0644 "$SRC/deploy/influxdb/influxdb.conf" /etc/influxdb/influxdb.conf
if [ "$START" -eq 1 ]; then systemctl restart influxdb; else
  # As the unit would run it: a root influxd would leave its files root's.
  if [ -d /var/lib/influxdb ]; then chown -R influxdb:influxdb /var/lib/influxdb; fi
  pgrep -x influxd >/dev/null || (runuser -u influxdb -- influxd -config /etc/influxdb/influxdb.conf \
    >/var/log/influxd.log 2>&1 &)
fi
for _ in $(seq 60); do curl -sf http://127.0.0.1:8086/ping >/dev/null && break; sleep 1; done
# Statements (with passwords in them) go on standard input, the admin's password in the
# environment of that one process: nothing secret on a command line, where ps shows it.
influxql() { INFLUX_ADMIN_PASSWORD=$INFLUX_ADMIN_PASSWORD "$PYTHON" "$SRC/deploy/server/influxql.py" <<<"$1"; }
# InfluxDB lets the first user in without a password: that is the admin.
INFLUX_ADMIN_PASSWORD="" "$PYTHON" "$SRC/deploy/server/influxql.py" 2>/dev/null \
  <<<"CREATE USER admin WITH PASSWORD '$INFLUX_ADMIN_PASSWORD' WITH ALL PRIVILEGES" || true
influxql 'CREATE DATABASE campus'
influxql 'ALTER RETENTION POLICY "autogen" ON "campus" DURATION 400d'
influxql "CREATE USER campuswatch WITH PASSWORD '$INFLUX_PASSWORD'" 2>/dev/null \
  || influxql "SET PASSWORD FOR campuswatch = '$INFLUX_PASSWORD'"
influxql 'GRANT ALL ON "campus" TO campuswatch'
influxql "CREATE USER grafana WITH PASSWORD '$GRAFANA_INFLUX_PASSWORD'" 2>/dev/null \
  || influxql "SET PASSWORD FOR grafana = '$GRAFANA_INFLUX_PASSWORD'"
influxql 'GRANT READ ON "campus" TO grafana'

say "service config and unit"
[ -f "$ETC/ingest.yaml" ] || install -m 0640 -g campuswatch "$SRC/deploy/server/ingest.yaml" "$ETC/ingest.yaml"
"$CLI" check --config "$ETC/ingest.yaml" --env-file "$ENV"
install -m 0644 "$SRC/deploy/server/campus-ingest.service" /etc/systemd/system/campus-ingest.service

if [ -d /etc/grafana/provisioning ]; then
  say "Grafana provisioning"
  install -m 0640 -g grafana "$SRC/deploy/grafana/provisioning/datasources/campuswatch.yaml" \
    /etc/grafana/provisioning/datasources/campuswatch.yaml
  install -m 0644 "$SRC/deploy/grafana/provisioning/dashboards/campuswatch.yaml" \
    /etc/grafana/provisioning/dashboards/campuswatch.yaml
  # The password in a file the provisioning reads ($__file): an Environment= line would
  # show in systemctl show.
  (umask 027; printf '%s' "$GRAFANA_INFLUX_PASSWORD" >/etc/grafana/campuswatch-influx-password)
  chgrp grafana /etc/grafana/campuswatch-influx-password
  chmod 0640 /etc/grafana/campuswatch-influx-password
  install -d /etc/systemd/system/grafana-server.service.d
  printf '[Service]\nEnvironment=CAMPUSWATCH_INFLUX_URL=http://127.0.0.1:8086\nEnvironment=CAMPUSWATCH_INFLUX_USER=grafana\n' \
    >/etc/systemd/system/grafana-server.service.d/campuswatch.conf
fi

if [ "$START" -eq 1 ]; then
  say "starting"
  systemctl daemon-reload
  systemctl enable --now mosquitto influxdb
  systemctl restart mosquitto
  systemctl enable campus-ingest && systemctl restart campus-ingest
  if [ -d /etc/grafana/provisioning ]; then systemctl restart grafana-server || true; fi
fi

cat <<EOT

campuswatch is installed. Next:
  1. the first admin of the console (as the service's user, so it can read what is written):
       runuser -u campuswatch -- $CLI users add --config $ETC/ingest.yaml --env-file $ETC/ingest.env admin --name 管理员 --role admin
  2. an account for each gateway (prints its password for the gateway's MQTT_PASSWORD):
       $CLI broker add-gateway $SITE gw-gate --passwd $BROKER/passwd --acl $BROKER/acl
       systemctl reload mosquitto      (without systemd: pkill -HUP -x mosquitto)
     and give the gateway $BROKER/tls/ca.crt (uplink: port 8883, tls: {ca_file: ...}).
  3. the console: ${CAMPUSWATCH_PUBLIC_URL}/  (phones trust $ETC/tls/ca.crt)
EOT
