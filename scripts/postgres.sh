#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1, for development and tests.
#   scripts/postgres.sh start DIR   installs Debian's postgresql if missing, initdb in DIR/data
#                                   (trust auth, user ferry), starts it on a free port, writes
#                                   DIR/env (FERRY_TEST_DB=postgres://ferry@127.0.0.1:PORT/postgres)
#   scripts/postgres.sh stop DIR    stops it (pg_ctl, then the postmaster's PID)
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: postgres.sh start|stop DIR}")

bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "$cmd" = stop ]; then
  [ -f "$dir/data/postmaster.pid" ] || exit 0
  pid=$(head -1 "$dir/data/postmaster.pid")
  as_pg "$(bin)/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop >/dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: postgres.sh start|stop DIR" >&2; exit 2; }

if [ -z "$(bin)" ]; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
BIN=$(bin)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$dir"
# initdb refuses to run as root: the cluster belongs to the postgres user, who must reach DIR.
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  if ! runuser -u postgres -- test -w "$dir"; then
    echo "postgres: the postgres user cannot reach $dir (a parent directory is private: chmod a+x it)" >&2
    exit 1
  fi
fi
as_pg "$BIN/initdb" -D "$dir/data" -A trust -U ferry >"$dir/initdb.log" 2>&1 || { echo "postgres: initdb failed; see $dir/initdb.log" >&2; exit 1; }
as_pg "$BIN/pg_ctl" -D "$dir/data" -w -t 60 -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" -l "$dir/log" start >/dev/null
cat > "$dir/env" <<ENV
export FERRY_TEST_DB=postgres://ferry@127.0.0.1:$port/postgres
export FERRY_TEST_PG_DIR=$dir
ENV
echo "postgres: postgres://ferry@127.0.0.1:$port/postgres (data in $dir)"
