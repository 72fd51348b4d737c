#!/bin/sh
# Debian packages the test suite and the demo use: PostgreSQL (server, pg_cron),
# Mosquitto (the MQTT broker tests/ingest starts), Redis (several app workers), Chromium for the browser tests and a Korean font for its pages in Korean. Installs only what is missing; needs root
# (or sudo) for that, and says what to install otherwise.
set -eu

need=""
pg_bin=""
for d in /usr/lib/postgresql/*/bin; do [ -d "$d" ] && pg_bin="$d"; done  # glob order: the last is the newest
if [ -z "$pg_bin" ] && ! command -v pg_ctl >/dev/null 2>&1; then
  need="$need postgresql"
fi
if [ -n "$pg_bin" ]; then
  major=$(basename "$(dirname "$pg_bin")")
  [ -e "/usr/lib/postgresql/$major/lib/pg_cron.so" ] || need="$need postgresql-$major-cron"
else
  need="$need postgresql-15-cron"
fi
command -v chromium >/dev/null 2>&1 || need="$need chromium"
# the MQTT broker tests/ingest starts on a free port (mosquitto -c <its own conf>)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need="$need mosquitto"
# Reflex's state store for several app workers (tests/pages/test_workers.py starts its own)
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v docker-compose >/dev/null 2>&1 || need="$need docker-compose"
command -v shellcheck >/dev/null 2>&1 || need="$need shellcheck"
# a Korean font for the pages in Korean (Chromium draws empty boxes without one)
[ -e /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || need="$need fonts-nanum"

[ -z "$need" ] && exit 0
echo "installing:$need"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "missing Debian packages:$need (install them as root, then re-run)" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
