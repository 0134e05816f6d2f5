#!/usr/bin/env bash
# A backup of the portal's database: one pg_dump (custom format: consistent snapshot, compressed, restorable table
# by table) of PORTAL_DATABASE_URL into BACKUP_DIR (default ./backups), named by the UTC time; prints the file.
#   scripts/backup.sh
#   pg_restore --no-owner --dbname postgresql://…/portal_restored backups/portal-20261206T080000Z.dump
# Documents: sync the bucket after the dump (README "Backups"); `flask files verify` checks them.
set -euo pipefail
URL="${PORTAL_DATABASE_URL:?set PORTAL_DATABASE_URL (postgresql://user@host/db)}"
URL="${URL/postgresql+psycopg:/postgresql:}"
case "$URL" in postgresql:*|postgres:*) ;; *) echo "scripts/backup.sh backs up PostgreSQL; for SQLite copy the file with sqlite3 .backup" >&2; exit 2 ;; esac
DIR="${BACKUP_DIR:-./backups}"
mkdir -p "$DIR"
FILE="$DIR/portal-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --no-owner --no-privileges --file "$FILE.part" "$URL"
mv "$FILE.part" "$FILE"
echo "$FILE"
