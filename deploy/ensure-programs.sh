#!/usr/bin/env bash
# Make sure the real programs the demo and the tests run are installed:
# mosquitto (+ clients), influxd, socat, chromium (the console's browser tests drive it
# headless through Playwright) and docker-compose (only to validate deploy/compose.yaml). Installs them with apt-get when missing and possible;
# otherwise says exactly what to install and fails.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin"

declare -A package_of=(
  [mosquitto]=mosquitto
  [mosquitto_pub]=mosquitto-clients
  [mosquitto_sub]=mosquitto-clients
  [influxd]=influxdb
  [socat]=socat
  [chromium]=chromium
  [docker-compose]=docker-compose
)
missing=()
for program in "${!package_of[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${package_of[$program]}")
done
# A font with Chinese glyphs for the report charts (matplotlib finds it by name).
if ! compgen -G "/usr/share/fonts/**/*[wW][qQ][yY]*" >/dev/null \
   && ! compgen -G "/usr/share/fonts/opentype/noto/*CJK*" >/dev/null \
   && ! compgen -G "/usr/share/fonts/truetype/wqy/*" >/dev/null; then
  missing+=(fonts-wqy-microhei)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "campuswatch needs these Debian packages: $packages" >&2
    echo "install them with: sudo apt-get install -y $packages" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "campuswatch needs: $packages (no apt-get here: install them with your package manager)" >&2
  exit 1
fi
echo "installing $packages with apt-get" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
# Debian starts the freshly installed services; the demo and the tests run their own.
