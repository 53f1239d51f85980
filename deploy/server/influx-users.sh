#!/bin/sh
# `sh influx-users.sh ENV_FILE INFLUX_URL`: the campus database of one ingest process and
# its users (the admin, and campuswatch that writes), from the passwords in its env file.
# Run by deploy/compose.yaml's and deploy/district/compose.yaml's setup; re-runnable.
# Statements on standard input, passwords never on a command line (see influxql.py).
set -eu
TOOLS=$(dirname "$0")
ENV=$1
export INFLUX_URL="$2"
get() { python "$TOOLS/envfile.py" get "$ENV" "$1"; }
sql() { INFLUX_ADMIN_PASSWORD=$(get INFLUX_ADMIN_PASSWORD) python "$TOOLS/influxql.py"; }
echo "CREATE USER admin WITH PASSWORD '$(get INFLUX_ADMIN_PASSWORD)' WITH ALL PRIVILEGES" \
  | INFLUX_ADMIN_PASSWORD="" python "$TOOLS/influxql.py" 2>/dev/null || true
echo 'CREATE DATABASE campus' | sql
echo 'ALTER RETENTION POLICY "autogen" ON "campus" DURATION 400d' | sql
echo "CREATE USER campuswatch WITH PASSWORD '$(get INFLUX_PASSWORD)'" | sql 2>/dev/null \
  || echo "SET PASSWORD FOR campuswatch = '$(get INFLUX_PASSWORD)'" | sql
echo 'GRANT ALL ON "campus" TO campuswatch' | sql
