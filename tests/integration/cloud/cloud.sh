#!/usr/bin/env bash
# A real OpenStack 2025.2 control plane on 127.0.0.1 for q8s's integration tests.
#
#   cloud.sh install   build (or reuse) the server venv, apt-get install rabbitmq-server
#   cloud.sh start     create the databases on first start, start every service, wait
#                      until the compute hosts are discovered, bootstrap projects,
#                      network, image, flavors and quotas, write clouds.yaml
#   cloud.sh stop      stop every process this script started (tracked by PID)
#   cloud.sh status    what runs
#   cloud.sh env       shell exports for clients (eval "$(cloud.sh env)")
#   cloud.sh reset     stop and delete the work dir (fresh databases next start)
#   cloud.sh stop-compute | start-compute   fault injection for the tests
#
# Settings (environment):
#   Q8S_CLOUD_DIR      work dir, all runtime state   (default /var/tmp/q8s-cloud)
#   Q8S_CLOUD_CACHE    venv cache                    (default /var/cache/q8s)
#   Q8S_CLOUD_PYTHON   interpreter for the venv      (default python3.11, else python3)
#   Q8S_CLOUD_COMPUTES number of fake compute hosts  (default 4; 1 with podman)
#   Q8S_CLOUD_NEUTRON_WORKERS  neutron's API processes (default 1; more take SQLite's
#                      write lock up front, as nova's do; the provisioning bench's option)
#   Q8S_CLOUD_COMPUTE  compute driver: fake (servers only in nova's database, the
#                      default) or podman (every server is also a podman container
#                      with systemd and sshd on this host; see README.md)
#   Q8S_CLOUD_SERVER_BASE   podman: image the servers' image is built from
#                           (default localhost/q8s-host:virt, tests/testbed/build-images.sh host)
#   Q8S_CLOUD_SERVER_SUBNET  podman: CIDR of the shared network `servers` whose ports
#                           the containers get (default 10.89.222.0/24)
#   Q8S_CLOUD_SERVER_VOLUMES podman: host dirs mounted read-only into every server
#                           (colon separated; default the guest image cache $CACHE/images)
# See README.md beside this file.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
W="${Q8S_CLOUD_DIR:-/var/tmp/q8s-cloud}"
CACHE="${Q8S_CLOUD_CACHE:-/var/cache/q8s}"
COMPUTE="${Q8S_CLOUD_COMPUTE:-fake}"
case "$COMPUTE" in
  fake) COMPUTES="${Q8S_CLOUD_COMPUTES:-4}"; DRIVER=q8s_fake.StableFakeDriver ;;
  podman) COMPUTES="${Q8S_CLOUD_COMPUTES:-1}"; DRIVER=q8s_fake.PodmanDriver ;;
  *) echo "cloud.sh: Q8S_CLOUD_COMPUTE must be fake or podman, not '$COMPUTE'" >&2; exit 2 ;;
esac
SERVER_BASE="${Q8S_CLOUD_SERVER_BASE:-localhost/q8s-host:virt}"
NEUTRON_WORKERS="${Q8S_CLOUD_NEUTRON_WORKERS:-1}"
[[ "$NEUTRON_WORKERS" =~ ^[1-9][0-9]*$ ]] ||
  { echo "cloud.sh: Q8S_CLOUD_NEUTRON_WORKERS must be a positive number, not '$NEUTRON_WORKERS'" >&2; exit 2; }
SERVER_VOLUMES="${Q8S_CLOUD_SERVER_VOLUMES-$CACHE/images}"
SERVER_SUBNET="${Q8S_CLOUD_SERVER_SUBNET:-10.89.222.0/24}"
# the podman network of the servers (the neutron subnet on this host) and their prefix
NOVA_NETWORK=q8s-nova
NOVA_LABEL=q8s_nova_instance
if [[ -n "${Q8S_CLOUD_PYTHON:-}" ]]; then PY="$Q8S_CLOUD_PYTHON"
elif command -v python3.11 >/dev/null; then PY=python3.11
else PY=python3; fi

