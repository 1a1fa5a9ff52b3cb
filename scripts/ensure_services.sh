#!/usr/bin/env bash
# Make sure the local services the tests use are up, starting the ones that are down.
# Addresses come from the same variables the tests read; only loopback defaults are used.
set -u

PG_HOST=${TOUCAN_PG_HOST:-127.0.0.1}
PG_PORT=${TOUCAN_PG_PORT:-5432}
MYSQL_HOST=${TOUCAN_MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${TOUCAN_MYSQL_PORT:-3306}

is_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 30); do is_open "$1" "$2" && return 0; sleep 1; done
  echo "ensure_services: $3 is still not listening on $1:$2" >&2
  return 1
}

status=0
if ! is_open "$PG_HOST" "$PG_PORT"; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "ensure_services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  wait_for "$PG_HOST" "$PG_PORT" PostgreSQL || status=1
fi

if ! is_open "$MYSQL_HOST" "$MYSQL_PORT"; then
  if [ -x /usr/sbin/mariadbd ]; then
    echo "ensure_services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  wait_for "$MYSQL_HOST" "$MYSQL_PORT" MariaDB || status=1
fi

exit $status
