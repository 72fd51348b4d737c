#!/bin/sh
# Back up the ksys database: a pg_dump custom-format file plus FILE.manifest.json
# (row counts and checksums per tag and day), with `ksys backup`.
#
#   scripts/backup.sh [FILE]
#   docker exec -e KSYS_ADMIN_DSN ksys-app scripts/backup.sh /backup/ecoanp_2025-01-31.dump
#
# The DSN comes from the environment: KSYS_ADMIN_DSN (owner/superuser), else
# TS_DSN. Without FILE the dump is written to $KSYS_BACKUP_DIR (default: the
# current directory) as ksys_<db>_<UTC time>.dump. Exit code: that of ksys.
set -eu

usage() {
  echo "usage: $0 [FILE]   (DSN from KSYS_ADMIN_DSN or TS_DSN)" >&2
  exit 2
}

[ "$#" -le 1 ] || usage
case "${1:-}" in -h|--help) usage ;; esac
if [ -z "${KSYS_ADMIN_DSN:-}" ] && [ -z "${TS_DSN:-}" ]; then
  echo "$0: set KSYS_ADMIN_DSN (e.g. postgresql://postgres:...@db:5432/ecoanp)" >&2
  exit 2
fi

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
if command -v ksys >/dev/null 2>&1; then
  set -- ksys backup ${1:+--out "$1"}
elif [ -x "$here/../.venv/bin/ksys" ]; then
  set -- "$here/../.venv/bin/ksys" backup ${1:+--out "$1"}
else
  set -- python3 -m ksys_app.ops.cli backup ${1:+--out "$1"}
fi
exec "$@"