IP=127.0.0.1
KEYSTONE_PORT=5000
NOVA_PORT=8774
NEUTRON_PORT=9696
GLANCE_PORT=9292
PLACEMENT_PORT=8778
RABBIT_PORT=5672
RABBIT_DIST_PORT=25673
EPMD_PORT=4371
SERVICE_PASSWORD=q8s-service-secret
ADMIN_PASSWORD=q8s-admin-secret
# the demo password lives in bootstrap.py (DEMO_PASSWORD), which writes clouds.yaml
TRANSPORT_URL="rabbit://guest:guest@$IP:$RABBIT_PORT/"
KEYSTONE_URL="http://$IP:$KEYSTONE_PORT"

export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
export NO_PROXY="$no_proxy"

log() { printf '[cloud %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

venv_key() {
  {
    "$PY" -c 'import sys; print(sys.version)'
    cat "$HERE/requirements.txt" "$HERE/constraints.txt"
    cat "$HERE/q8s_fake_ml2/pyproject.toml" "$HERE/q8s_fake_ml2/q8s_fake_ml2/"*.py
  } | sha256sum | cut -c1-12
}
VENV="$CACHE/openstack-venv-$(venv_key)"
B="$VENV/bin"

# ---------------------------------------------------------------- install
install_rabbitmq() {
  if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then return; fi
  log "apt-get install rabbitmq-server"
  local made_policy=0
  # keep Debian's maintainer scripts from starting a system-wide broker
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq rabbitmq-server >/dev/null || {
    apt-get update -qq && apt-get install -y -qq rabbitmq-server >/dev/null; }
  if [[ $made_policy == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
}

install_venv() {
  if [[ -f "$VENV/.q8s-complete" ]]; then
    log "server venv cached: $VENV"
    return
  fi
  log "building server venv $VENV"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  "$PY" -m venv "$VENV"
  "$B/pip" install -q -U pip setuptools wheel
  "$B/pip" install -q -c "$HERE/constraints.txt" -r "$HERE/requirements.txt"
  "$B/pip" install -q --no-build-isolation --no-deps "$HERE/q8s_fake_ml2"
  # BEGIN IMMEDIATE for every SQLite transaction (see q8s_fake_ml2/sqlite_immediate.py)
  echo "import q8s_fake_ml2.sqlite_immediate" \
    >"$("$B/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/q8s-sqlite-immediate.pth"
  touch "$VENV/.q8s-complete"
  # drop venvs of older requirement sets
  local d
  for d in "$CACHE"/openstack-venv-*; do
    [[ "$d" == "$VENV" ]] || rm -rf "$d"
  done
}

cmd_install() {
  local t0=$SECONDS
  install_rabbitmq
  install_venv
  log "install done in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- config
authtoken() { # $1 = user
  cat <<EOF
[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PASSWORD
service_token_roles_required = true
EOF
}

svc_auth() { # $1 = section, $2 = user
  cat <<EOF
[$1]
auth_url = $KEYSTONE_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $SERVICE_PASSWORD
region_name = RegionOne
EOF
}

gunicorn_conf() { # $1 = name, $2 = port, $3 = wsgi app, $4 = workers, $5 = class, $6 = threads
  cat >"$W/etc/$1/gunicorn.conf.py" <<EOF
# generated by tests/integration/cloud/cloud.sh
bind = "$IP:$2"
wsgi_app = "$3"
workers = $4
worker_class = "$5"
threads = $6
timeout = 300
graceful_timeout = 5
accesslog = "$W/log/$1-access.log"
# the request's duration in ms at the end: where a slow run spends its time
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s "%(a)s" %(M)sms'
# Apache's LimitRequestLine, in front of the services in most clouds: nova lists the ports
# of up to 150 servers in one neutron query (security_group_api), longer than gunicorn's
# default 4094 bytes
limit_request_line = 8190
EOF
}

write_configs() {
  mkdir -p "$W"/{etc/keystone,etc/nova,etc/neutron/plugins/ml2,etc/glance,etc/placement} \
    "$W"/{db,log,run,lock,glance/images,glance/staging,glance/tasks,nova-state,neutron-state,rabbitmq}
  local db="sqlite:///$W/db"

  cat >"$W/etc/keystone/keystone.conf" <<EOF
[DEFAULT]
debug = false
[database]
connection = $db/keystone.sqlite?timeout=30
[token]
provider = fernet
expiration = 14400
[fernet_tokens]
key_repository = $W/etc/keystone/fernet-keys
[credential]
key_repository = $W/etc/keystone/credential-keys
[identity]
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory_pickle
EOF
  gunicorn_conf keystone $KEYSTONE_PORT keystone.wsgi.api:application 1 gthread 4

  cat >"$W/etc/placement/placement.conf" <<EOF
[DEFAULT]
debug = false
[placement_database]
connection = $db/placement.sqlite?timeout=30
[api]
auth_strategy = keystone
$(authtoken placement)
EOF
  # one single-threaded worker, as neutron: with threads, two concurrent first
  # allocations of a project race to create it and one thread then waits on the other's
  # write lock until the busy timeout ("database is locked", NoValidHost) under load
  gunicorn_conf placement $PLACEMENT_PORT placement.wsgi.api:application 1 sync 1

  cp "$VENV/etc/glance/glance-api-paste.ini" "$W/etc/glance/"
  cat >"$W/etc/glance/glance-api.conf" <<EOF
[DEFAULT]
debug = false
enabled_backends = fs:file
[database]
connection = $db/glance.sqlite?timeout=30
[paste_deploy]
flavor = keystone
config_file = $W/etc/glance/glance-api-paste.ini
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $W/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $W/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $W/glance/tasks
[oslo_concurrency]
lock_path = $W/lock
$(authtoken glance)
EOF
  gunicorn_conf glance $GLANCE_PORT glance.wsgi.api:application 1 gthread 4

  cp "$VENV/etc/neutron/api-paste.ini" "$W/etc/neutron/"
  cat >"$W/etc/neutron/neutron.conf" <<EOF
[DEFAULT]
debug = false
core_plugin = ml2
service_plugins =
auth_strategy = keystone
transport_url = $TRANSPORT_URL
api_paste_config = $W/etc/neutron/api-paste.ini
state_path = $W/neutron-state
dhcp_agent_notification = false
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
[database]
connection = $db/neutron.sqlite?timeout=30
[oslo_concurrency]
lock_path = $W/lock
[quotas]
default_quota = -1
quota_network = 100
quota_subnet = 100
quota_port = 1000
quota_security_group = 100
quota_security_group_rule = 2000
$(authtoken neutron)
$(svc_auth nova neutron)
EOF
  cat >"$W/etc/neutron/plugins/ml2/ml2_conf.ini" <<EOF
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers = q8s_fake
extension_drivers = port_security
[ml2_type_vxlan]
vni_ranges = 1:1000
[ml2_type_flat]
flat_networks = *
EOF
  # one single-threaded worker by default: only neutron uses its database, so it never
  # sees "database is locked"; with more, they take the write lock up front (cmd_start)
  gunicorn_conf neutron $NEUTRON_PORT neutron.wsgi.api:application "$NEUTRON_WORKERS" sync 1

  cp "$VENV/etc/nova/api-paste.ini" "$W/etc/nova/"
  local common
  common=$(cat <<EOF
[DEFAULT]
debug = false
transport_url = $TRANSPORT_URL
my_ip = $IP
state_path = $W/nova-state/@NODE@
instances_path = $W/nova-state/@NODE@/instances
compute_driver = $DRIVER
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
cpu_allocation_ratio = 32.0
ram_allocation_ratio = 32.0
disk_allocation_ratio = 32.0
reserved_host_memory_mb = 0
reserved_host_disk_mb = 0
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = $W/etc/nova/api-paste.ini
[scheduler]
discover_hosts_in_cells_interval = 5
[filter_scheduler]
# concurrent requests: pick at random among the best hosts, not all the same one (the
# scheduler's own state lags behind builds in flight; a fake compute builds one at a time)
host_subset_size = $COMPUTES
shuffle_best_same_weighed_hosts = true
[vnc]
enabled = false
[oslo_messaging_notifications]
driver = noop
[oslo_concurrency]
lock_path = $W/lock
[glance]
region_name = RegionOne
$(svc_auth placement nova)
$(svc_auth neutron nova)
$(svc_auth service_user nova)
send_service_user_token = true
EOF
)
  cat >"$W/etc/nova/nova.conf" <<EOF
${common//@NODE@/control}
[database]
connection = $db/nova_cell1.sqlite?timeout=30
[api_database]
connection = $db/nova_api.sqlite?timeout=30
$(authtoken nova)
EOF
  local i
  for ((i = 1; i <= COMPUTES; i++)); do
    # nova-compute must not see database sections ("No DB access allowed")
    # and each needs its own state_path (it keeps its node identity there)
    printf '%s\n' "${common//@NODE@/fake-compute-$i}" |
      sed "s/^\[DEFAULT\]$/[DEFAULT]\nhost = fake-compute-$i/" \
      >"$W/etc/nova/nova-compute-$i.conf"
  done
  gunicorn_conf nova $NOVA_PORT nova.wsgi.osapi_compute:application 4 sync 1

  cat >"$W/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = $IP:$RABBIT_PORT
distribution.listener.interface = $IP
distribution.listener.port_range.min = $RABBIT_DIST_PORT
distribution.listener.port_range.max = $RABBIT_DIST_PORT
log.file.level = warning
EOF
  echo '[].' >"$W/rabbitmq/enabled_plugins"
}

# ---------------------------------------------------------------- processes
rabbit_env() {
  export HOME="$W/rabbitmq" \
    RABBITMQ_NODENAME=q8s@localhost \
    RABBITMQ_NODE_IP_ADDRESS=$IP \
    RABBITMQ_NODE_PORT=$RABBIT_PORT \
    RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT \
    RABBITMQ_CONFIG_FILE="$W/rabbitmq/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$W/rabbitmq/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$W/rabbitmq/mnesia" \
    RABBITMQ_LOG_BASE="$W/log" \
    RABBITMQ_PID_FILE="$W/run/rabbitmq-beam.pid" \
    ERL_EPMD_ADDRESS=$IP \
    ERL_EPMD_PORT=$EPMD_PORT
}

# spawn NAME CMD...: start in its own session, log to $W/log/NAME.log, record the PID.
# A daemon inherits no descriptor but stdio: the callers' cloud lock (fd 9 of run.sh and
# e2e.sh, fd 3 of `flock FILE cmd`) must go when the caller ends, not when the cloud does.
spawn() {
  local name=$1; shift
  if is_running "$name"; then log "$name already running"; return; fi
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@" >>"$W/log/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$W/run/$name.pid"
}

is_running() {
  local f="$W/run/$1.pid"
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_port() { # $1 name, $2 port, $3 timeout
  local t=0
  until (exec 3<>"/dev/tcp/$IP/$2") 2>/dev/null; do
    is_running "$1" || die "$1 exited, see $W/log/$1.log: $(tail -5 "$W/log/$1.log")"
    ((t++ < $3 * 5)) || die "$1 did not open port $2 in $3 s"
    sleep 0.2
  done
}

wait_http() { # $1 name, $2 url, $3 timeout
  local end=$((SECONDS + $3))
  until "$B/python" - "$2" <<'EOF' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=3)
except urllib.error.HTTPError:
    pass
EOF
  do
    is_running "$1" || die "$1 exited, see $W/log/$1.log: $(tail -5 "$W/log/$1.log")"
    ((SECONDS < end)) || die "$1 did not answer $2 in $3 s, see $W/log/$1.log"
    sleep 0.5
  done
}

start_gunicorn() { # $1 name, extra env...
  local name=$1; shift
  # no command line arguments: oslo.config would reject gunicorn's flags; gunicorn
  # reads ./gunicorn.conf.py from its working directory
  spawn "$name" env -C "$W/etc/$name" "OS_${name^^}_CONFIG_DIR=$W/etc/$name" "$@" \
    "$B/gunicorn"
}

wal() { "$B/python" - "$@" <<'EOF'
import sqlite3, sys
for path in sys.argv[1:]:
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=WAL")
    c.close()
EOF
}

first_start_dbs() {
  local m="$B"
  log "creating databases"
  "$m/keystone-manage" --config-file "$W/etc/keystone/keystone.conf" db_sync
  "$m/keystone-manage" --config-file "$W/etc/keystone/keystone.conf" fernet_setup \
    --keystone-user root --keystone-group root
  "$m/keystone-manage" --config-file "$W/etc/keystone/keystone.conf" credential_setup \
    --keystone-user root --keystone-group root
  "$m/keystone-manage" --config-file "$W/etc/keystone/keystone.conf" bootstrap \
    --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$KEYSTONE_URL/v3" --bootstrap-internal-url "$KEYSTONE_URL/v3" \
    --bootstrap-public-url "$KEYSTONE_URL/v3"
  "$m/placement-manage" --config-file "$W/etc/placement/placement.conf" db sync
  "$m/glance-manage" --config-file "$W/etc/glance/glance-api.conf" db_sync >/dev/null
  "$m/python" - "$W/db/neutron.sqlite" <<'EOF'
import sys
import sqlalchemy
from neutron.db.migration.models import head
engine = sqlalchemy.create_engine("sqlite:///" + sys.argv[1])
head.get_metadata().create_all(engine)
EOF
  "$m/neutron-db-manage" --config-file "$W/etc/neutron/neutron.conf" \
    --config-file "$W/etc/neutron/plugins/ml2/ml2_conf.ini" stamp heads >/dev/null
  local nm=("$m/nova-manage" --config-file "$W/etc/nova/nova.conf")
  "${nm[@]}" api_db sync
  "${nm[@]}" cell_v2 map_cell0 --database_connection "sqlite:///$W/db/nova_cell0.sqlite?timeout=30"
  "${nm[@]}" cell_v2 create_cell --name cell1 --transport-url "$TRANSPORT_URL" \
    --database_connection "sqlite:///$W/db/nova_cell1.sqlite?timeout=30" >/dev/null
  "${nm[@]}" db sync
  wal "$W"/db/*.sqlite
  touch "$W/.dbs-created"
}

start_rabbitmq() {
  ( rabbit_env
    mkdir -p "$RABBITMQ_MNESIA_BASE"
    if [[ ! -f "$HOME/.erlang.cookie" ]]; then
      head -c 20 /dev/urandom | base64 | tr -dc A-Za-z0-9 >"$HOME/.erlang.cookie"
      chmod 400 "$HOME/.erlang.cookie"
    fi
    spawn epmd /usr/bin/epmd -address $IP -port $EPMD_PORT
    sleep 0.3
    spawn rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server )
  wait_port rabbitmq $RABBIT_PORT 90
}

cmd_start() {
  local t0=$SECONDS
  [[ -f "$VENV/.q8s-complete" && -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || cmd_install
  mkdir -p "$W"
  # nova loads compute drivers from nova.virt only: a one-line shim there
  echo "from q8s_fake_ml2.virt import PodmanDriver, StableFakeDriver  # noqa: F401" \
    >"$("$B/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nova/virt/q8s_fake.py"
  write_configs
  [[ "$COMPUTE" != podman ]] || server_image
  start_rabbitmq
  [[ -f "$W/.dbs-created" ]] || first_start_dbs
  start_gunicorn keystone
  wait_http keystone "$KEYSTONE_URL/v3" 60
  "$B/python" "$HERE/bootstrap.py" identity "$W"
  start_gunicorn placement Q8S_SQLITE_IMMEDIATE=1
  start_gunicorn glance
  if ((NEUTRON_WORKERS > 1)); then start_gunicorn neutron Q8S_SQLITE_IMMEDIATE=1; else start_gunicorn neutron; fi
  start_gunicorn nova OS_NOVA_DISABLE_EVENTLET_PATCHING=true Q8S_SQLITE_IMMEDIATE=1
  local conf=(--config-file "$W/etc/nova/nova.conf")
  spawn nova-conductor env Q8S_SQLITE_IMMEDIATE=1 "$B/nova-conductor" "${conf[@]}"
  spawn nova-scheduler env Q8S_SQLITE_IMMEDIATE=1 "$B/nova-scheduler" "${conf[@]}"
  wait_http placement "http://$IP:$PLACEMENT_PORT/" 60
  local i
  for ((i = 1; i <= COMPUTES; i++)); do start_compute "$i"; done
  wait_http glance "http://$IP:$GLANCE_PORT/" 60
  wait_http neutron "http://$IP:$NEUTRON_PORT/" 90
  wait_http nova "http://$IP:$NOVA_PORT/" 90
  if [[ "$COMPUTE" == podman ]]; then
    "$B/python" "$HERE/bootstrap.py" resources "$W" "$SERVER_SUBNET"
  else
    "$B/python" "$HERE/bootstrap.py" resources "$W"
  fi
  log "waiting for $COMPUTES compute host(s)"
  wait_computes 60
  log "cloud up in $((SECONDS - t0)) s; clouds.yaml: $W/clouds.yaml (q8s-test, q8s-admin)"
}

# cloud.sh start-compute: start every compute again and return once each has reported
# since. Nova counts a compute "up" until its last report is 60 s old, and a restarted
# one reports only after its start-up (20 s and more on a busy machine): a server made
# in between fails in the scheduler's ComputeFilter (NoValidHost).
cmd_start_compute() {
  local since i
  since=$(date +%s)
  for ((i = 1; i <= COMPUTES; i++)); do start_compute "$i"; done
  log "waiting for $COMPUTES compute host(s) to report"
  wait_computes 90 "$since"
  log "compute host(s) reporting after $(($(date +%s) - since)) s"
}

# wait_computes TRIES [SINCE]: poll every 2 s, at most TRIES times, until bootstrap.py
# counts COMPUTES usable compute hosts (with SINCE: each reported at or after it). Without
# SINCE (a fresh start) each round also maps new hosts to the cell; a restarted compute
# is mapped already.
wait_computes() {
  local tries=$1 since=${2:-} t=0
  until "$B/python" "$HERE/bootstrap.py" computes "$W" "$COMPUTES" ${since:+"$since"}; do
    ((t++ < tries)) || die "compute hosts not usable in time, see $W/log/nova-compute-*.log"
    if [[ -z "$since" ]]; then
      "$B/nova-manage" --config-file "$W/etc/nova/nova.conf" cell_v2 discover_hosts >/dev/null 2>&1 || true
    fi
    sleep 2
  done
}

# start_compute N: fake-compute-N with a node identity that survives restarts
start_compute() {
  local host="fake-compute-$1" dir="$W/nova-state/fake-compute-$1"
  mkdir -p "$dir"
  [[ -f "$dir/compute_id" ]] || "$PY" -c \
    'import sys, uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, "q8s-fake-node:" + sys.argv[1]))' \
    "$host" >"$dir/compute_id"
  local env=()
  if [[ "$COMPUTE" == podman ]]; then
    env=("Q8S_NOVA_IMAGE=$(cat "$W/server-image")" "Q8S_NOVA_NETWORK=$NOVA_NETWORK"
      "Q8S_NOVA_VOLUMES=$SERVER_VOLUMES")
  fi
  spawn "nova-compute-$1" env "${env[@]}" "$B/nova-compute" \
    --config-file "$W/etc/nova/nova-compute-$1.conf"
}

# ---------------------------------------------------------------- podman servers
# The servers' image: the project's host image (systemd, QEMU, libvirt) plus sshd with
# host keys made at each server's first boot, as a cloud image has. Built once per base
# image and recipe, cached as localhost/q8s-nova-server:<key>.
server_image_recipe() {
  set -e
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
  rm -f /etc/ssh/ssh_host_*
  printf '%s\n' 'PasswordAuthentication no' 'KbdInteractiveAuthentication no' 'UseDNS no' \
    >/etc/ssh/sshd_config.d/q8s.conf
  printf '%s\n' '[Unit]' 'Description=SSH host keys of this server' 'Before=ssh.service' \
    'ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key' '[Service]' 'Type=oneshot' \
    'ExecStart=/usr/bin/ssh-keygen -A' '[Install]' 'WantedBy=multi-user.target' \
    >/etc/systemd/system/q8s-ssh-keygen.service
  systemctl enable q8s-ssh-keygen.service ssh.service >/dev/null 2>&1
  apt-get clean
  rm -rf /var/lib/apt/lists/*
}

server_image() {
  podman image exists "$SERVER_BASE" ||
    die "podman image $SERVER_BASE not found: build it with tests/testbed/build-images.sh host"
  local key tag
  key=$( { podman image inspect --format '{{.Id}}' "$SERVER_BASE"; declare -f server_image_recipe; } |
    sha256sum | cut -c1-12)
  tag="localhost/q8s-nova-server:$key"
  if ! podman image exists "$tag"; then
    log "building $tag from $SERVER_BASE (adds sshd)"
    local b="q8s-nova-build-$$"
    podman rm -f "$b" >/dev/null 2>&1 || true
    podman run --name "$b" --network host "$SERVER_BASE" \
      bash -c "$(declare -f server_image_recipe); server_image_recipe" >&2 ||
      { podman rm -f "$b" >/dev/null 2>&1; die "building $tag failed"; }
    podman commit -q --change 'CMD ["/sbin/init"]' "$b" "$tag" >/dev/null
    podman rm -f "$b" >/dev/null
  fi
  echo "$tag" >"$W/server-image"
}

# Remove every server container and the servers' network (nova's records stay; a
# started cloud sees those servers as stopped). NETAVARK's own chains go too when no
# other podman network or container is left on this machine.
remove_servers() {
  command -v podman >/dev/null || return 0
  local ids
  ids=$(podman ps -aq --filter "label=$NOVA_LABEL")
  if [[ -n "$ids" ]]; then
    log "removing $(wc -w <<<"$ids") server container(s)"
    # shellcheck disable=SC2086 # one id per word
    podman rm -f -t 0 $ids >/dev/null
  fi
  if podman network exists "$NOVA_NETWORK"; then podman network rm -f "$NOVA_NETWORK" >/dev/null; fi
  if [[ -z "$(podman ps -aq)" && "$(podman network ls -q)" == podman ]]; then
    local table chain
    for table in nat filter; do
      for chain in $(iptables -t "$table" -S 2>/dev/null | sed -n 's/^-N \(NETAVARK[^ ]*\)$/\1/p'); do
        # No jump to the chain is no error (grep exits 1; pipefail and set -e would stop here).
        { iptables -t "$table" -S 2>/dev/null | grep -e "-j $chain\( \|$\)" | grep '^-A' || true; } |
          sed 's/^-A/-D/' | while read -r rule; do
            # the rule as iptables -S prints it, quotes included (comments)
            eval "iptables -t $table $rule" 2>/dev/null || true
          done
      done
      for chain in $(iptables -t "$table" -S 2>/dev/null | sed -n 's/^-N \(NETAVARK[^ ]*\)$/\1/p'); do
        iptables -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $(iptables -t "$table" -S 2>/dev/null | sed -n 's/^-N \(NETAVARK[^ ]*\)$/\1/p'); do
        iptables -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  fi
}

SERVICES_STOP_ORDER=(nova nova-scheduler nova-conductor neutron glance placement keystone)

stop_one() {
  local name=$1 f="$W/run/$1.pid" pid i
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

cmd_stop() {
  [[ -d "$W/run" ]] || { remove_servers; log "nothing to stop"; return 0; }
  local f name
  for f in "$W"/run/nova-compute-*.pid; do
    [[ -e "$f" ]] || continue
    name=$(basename "$f" .pid)
    stop_one "$name"
  done
  for name in "${SERVICES_STOP_ORDER[@]}"; do stop_one "$name"; done
  if is_running rabbitmq; then
    ( rabbit_env; timeout 30 /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >/dev/null 2>&1 || true )
  fi
  stop_one rabbitmq
  stop_one epmd
  remove_servers
  log "stopped"
}

cmd_status() {
  local f name rc=0
  for f in "$W"/run/*.pid; do
    [[ -e "$f" ]] || { echo "not running"; return 3; }
    name=$(basename "$f" .pid)
    case "$name" in *-gunicorn | rabbitmq-beam) continue ;; esac
    if is_running "$name"; then echo "$name running (pid $(cat "$f"))"
    else echo "$name DEAD"; rc=1; fi
  done
  return $rc
}

cmd_env() {
  cat <<EOF
export OS_CLIENT_CONFIG_FILE=$W/clouds.yaml
export OS_CLOUD=q8s-test
export Q8S_CLOUD_DIR=$W
export Q8S_CLOUD_VENV=$VENV
export no_proxy=$no_proxy
EOF
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  env) cmd_env ;;
  venv) echo "$VENV" ;;
  reset) cmd_stop; rm -rf "$W"; log "removed $W" ;;
  stop-compute)
    for f in "$W"/run/nova-compute-*.pid; do [[ -e "$f" ]] && stop_one "$(basename "$f" .pid)"; done ;;
  start-compute) cmd_start_compute ;;
  *) echo "usage: $0 install|start|stop|restart|status|env|venv|reset|stop-compute|start-compute" >&2
     exit 2 ;;
esac
