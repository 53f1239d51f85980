#!/bin/sh
# `docker compose run --rm setup` (deploy/district/compose.yaml), as root in the ingest's
# image: the district's CA (its key stays in the volume district-ca), the certificate of
# the three NATS nodes and the consoles, each ingest process's NATS account (it reads only
# its sites; the password goes into its env file) and its InfluxDB's users.
# `docker compose run --rm setup add-gateway SITE GATEWAY` adds a gateway's account and
# prints its password. Re-runnable: what exists is kept.
set -euf  # -f: site ids are split on commas below, never globbed
TOOLS=/opt/campuswatch/tools
NATS=/secrets/nats  # all the nodes mount: the accounts and the certificate, nothing else
AUTH=$NATS/auth.conf
mkdir -p "$NATS/tls"

if [ "${1:-}" = add-gateway ]; then
  campus-ingest broker add-gateway "$2" "$3" --nats "$AUTH"
  echo "now: docker compose kill -s HUP nats-1 nats-2 nats-3   (the nodes read it again)" >&2
  exit 0
fi

campus-ingest broker certs --dir /ca --host "$CAMPUSWATCH_HOST" \
  --host nats-1 --host nats-2 --host nats-3
install -m 0644 /ca/ca.crt /ca/server.crt "$NATS/tls/"
# The nodes (root) and the ingest processes (group 10001) read the key; nobody else.
install -m 0640 -g 10001 /ca/server.key "$NATS/tls/server.key"

# Each process's sites, one per line: site.id, then site.also_serves split on commas.
sites_of() {
  python - "$1" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "/opt/campuswatch/tools")
from envfile import read
pairs = read(Path(sys.argv[1]))
also = pairs.get("CAMPUSWATCH_ALSO_SERVES", "").split(",")
for site in [pairs.get("CAMPUSWATCH_SITE", ""), *also]:
    if site.strip():
        print(site.strip())
PY
}
for process in east west; do
  [ -f "/secrets/$process.env" ] || { echo "make /secrets/$process.env first (see the top of compose.yaml)" >&2; exit 2; }
done
shared=$( (sites_of /secrets/east.env; sites_of /secrets/west.env) | sort | uniq -d)
[ -z "$shared" ] || { echo "served by both processes (one each): $shared" >&2; exit 2; }

for process in east west; do
  ENV=/secrets/$process.env
  get() { python "$TOOLS/envfile.py" get "$ENV" "$1"; }
  if [ -z "$(get MQTT_PASSWORD)" ]; then  # a process's sites change with a new account
    set --
    for site in $(sites_of "$ENV"); do set -- "$@" --site "$site"; done
    password=$(campus-ingest broker add-ingest "$(get MQTT_USER)" "$@" --nats "$AUTH")
    python "$TOOLS/envfile.py" set "$ENV" MQTT_PASSWORD "$password"
  fi
  chown 10001:10001 "$ENV" && chmod 0600 "$ENV"
  sh "$TOOLS/influx-users.sh" "$ENV" "$(get INFLUX_URL)"
done
chmod 0600 "$AUTH"
echo "set up: docker compose up -d; then add each gateway: docker compose run --rm setup add-gateway SITE GATEWAY"
