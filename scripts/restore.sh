#!/bin/sh
# Restore a dump made by scripts/backup.sh (`ksys backup`) with `ksys restore`:
# TimescaleDB pre/post restore, pg_cron left out and re-scheduled, grants,
# verification against FILE.manifest.json, job kick-start, ANALYZE.
#
#   scripts/restore.sh FILE [--force] [--no-verify]
#   scripts/restore.sh --resume          (after a PostgreSQL restart, exit code 3)
#   docker exec -e KSYS_ADMIN_DSN ksys-app scripts/restore.sh /backup/ecoanp_2025-01-31.dump
#
# The target DSN comes from the environment: KSYS_ADMIN_DSN, else TS_DSN. The
# database is created when missing; a non-empty one is refused unless --force
# (which drops and re-creates it: its data is lost). Exit codes: 0 done,
# 1 refused or verification failed, 2 error, 3 PostgreSQL restart needed.
set -eu

usage() {
  echo "usage: $0 FILE [--force] [--no-verify] | $0 --resume   (DSN from KSYS_ADMIN_DSN or TS_DSN)" >&2
  exit 2
}

[ "$#" -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
if [ -z "${KSYS_ADMIN_DSN:-}" ] && [ -z "${TS_DSN:-}" ]; then
  echo "$0: set KSYS_ADMIN_DSN (e.g. postgresql://postgres:...@db:5432/ecoanp)" >&2
  exit 2
fi

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
if command -v ksys >/dev/null 2>&1; then
  exec ksys restore "$@"
elif [ -x "$here/../.venv/bin/ksys" ]; then
  exec "$here/../.venv/bin/ksys" restore "$@"
else
  exec python3 -m ksys_app.ops.cli restore "$@"
fi
