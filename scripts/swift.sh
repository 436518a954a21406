#!/usr/bin/env bash
# A throwaway one-replica OpenStack Swift with the S3 API on 127.0.0.1, for development and tests.
#   scripts/swift.sh start DIR   installs Debian's packages if missing, starts memcached, the
#                                account/container/object servers and the proxy (data under DIR),
#                                waits for /healthcheck, writes DIR/env (FERRY_TEST_S3_* variables)
#   scripts/swift.sh stop DIR    stops every process it started, by the PIDs in DIR/pids
#   scripts/swift.sh proxy DIR [PORT]  one more proxy on the same servers; prints "PORT PID"
# Credentials: access key test:tester, secret testing (tempauth), region us-east-1.
set -euo pipefail
cmd=${1:?usage: swift.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: swift.sh start|stop DIR}")
PY=/usr/bin/python3

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

stop() {
  [ -f "$dir/pids" ] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$dir/pids"
  for _ in $(seq 50); do
    alive=0
    while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$dir/pids"
    [ $alive = 0 ] && break
    sleep 0.1
  done
  while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$dir/pids"
  rm -f "$dir/pids"
}

wait_healthy() { # PORT: waits up to 30 s for the proxy's /healthcheck
  for _ in $(seq 300); do
    "$PY" -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$1/healthcheck', timeout=1).status == 200 else 1)" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
if [ "$cmd" = proxy ]; then
  # scripts/swift.sh proxy DIR [PORT]: one more proxy over the same servers (a test may kill it and
  # start it again on the same PORT without disturbing anyone using the first). Prints "PORT PID".
  port=${3:-$(free_port)}
  sed "s/^bind_port = .*/bind_port = $port/" "$dir/etc/proxy-server.conf" > "$dir/etc/proxy-$port.conf"
  # Its own process group (setsid), so `kill -- -PID` stops it and the worker it forks.
  setsid "$PY" "$(command -v swift-proxy-server)" "$dir/etc/proxy-$port.conf" >>"$dir/log/proxy-$port.log" 2>&1 &
  pid=$!
  echo "$pid" >> "$dir/pids"
  wait_healthy "$port" || { echo "swift: proxy on $port did not start; see $dir/log/proxy-$port.log" >&2; exit 1; }
  echo "$port $pid"
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: swift.sh start|stop|proxy DIR" >&2; exit 2; }

if ! command -v swift-proxy-server >/dev/null || ! command -v memcached >/dev/null; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    swift swift-proxy swift-account swift-container swift-object python3-swift memcached >/dev/null
fi

mkdir -p "$dir/etc" "$dir/srv/d1" "$dir/run" "$dir/log"
: > "$dir/pids"
# Swift refuses to run as root without a user to switch to; the files are ours.
user=$(id -un)
mem=$(free_port); acc=$(free_port); con=$(free_port); obj=$(free_port); proxy=$(free_port)

cat > "$dir/etc/swift.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = ferry-test
swift_hash_path_prefix = ferry-test
[storage-policy:0]
name = gold
default = yes
CONF

common() {
  cat <<CONF
[DEFAULT]
devices = $dir/srv
mount_check = false
bind_ip = 127.0.0.1
bind_port = $1
workers = 1
user = $user
swift_dir = $dir/etc
log_facility = LOG_LOCAL2
log_level = WARNING
CONF
}
{ common "$acc"; printf '[pipeline:main]\npipeline = account-server\n[app:account-server]\nuse = egg:swift#account\n[account-replicator]\n[account-auditor]\n[account-reaper]\n'; } > "$dir/etc/account-server.conf"
{ common "$con"; printf '[pipeline:main]\npipeline = container-server\n[app:container-server]\nuse = egg:swift#container\nallow_versions = true\n[container-replicator]\n[container-updater]\n[container-auditor]\n[container-sync]\n'; } > "$dir/etc/container-server.conf"
{ common "$obj"; printf '[pipeline:main]\npipeline = object-server\n[app:object-server]\nuse = egg:swift#object\n[object-replicator]\n[object-updater]\n[object-auditor]\n'; } > "$dir/etc/object-server.conf"
cat > "$dir/etc/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $proxy
workers = 1
user = $user
swift_dir = $dir/etc
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth bulk copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$mem
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

(
  cd "$dir/etc"
  for ring in account:$acc container:$con object:$obj; do
    name=${ring%%:*}; port=${ring##*:}
    swift-ring-builder "$name.builder" create 8 1 1 >/dev/null
    swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null
    swift-ring-builder "$name.builder" rebalance >/dev/null 2>&1 || true
  done
)

memcached -l 127.0.0.1 -p "$mem" -U 0 -u "$user" >"$dir/log/memcached.log" 2>&1 &
echo $! >> "$dir/pids"
for server in account container object; do
  "$PY" "$(command -v swift-$server-server)" "$dir/etc/$server-server.conf" >"$dir/log/$server.log" 2>&1 &
  echo $! >> "$dir/pids"
done
"$PY" "$(command -v swift-proxy-server)" "$dir/etc/proxy-server.conf" >"$dir/log/proxy.log" 2>&1 &
echo $! > "$dir/proxy.pid"
cat "$dir/proxy.pid" >> "$dir/pids"

if wait_healthy "$proxy"; then
  cat > "$dir/env" <<ENV
export FERRY_TEST_S3_ENDPOINT=http://127.0.0.1:$proxy
export FERRY_TEST_SWIFT_DIR=$dir
export AWS_ACCESS_KEY_ID=test:tester
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
ENV
  echo "swift: S3 API on http://127.0.0.1:$proxy (data in $dir)"
  exit 0
fi
echo "swift: the proxy did not answer /healthcheck within 30 s; logs in $dir/log" >&2
stop
exit 1
