#!/usr/bin/env bash
# Quartermaster lab: a real Docker swarm on this one machine.
#
#   scripts/lab.sh up      bring the lab up (idempotent, repairs a half-up lab)
#   scripts/lab.sh down    tear everything down again (idempotent)
#   scripts/lab.sh status  report each component; exit 0 only if all is up
#
# Layout: the host dockerd is the swarm manager (10.77.0.1 on bridge qmbr0);
# worker i is a dockerd in network namespace qmw$i (10.77.0.$((10+i))); a
# private registry (TLS + htpasswd) listens on 10.77.0.1:5000; a throwaway
# PostgreSQL 15 cluster (user qm) listens on 127.0.0.1 and 10.77.0.1, port
# 55432, and on a socket in /run/qm-postgres. Tests read the facts file
# /var/lib/qm-lab/lab.json.
#
# Env: LAB_WORKERS (2), LAB_REGISTRY_USER (qmuser), LAB_REGISTRY_PASSWORD (qmpass),
# LAB_POSTGRES_PASSWORD (default: one generated at the first `up`, kept until `down`).
set -euo pipefail

readonly LAB_DIR=/var/lib/qm-lab
readonly STATE_DIR=$LAB_DIR/state
readonly FACTS=$LAB_DIR/lab.json
readonly BRIDGE=qmbr0
readonly NET_PREFIX=10.77.0
readonly MANAGER_ADDR=$NET_PREFIX.1
readonly REGISTRY=$MANAGER_ADDR:5000
readonly CERTS_D=/etc/docker/certs.d/$REGISTRY
readonly IMAGE=qm/busybox:latest
readonly PRIVATE_REPO=private/busybox
readonly PRIVATE_TAG=1
readonly PRIVATE_IMAGE=$REGISTRY/$PRIVATE_REPO:$PRIVATE_TAG
readonly LAB_LABEL=qm.lab
readonly MGR_SOCK=unix:///var/run/docker.sock
readonly MGR_PIDFILE=/var/run/docker.pid
readonly MGR_LOG=/var/log/qm-dockerd.log
readonly MGR_STARTED=$STATE_DIR/manager-started-by-lab
readonly MGR_NODE_ID=$STATE_DIR/manager-node-id
readonly REG_DIR=$STATE_DIR/registry
readonly REG_CONFIG=$REG_DIR/config.yml
readonly REG_CERT=$REG_DIR/registry.crt
readonly REG_KEY=$REG_DIR/registry.key
readonly REG_HTPASSWD=$REG_DIR/htpasswd
readonly REG_PIDFILE=$REG_DIR/registry.pid
readonly REG_LOG=/var/log/qm-registry.log
readonly WORKER_CONFIG=$STATE_DIR/worker-daemon.json
readonly LOCK_FILE=/run/qm-lab.lock
readonly MANIFEST_ACCEPT=application/vnd.docker.distribution.manifest.v2+json
readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly PG_DATA=$LAB_DIR/postgres
readonly PG_SOCKET_DIR=/run/qm-postgres
readonly PG_PORT=55432
readonly PG_ADDRS=(127.0.0.1 "$MANAGER_ADDR")
readonly PG_LOG=/var/log/qm-postgres.log
readonly PG_ADMIN=postgres # the superuser; also the OS user the cluster runs as
readonly PG_USER=qm
readonly PG_PASSWORD_FILE=$STATE_DIR/postgres-password
readonly PG_ADMIN_URL="postgresql+psycopg://$PG_ADMIN@/postgres?host=$PG_SOCKET_DIR&port=$PG_PORT"

WORKERS=${LAB_WORKERS:-2}
REG_USER=${LAB_REGISTRY_USER:-qmuser}
REG_PASS=${LAB_REGISTRY_PASSWORD:-qmpass}
REG_RESTART=0 # set when the registry's config, cert or htpasswd changed
PG_PASS=${LAB_POSTGRES_PASSWORD:-} # else the kept or a generated one (postgres_password)
PG_RESTART=0 # set when PostgreSQL's config or pg_hba changed

# Never send lab traffic (registry pushes/pulls, curl) through a proxy.
export NO_PROXY="${NO_PROXY:+$NO_PROXY,}$NET_PREFIX.0/24,127.0.0.1,localhost"
export no_proxy=$NO_PROXY

# ---------------------------------------------------------------- helpers --

log() { printf 'lab: %s\n' "$*"; }
warn() { printf 'lab: warning: %s\n' "$*" >&2; }
die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 1
}

mgr() { docker -H "$MGR_SOCK" "$@"; }

w_ns() { echo "qmw$1"; }
w_addr() { echo "$NET_PREFIX.$((10 + $1))"; }
w_host() { echo "lab-worker-$1"; }
w_veth() { echo "qmv$1"; }
w_root() { echo "$LAB_DIR/w$1"; }
w_exec() { echo "/run/qm-w$1"; }
w_sock() { echo "unix:///run/qm-w$1/docker.sock"; }
w_pidfile() { echo "/run/qm-w$1/docker.pid"; }
w_log() { echo "/var/log/qm-w$1.log"; }
wdocker() {
  local i=$1
  shift
  timeout 60 docker -H "$(w_sock "$i")" "$@"
}

# is_alive PID [COMM]: the process exists, is not a zombie and (if given) has
# that command name.
is_alive() {
  local pid=$1 comm=${2:-} stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]] || return 1
  [[ -z $comm || $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]
}

# live_pid PIDFILE COMM: print the pid from PIDFILE if that process is alive
# and is COMM; fail otherwise.
live_pid() {
  local pid
  [[ -r $1 ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  is_alive "$pid" "$2" || return 1
  echo "$pid"
}

# drop_stale_pidfile PIDFILE COMM: remove PIDFILE if its process is gone.
drop_stale_pidfile() {
  if [[ -e $1 ]] && ! live_pid "$1" "$2" >/dev/null; then
    log "removing stale pidfile $1"
    rm -f "$1"
  fi
}

# wait_gone PID TIMEOUT
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while is_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# kill_pid PID WHAT [TIMEOUT]: SIGTERM, wait, then SIGKILL.
kill_pid() {
  local pid=$1 what=$2 timeout=${3:-30}
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$timeout"; then
    warn "$what (pid $pid) did not exit after ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$what (pid $pid) survives SIGKILL"
  fi
}

# stop_pidfile PIDFILE COMM WHAT [TIMEOUT]: stop the process named by PIDFILE.
stop_pidfile() {
  local pid
  if pid=$(live_pid "$1" "$2"); then
    log "stopping $3 (pid $pid)"
    kill_pid "$pid" "$3" "${4:-30}"
  fi
  rm -f "$1"
}

docker_ready() { timeout 10 docker -H "$1" version -f '{{.Server.Version}}' >/dev/null 2>&1; }

# wait_docker SOCK PID LOG WHAT: poll until the daemon answers.
wait_docker() {
  local sock=$1 pid=$2 logf=$3 what=$4 deadline=$((SECONDS + 60))
  until docker_ready "$sock"; do
    if ! is_alive "$pid" || ((SECONDS >= deadline)); then
      printf 'lab: error: %s did not come up; last lines of %s:\n' "$what" "$logf" >&2
      tail -n 15 "$logf" >&2 || true
      exit 1
    fi
    sleep 0.3
  done
}

json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# json_list ITEM...: a JSON array of strings.
json_list() {
  local out="" item
  for item in "$@"; do out+="${out:+, }$(json_str "$item")"; done
  printf '[%s]' "$out"
}

# Worker indices that exist on this machine in any form.
existing_workers() {
  local p
  {
    for p in /run/netns/qmw* "$LAB_DIR"/w* /run/qm-w*; do
      [[ -e $p ]] || continue
      p=${p##*w}
      [[ $p =~ ^[0-9]+$ ]] && echo "$p"
    done
  } | sort -un
}

# ------------------------------------------------------- manager daemon ----

ensure_manager_daemon() {
  local pid
  mkdir -p "$STATE_DIR"
  docker_ready "$MGR_SOCK" && return 0
  drop_stale_pidfile "$MGR_PIDFILE" dockerd
  drop_stale_pidfile /var/run/docker/containerd/containerd.pid containerd
  if pid=$(live_pid "$MGR_PIDFILE" dockerd); then
    log "host dockerd (pid $pid) is running but not answering yet; waiting"
  else
    log "starting host dockerd (log: $MGR_LOG)"
    setsid dockerd >>"$MGR_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    touch "$MGR_STARTED"
  fi
  wait_docker "$MGR_SOCK" "$pid" "$MGR_LOG" "host dockerd"
}

# ---------------------------------------------------------------- network --

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($MANAGER_ADDR/24)"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$MANAGER_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

forward_rule() { iptables "$1" FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT; }

ensure_forward_rule() {
  if ! forward_rule -C 2>/dev/null; then
    log "allowing forwarding inside $BRIDGE (iptables)"
    forward_rule -I
  fi
}

ensure_worker_net() {
  local i=$1 ns veth pid
  ns=$(w_ns "$i")
  veth=$(w_veth "$i")
  if pid=$(live_pid "$(w_pidfile "$i")" dockerd) &&
    [[ $(ip netns identify "$pid" 2>/dev/null) != "$ns" ]]; then
    warn "worker $i daemon (pid $pid) is not in netns $ns; restarting it"
    stop_worker_daemon "$i"
  fi
  if [[ ! -e /run/netns/$ns ]]; then
    log "creating netns $ns"
    ip netns add "$ns"
  fi
  if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    ip link del "$veth" >/dev/null 2>&1 || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" addr replace "$(w_addr "$i")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
}

# ---------------------------------------------------------- worker daemons --

# start_worker_daemon I: start worker I's dockerd unless it runs; its pid goes
# to WORKER_PIDS[I].
WORKER_PIDS=()
start_worker_daemon() {
  local i=$1 pidfile exec_root pid
  pidfile=$(w_pidfile "$i")
  exec_root=$(w_exec "$i")
  if pid=$(live_pid "$pidfile" dockerd); then
    WORKER_PIDS[i]=$pid
    return 0
  fi
  drop_stale_pidfile "$pidfile" dockerd
  drop_stale_pidfile "$exec_root/containerd/containerd.pid" containerd
  mkdir -p "$exec_root" "$(w_root "$i")"
  log "starting worker $i dockerd in netns $(w_ns "$i") (log: $(w_log "$i"))"
  # shellcheck disable=SC2016 # $1/$@ expand in the inner sh
  setsid nsenter --net="/run/netns/$(w_ns "$i")" unshare --uts \
    sh -c 'hostname "$1"; shift; exec dockerd "$@"' sh "$(w_host "$i")" \
    --config-file "$WORKER_CONFIG" \
    --data-root "$(w_root "$i")" --exec-root "$exec_root" \
    -H "$(w_sock "$i")" --pidfile "$pidfile" \
    >>"$(w_log "$i")" 2>&1 </dev/null 9>&- &
  WORKER_PIDS[i]=$!
}

ensure_worker_daemons() {
  local i
  [[ -e $WORKER_CONFIG ]] || echo '{}' >"$WORKER_CONFIG"
  for ((i = 1; i <= WORKERS; i++)); do start_worker_daemon "$i"; done
  for ((i = 1; i <= WORKERS; i++)); do
    wait_docker "$(w_sock "$i")" "${WORKER_PIDS[i]}" "$(w_log "$i")" "worker $i dockerd"
  done
}

stop_worker_daemon() {
  stop_pidfile "$(w_pidfile "$1")" dockerd "worker $1 dockerd" 30
}

# containerd processes (daemon, shims) whose command line names worker I's
# paths; printed as pids.
worker_leftover_pids() {
  local i=$1 d pid cmd
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [[ $(cat "$d/comm" 2>/dev/null) == containerd* ]] || continue
    cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
    [[ $cmd == *"$(w_exec "$i")/"* || $cmd == *"$(w_root "$i")/"* ]] || continue
    [[ $pid != "$$" ]] && echo "$pid"
  done
}

# umount_under PATH...: unmount everything mounted below these paths, deepest first.
umount_under() {
  local p m
  for p in "$@"; do
    awk -v p="$p" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/mounts
  done | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- |
    while read -r m; do
      m=$(printf '%b' "${m//\\/\\0}")
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || warn "could not unmount $m"
    done
}

teardown_worker() {
  local i=$1 rt id pid
  if docker_ready "$(w_sock "$i")"; then
    wdocker "$i" swarm leave --force >/dev/null 2>&1 || true
  fi
  stop_worker_daemon "$i"
  rt=$(w_exec "$i")/runtime-runc/moby
  if [[ -d $rt ]]; then
    for id in $(runc --root "$rt" list -q 2>/dev/null); do
      runc --root "$rt" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  for pid in $(worker_leftover_pids "$i"); do
    kill_pid "$pid" "worker $i leftover process" 10
  done
  umount_under "$(w_exec "$i")" "$(w_root "$i")"
  ip netns del "$(w_ns "$i")" 2>/dev/null || true
  ip link del "$(w_veth "$i")" 2>/dev/null || true
  rm -rf --one-file-system "$(w_exec "$i")" "$(w_root "$i")"
}

remove_extra_workers() {
  local i
  for i in $(existing_workers); do
    ((i > WORKERS)) || continue
    log "removing worker $i (LAB_WORKERS=$WORKERS)"
    teardown_worker "$i"
  done
}

# ------------------------------------------------------------------ swarm --

mgr_swarm() { mgr info -f "{{.Swarm.$1}}"; }

# Is the host's swarm the lab's? (label, or the node id the lab recorded)
swarm_is_lab() {
  local nid label
  nid=$(mgr_swarm NodeID)
  [[ -n $nid && -r $MGR_NODE_ID && $(cat "$MGR_NODE_ID") == "$nid" ]] && return 0
  label=$(mgr node inspect -f "{{index .Spec.Labels \"$LAB_LABEL\"}}" self 2>/dev/null) || return 1
  [[ $label == 1 ]]
}

refuse_foreign_swarm() {
  die "host Docker is in a swarm the lab did not create; refusing to touch it" \
    "(run 'docker swarm leave --force' yourself if it is disposable)"
}

init_swarm() {
  log "initialising swarm on $MANAGER_ADDR"
  mgr swarm init --advertise-addr "$MANAGER_ADDR" --listen-addr "$MANAGER_ADDR:2377" >/dev/null
  mgr_swarm NodeID >"$MGR_NODE_ID"
}

# wait_manager_control: wait until this node answers as swarm manager (leader elected).
wait_manager_control() {
  local deadline=$((SECONDS + ${1:-40}))
  until mgr node inspect self >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

ensure_swarm() {
  local state
  state=$(mgr_swarm LocalNodeState)
  case $state in
    inactive) init_swarm ;;
    active)
      [[ $(mgr_swarm ControlAvailable) == true ]] || refuse_foreign_swarm
      wait_manager_control 40 || die "the lab swarm's manager has no leader (see $MGR_LOG)"
      swarm_is_lab || refuse_foreign_swarm
      ;;
    *)
      swarm_is_lab || refuse_foreign_swarm
      log "lab swarm is '$state'; waiting for it"
      if ! wait_manager_control 30; then
        warn "lab swarm did not recover; re-creating it"
        mgr swarm leave --force >/dev/null
        init_swarm
      fi
      ;;
  esac
  wait_manager_control 40 || die "swarm manager did not become ready (see $MGR_LOG)"
  mgr_swarm NodeID >"$MGR_NODE_ID"
  if [[ $(mgr node inspect -f "{{index .Spec.Labels \"$LAB_LABEL\"}}" self) != 1 ]]; then
    mgr node update --label-add "$LAB_LABEL=1" "$(mgr_swarm NodeID)" >/dev/null
  fi
}

# node_table: "ID HOSTNAME STATUS AVAILABILITY" for every node.
node_table() { mgr node ls --format '{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}}'; }

worker_node_id() { wdocker "$1" info -f '{{.Swarm.NodeID}}' 2>/dev/null || true; }

join_worker() {
  local i=$1
  log "worker $i joining the swarm"
  wdocker "$i" swarm join --token "$(mgr swarm join-token -q worker)" \
    --advertise-addr "$(w_addr "$i")" --listen-addr "$(w_addr "$i"):2377" \
    "$MANAGER_ADDR:2377" >/dev/null
}

rejoin_worker() {
  log "worker $1 has stale swarm state; leaving and re-joining"
  wdocker "$1" swarm leave --force >/dev/null 2>&1 || true
  join_worker "$1"
}

# ensure_worker_member I: worker I is (or becomes) a member of the lab swarm.
ensure_worker_member() {
  local i=$1 state nid
  state=$(wdocker "$i" info -f '{{.Swarm.LocalNodeState}}')
  nid=$(worker_node_id "$i")
  case $state in
    inactive) join_worker "$i" ;;
    active | pending)
      if [[ -z $nid ]] || ! mgr node inspect "$nid" >/dev/null 2>&1; then
        rejoin_worker "$i"
      fi
      ;;
    *) rejoin_worker "$i" ;;
  esac
}

# not_ready_workers: indices of workers whose node is not Ready+Active.
not_ready_workers() {
  local i nid table
  table=$(node_table)
  for ((i = 1; i <= WORKERS; i++)); do
    nid=$(worker_node_id "$i")
    if [[ -z $nid ]] || ! grep -q "^$nid [^ ]* Ready Active$" <<<"$table"; then
      echo "$i"
    fi
  done
}

# wait_workers_ready: wait for every worker to be Ready; re-join stragglers once.
wait_workers_ready() {
  local start=$SECONDS rejoined=0 pending i
  while :; do
    pending=$(not_ready_workers)
    [[ -z $pending ]] && return 0
    for i in $pending; do
      activate_node "$i"
    done
    if ((rejoined == 0 && SECONDS - start > 30)); then
      rejoined=1
      for i in $pending; do rejoin_worker "$i"; done
    fi
    if ((SECONDS - start > 75)); then
      node_table >&2 || true
      die "workers not Ready after 75s: $(echo "$pending" | tr '\n' ' ')(see /var/log/qm-w*.log)"
    fi
    sleep 1
  done
}

# activate_node I: undo a drain/pause of worker I's node, if any.
activate_node() {
  local nid avail
  nid=$(worker_node_id "$1")
  [[ -n $nid ]] || return 0
  avail=$(mgr node inspect -f '{{.Spec.Availability}}' "$nid" 2>/dev/null) || return 0
  [[ $avail == active ]] || mgr node update --availability active "$nid" >/dev/null
}

# remove_stale_nodes: drop lab-worker nodes that are not a current worker's node.
remove_stale_nodes() {
  local i keep=" " id host _
  for ((i = 1; i <= WORKERS; i++)); do keep+="$(worker_node_id "$i") "; done
  while read -r id host _; do
    [[ $host =~ ^lab-worker-[0-9]+$ && $keep != *" $id "* ]] || continue
    log "removing stale node $id ($host)"
    mgr node rm --force "$id" >/dev/null
  done < <(node_table)
}

ensure_workers_joined() {
  local i
  for ((i = 1; i <= WORKERS; i++)); do ensure_worker_member "$i"; done
  wait_workers_ready
  remove_stale_nodes
}

# ----------------------------------------------------------------- images --

image_id() { docker -H "$1" image inspect -f '{{.Id}}' "$2" 2>/dev/null; }

build_image() {
  local tmp applet
  log "building $IMAGE from /bin/busybox"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/root/bin" "$tmp/root/etc" "$tmp/root/tmp"
  chmod 1777 "$tmp/root/tmp"
  cp /bin/busybox "$tmp/root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$tmp/root/bin/$applet"
  done
  tar -C "$tmp/root" -c . |
    mgr import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
  rm -rf "$tmp"
}

# drop_private_refs SOCK: remove every tag/digest reference to the private repo.
drop_private_refs() {
  local ref
  for ref in $(docker -H "$1" images --digests --format \
    '{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}' "$REGISTRY/$PRIVATE_REPO"); do
    [[ $ref == *'<none>' ]] || docker -H "$1" image rm "$ref" >/dev/null 2>&1 || true
  done
}

ensure_images() {
  local id i
  id=$(image_id "$MGR_SOCK" "$IMAGE") || {
    build_image
    id=$(image_id "$MGR_SOCK" "$IMAGE")
  }
  for ((i = 1; i <= WORKERS; i++)); do
    if [[ $(image_id "$(w_sock "$i")" "$IMAGE") != "$id" ]]; then
      log "loading $IMAGE into worker $i"
      mgr save "$IMAGE" | wdocker "$i" load >/dev/null
    fi
    # Workers must pull the private image from the registry (with credentials)
    # each time: a cached copy would let unauthenticated services run.
    drop_private_refs "$(w_sock "$i")"
  done
}

# --------------------------------------------------------------- registry --

# install_if_changed SRC DEST: move SRC over DEST unless identical; fail if identical.
install_if_changed() {
  if [[ -e $2 ]] && cmp -s "$1" "$2"; then
    rm -f "$1"
    return 1
  fi
  mv -f "$1" "$2"
}

registry_config() {
  cat <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REG_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
  tls:
    certificate: $REG_CERT
    key: $REG_KEY
auth:
  htpasswd:
    realm: qm-lab-registry
    path: $REG_HTPASSWD
EOF
}

ensure_registry_files() {
  mkdir -p "$REG_DIR/data" "$CERTS_D"
  if [[ ! -s $REG_CERT || ! -s $REG_KEY ]]; then
    log "generating self-signed registry certificate for $MANAGER_ADDR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$MANAGER_ADDR" \
      -addext "subjectAltName=IP:$MANAGER_ADDR" \
      -keyout "$REG_KEY" -out "$REG_CERT" >/dev/null 2>&1
    REG_RESTART=1
  fi
  cp "$REG_CERT" "$CERTS_D/ca.crt.tmp"
  install_if_changed "$CERTS_D/ca.crt.tmp" "$CERTS_D/ca.crt" || true
  if ! htpasswd -vb "$REG_HTPASSWD" "$REG_USER" "$REG_PASS" >/dev/null 2>&1 ||
    [[ $(wc -l <"$REG_HTPASSWD") -ne 1 ]]; then
    log "writing registry htpasswd for user $REG_USER"
    htpasswd -Bbn "$REG_USER" "$REG_PASS" | sed '/^$/d' >"$REG_HTPASSWD.tmp"
    mv -f "$REG_HTPASSWD.tmp" "$REG_HTPASSWD"
    REG_RESTART=1
  fi
  registry_config >"$REG_CONFIG.tmp"
  if install_if_changed "$REG_CONFIG.tmp" "$REG_CONFIG"; then REG_RESTART=1; fi
}

# registry_http PATH [CURL ARGS]: HTTP status of a HEAD request to the registry.
registry_http() {
  local path=$1
  shift
  curl -s -o /dev/null -I -w '%{http_code}' --max-time 5 --noproxy '*' \
    --cacert "$REG_CERT" "$@" "https://$REGISTRY$path" 2>/dev/null || true
}

ensure_registry_running() {
  local pid deadline
  if pid=$(live_pid "$REG_PIDFILE" docker-registry); then
    if ((REG_RESTART)); then
      stop_pidfile "$REG_PIDFILE" docker-registry registry 10
    elif [[ $(registry_http /v2/) == 401 ]]; then
      return 0
    fi
  fi
  drop_stale_pidfile "$REG_PIDFILE" docker-registry
  if ! pid=$(live_pid "$REG_PIDFILE" docker-registry); then
    log "starting registry on $REGISTRY (log: $REG_LOG)"
    # shellcheck disable=SC2016 # expands in the inner sh, whose pid becomes the registry's
    setsid sh -c 'echo $$ >"$1"; exec docker-registry serve "$2"' sh "$REG_PIDFILE" "$REG_CONFIG" \
      >>"$REG_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
  fi
  deadline=$((SECONDS + 30))
  until [[ $(registry_http /v2/) == 401 ]]; do
    if ! is_alive "$pid" || ((SECONDS >= deadline)); then
      tail -n 15 "$REG_LOG" >&2 || true
      die "registry did not come up on $REGISTRY"
    fi
    sleep 0.2
  done
}

registry_has_private_image() {
  [[ $(registry_http "/v2/$PRIVATE_REPO/manifests/$PRIVATE_TAG" \
    -u "$REG_USER:$REG_PASS" -H "Accept: $MANIFEST_ACCEPT") == 200 ]]
}

ensure_private_image() {
  local cfg rc=0
  registry_has_private_image && return 0
  log "pushing $PRIVATE_IMAGE"
  cfg=$(mktemp -d)
  {
    printf '%s' "$REG_PASS" |
      DOCKER_CONFIG=$cfg mgr login --username "$REG_USER" --password-stdin "$REGISTRY" \
        >"$cfg/login.log" 2>&1 &&
      mgr tag "$IMAGE" "$PRIVATE_IMAGE" &&
      DOCKER_CONFIG=$cfg mgr push "$PRIVATE_IMAGE" >/dev/null
  } || {
    rc=$?
    cat "$cfg/login.log" >&2 || true
  }
  DOCKER_CONFIG=$cfg mgr logout "$REGISTRY" >/dev/null 2>&1 || true
  rm -rf "$cfg"
  # Keep the private image only in the registry, so nothing runs it without credentials.
  drop_private_refs "$MGR_SOCK"
  ((rc == 0)) || die "pushing $PRIVATE_IMAGE failed (see $REG_LOG)"
  registry_has_private_image || die "registry does not serve $PRIVATE_IMAGE after push"
}

# ------------------------------------------------------------- postgresql --

# postgres_password: set PG_PASS to LAB_POSTGRES_PASSWORD, else the one kept in the lab's state,
# else a new random one; keep it there.
postgres_password() {
  if [[ -z $PG_PASS ]]; then
    if [[ -s $PG_PASSWORD_FILE ]]; then
      PG_PASS=$(cat "$PG_PASSWORD_FILE")
    else
      PG_PASS=$(openssl rand -hex 16)
    fi
  fi
  mkdir -p "$STATE_DIR"
  if [[ ! -s $PG_PASSWORD_FILE || $(cat "$PG_PASSWORD_FILE") != "$PG_PASS" ]]; then
    (umask 077 && printf '%s' "$PG_PASS" >"$PG_PASSWORD_FILE")
  fi
}

# as_postgres CMD...: run CMD as the postgres OS user (from /, which it may read).
as_postgres() { (cd / && runuser -u "$PG_ADMIN" -- "$@"); }

# admin_psql ARGS...: psql as the superuser over the Unix socket (trust).
admin_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" \
    -U "$PG_ADMIN" -d postgres "$@"
}

# postgres_pid: the postmaster's pid (first line of postmaster.pid) if it is alive.
postgres_pid() {
  local pid
  pid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1
  is_alive "$pid" postgres || return 1
  echo "$pid"
}

# postgres_ready HOST: the server accepts connections there (a socket dir or an address).
postgres_ready() {
  "$PG_BIN/pg_isready" -q -t 5 -h "$1" -p "$PG_PORT" -U "$PG_ADMIN" -d postgres
}

# postgres_answers: it accepts connections on its socket and on every address.
postgres_answers() {
  local host
  for host in "$PG_SOCKET_DIR" "${PG_ADDRS[@]}"; do
    postgres_ready "$host" || return 1
  done
}

# password_works HOST: user qm logs in there over TCP with PG_PASS.
password_works() {
  PGPASSWORD=$PG_PASS PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -tA -h "$1" -p "$PG_PORT" \
    -U "$PG_USER" -d postgres -c 'SELECT 1' 2>/dev/null | grep -qx 1
}

postgres_config() {
  local addrs
  addrs=$(
    IFS=,
    echo "${PG_ADDRS[*]}"
  )
  cat <<EOF
# The lab's throwaway PostgreSQL (written by scripts/lab.sh; \`make lab\` overwrites edits).
listen_addresses = '$addrs'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200  # several servers and reapers at once, each with a connection pool
password_encryption = scram-sha-256
ssl = off
# Its data lives only as long as a test run: durability buys nothing, and skipping the disk
# flushes keeps the tests' many small commits fast. (A crash of the machine can corrupt it: then
# remove $PG_DATA and run make lab again.)
fsync = off
synchronous_commit = off
full_page_writes = off
# Log what goes wrong, never a statement: statements can carry passwords (ALTER ROLE ...
# PASSWORD, a test's own), and the tests search every /var/log/qm-*.log for secrets.
log_destination = 'stderr'
logging_collector = off
log_statement = 'none'
log_min_error_statement = panic
log_min_duration_statement = -1
log_line_prefix = '%m [%p] %q%u@%d '
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
EOF
}

postgres_hba() {
  cat <<EOF
# The lab's PostgreSQL (written by scripts/lab.sh). The socket's directory is open to root and
# postgres only; over TCP (loopback and the lab bridge only, by listen_addresses), from the host
# or a container, every client proves the password.
# TYPE  DATABASE  USER  ADDRESS  METHOD
local   all       all            trust
host    all       all   all      scram-sha-256
EOF
}

ensure_postgres_files() {
  local file
  [[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 is not installed ($PG_BIN): run make install"
  install -d -o "$PG_ADMIN" -g "$PG_ADMIN" -m 0750 "$PG_SOCKET_DIR"
  touch "$PG_LOG"
  chown "$PG_ADMIN:$PG_ADMIN" "$PG_LOG"
  chmod 0640 "$PG_LOG"
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    log "creating the PostgreSQL cluster in $PG_DATA"
    rm -rf --one-file-system "$PG_DATA" # a half-made one
    install -d -o "$PG_ADMIN" -g "$PG_ADMIN" -m 0700 "$PG_DATA"
    if ! as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_ADMIN" --encoding=UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1; then
      tail -n 15 "$PG_LOG" >&2 || true
      die "initdb failed (see $PG_LOG)"
    fi
  fi
  postgres_config >"$PG_DATA/postgresql.conf.tmp"
  if install_if_changed "$PG_DATA/postgresql.conf.tmp" "$PG_DATA/postgresql.conf"; then
    PG_RESTART=1
  fi
  postgres_hba >"$PG_DATA/pg_hba.conf.tmp"
  if install_if_changed "$PG_DATA/pg_hba.conf.tmp" "$PG_DATA/pg_hba.conf"; then PG_RESTART=1; fi
  for file in postgresql.conf pg_hba.conf; do
    chown "$PG_ADMIN:$PG_ADMIN" "$PG_DATA/$file"
    chmod 0600 "$PG_DATA/$file"
  done
}

# cluster_ctl ARGS...: the cluster's pg_ctl as postgres, in its own session, without the lab's lock.
cluster_ctl() {
  setsid -w runuser -u "$PG_ADMIN" -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -s "$@" \
    </dev/null 9>&-
}

stop_postgres() {
  local pid
  pid=$(postgres_pid) || return 0
  log "stopping PostgreSQL (pid $pid)"
  if ! (cd / && cluster_ctl stop -m fast -w -t 60); then
    kill_pid "$pid" PostgreSQL 10
  fi
}

ensure_postgres_running() {
  local pid
  if pid=$(postgres_pid); then
    if ((PG_RESTART)) || ! postgres_answers; then
      log "restarting PostgreSQL (pid $pid): its config changed or it does not answer everywhere"
      stop_postgres
    else
      return 0
    fi
  fi
  log "starting PostgreSQL on ${PG_ADDRS[*]}, port $PG_PORT, socket $PG_SOCKET_DIR (log: $PG_LOG)"
  if ! (cd / && cluster_ctl start -w -t 60 -l "$PG_LOG" >/dev/null) || ! postgres_answers; then
    tail -n 15 "$PG_LOG" >&2 || true
    die "PostgreSQL did not come up on $PG_SOCKET_DIR and ${PG_ADDRS[*]}:$PG_PORT" \
      "(its data is throwaway: if it was corrupted, remove $PG_DATA and run make lab again)"
  fi
}

# ensure_postgres_role: role qm exists, may log in and create databases, and has PG_PASS.
ensure_postgres_role() {
  local host exists
  exists=$(admin_psql -tA -v user="$PG_USER" \
    <<<"SELECT count(*) FROM pg_roles WHERE rolname = :'user'")
  if [[ $exists == 1 ]] && password_works 127.0.0.1; then
    return 0
  fi
  log "setting PostgreSQL role $PG_USER and its password"
  # The password travels in the environment and a psql variable, never on a command line.
  QM_PG_PASSWORD=$PG_PASS admin_psql -v user="$PG_USER" <<'EOF'
\getenv password QM_PG_PASSWORD
SELECT format('CREATE ROLE %I', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" LOGIN CREATEDB PASSWORD :'password';
EOF
  for host in "${PG_ADDRS[@]}"; do
    password_works "$host" || die "PostgreSQL role $PG_USER cannot log in on $host:$PG_PORT"
  done
}

ensure_postgres() {
  postgres_password
  ensure_postgres_files
  ensure_postgres_running
  ensure_postgres_role
}

# ------------------------------------------------------------------ facts --

write_facts() {
  local i socks=() pids=() addrs=()
  for ((i = 1; i <= WORKERS; i++)); do
    socks+=("$(w_sock "$i")")
    pids+=("$(w_pidfile "$i")")
    addrs+=("$(w_addr "$i")")
  done
  cat >"$FACTS.tmp" <<EOF
{
  "workers": $WORKERS,
  "manager_addr": $(json_str "$MANAGER_ADDR"),
  "manager_socket": $(json_str "$MGR_SOCK"),
  "worker_sockets": $(json_list "${socks[@]}"),
  "worker_pidfiles": $(json_list "${pids[@]}"),
  "worker_addrs": $(json_list "${addrs[@]}"),
  "registry": $(json_str "$REGISTRY"),
  "registry_user": $(json_str "$REG_USER"),
  "registry_password": $(json_str "$REG_PASS"),
  "registry_ca": $(json_str "$CERTS_D/ca.crt"),
  "image": $(json_str "$IMAGE"),
  "private_image": $(json_str "$PRIVATE_IMAGE"),
  "postgres": {
    "socket_dir": $(json_str "$PG_SOCKET_DIR"),
    "port": $PG_PORT,
    "addresses": $(json_list "${PG_ADDRS[@]}"),
    "user": $(json_str "$PG_USER"),
    "password": $(json_str "$PG_PASS"),
    "admin_user": $(json_str "$PG_ADMIN"),
    "admin_url": $(json_str "$PG_ADMIN_URL"),
    "data_dir": $(json_str "$PG_DATA"),
    "bin_dir": $(json_str "$PG_BIN"),
    "log": $(json_str "$PG_LOG")
  }
}
EOF
  mv -f "$FACTS.tmp" "$FACTS"
}

# -------------------------------------------------------------- commands --

validate_env() {
  if ! [[ $WORKERS =~ ^[1-9][0-9]*$ ]] || ((WORKERS > 50)); then
    die "LAB_WORKERS must be a number from 1 to 50 (got '$WORKERS')"
  fi
  [[ -n $REG_USER && $REG_USER != *:* ]] || die "LAB_REGISTRY_USER must be non-empty without ':'"
  [[ -n $REG_PASS ]] || die "LAB_REGISTRY_PASSWORD must be non-empty"
}

take_lock() {
  exec 9>"$LOCK_FILE"
  flock -w 300 9 || die "another lab.sh is running (lock $LOCK_FILE)"
}

cmd_up() {
  local i start=$SECONDS
  ensure_bridge
  ensure_forward_rule
  ensure_manager_daemon
  ensure_swarm
  remove_extra_workers
  for ((i = 1; i <= WORKERS; i++)); do ensure_worker_net "$i"; done
  ensure_worker_daemons
  ensure_workers_joined
  ensure_images
  ensure_registry_files
  ensure_registry_running
  ensure_private_image
  ensure_postgres
  write_facts
  log "up in $((SECONDS - start))s: manager $MANAGER_ADDR + $WORKERS workers Ready," \
    "registry $REGISTRY ($REG_USER), images $IMAGE and $PRIVATE_IMAGE," \
    "PostgreSQL on port $PG_PORT ($PG_USER); facts in $FACTS"
}

leave_lab_swarm() {
  if ! docker_ready "$MGR_SOCK"; then
    if [[ -e $MGR_STARTED && -n $(ls -A /var/lib/docker/swarm 2>/dev/null) ]]; then
      log "host dockerd (started by the lab) is down; starting it to leave the lab swarm"
      ensure_manager_daemon
    else
      return 0
    fi
  fi
  [[ $(mgr_swarm LocalNodeState) != inactive ]] || return 0
  if swarm_is_lab; then
    log "host leaving the lab swarm"
    mgr swarm leave --force >/dev/null
    mgr network rm docker_gwbridge >/dev/null 2>&1 || true
  else
    warn "host Docker is in a swarm the lab did not create; leaving it alone"
  fi
}

cmd_down() {
  local i started=0
  for i in $( (
    existing_workers
    seq 1 "$WORKERS"
  ) | sort -un); do
    teardown_worker "$i"
  done
  stop_pidfile "$REG_PIDFILE" docker-registry registry 10
  stop_postgres
  rm -rf "$PG_SOCKET_DIR"
  leave_lab_swarm
  if docker_ready "$MGR_SOCK"; then
    drop_private_refs "$MGR_SOCK"
    mgr image rm "$IMAGE" >/dev/null 2>&1 || true
  fi
  while forward_rule -C 2>/dev/null; do forward_rule -D; done
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$CERTS_D"
  rmdir /etc/docker/certs.d 2>/dev/null || true
  [[ -e $MGR_STARTED ]] && started=1
  umount_under "$LAB_DIR"
  rm -rf --one-file-system "$LAB_DIR"
  if ((started)); then
    stop_pidfile "$MGR_PIDFILE" dockerd "host dockerd" 60
  fi
  log "down: lab removed"
}

# status_line OK WHAT DETAIL: print one status line; count failures.
FAILED=0
status_line() {
  local mark=up
  [[ $1 == 1 ]] || {
    mark=DOWN
    FAILED=1
  }
  printf 'lab: %-34s %-4s %s\n' "$2" "$mark" "$3"
}

status_manager() {
  local ok=0 detail="not answering on $MGR_SOCK" label state=unknown
  if docker_ready "$MGR_SOCK"; then
    ok=1
    detail="pid $(cat "$MGR_PIDFILE" 2>/dev/null || echo '?')"
    [[ -e $MGR_STARTED ]] && detail+=", started by lab"
    state=$(mgr_swarm LocalNodeState 2>/dev/null || echo unknown)
  fi
  status_line "$ok" "manager dockerd" "$detail"
  ok=0
  if [[ $state == active ]]; then
    label=$(mgr node inspect -f "{{index .Spec.Labels \"$LAB_LABEL\"}}" self 2>/dev/null || true)
    [[ $label == 1 ]] && ok=1
    state+=", label $LAB_LABEL=${label:-<none>}"
  fi
  status_line "$ok" "swarm (manager $MANAGER_ADDR)" "$state"
  ok=0
  ip -br addr show "$BRIDGE" 2>/dev/null | grep -q "$MANAGER_ADDR/24" && forward_rule -C 2>/dev/null && ok=1
  status_line "$ok" "bridge $BRIDGE + FORWARD rule" ""
}

status_worker() {
  local i=$1 ok=0 detail pid nid table state host
  table=$2
  [[ -e /run/netns/$(w_ns "$i") ]] && ip -n "$(w_ns "$i")" addr show eth0 2>/dev/null |
    grep -q "$(w_addr "$i")/24" && ok=1
  status_line "$ok" "worker $i netns $(w_ns "$i")" "$(w_addr "$i")"
  ok=0 detail="no live pid in $(w_pidfile "$i")"
  if pid=$(live_pid "$(w_pidfile "$i")" dockerd); then
    detail="pid $pid, not answering"
    docker_ready "$(w_sock "$i")" && ok=1 detail="pid $pid, $(w_sock "$i")"
  fi
  status_line "$ok" "worker $i dockerd" "$detail"
  ok=0 state=unknown detail="daemon not answering"
  if docker_ready "$(w_sock "$i")"; then
    state=$(wdocker "$i" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown)
    nid=$(worker_node_id "$i")
    host=$(awk -v id="$nid" '$1 == id { print $2 " " $3 " " $4 }' <<<"$table")
    detail="node ${nid:-?} ${host:-unknown to manager}"
    [[ $state == active && $host == "$(w_host "$i") Ready Active" ]] && ok=1
  fi
  status_line "$ok" "worker $i swarm" "$state; $detail"
}

status_images() {
  local i ok=0 id detail="missing on manager"
  if id=$(image_id "$MGR_SOCK" "$IMAGE"); then
    ok=1 detail="${id:7:12} on manager"
    for ((i = 1; i <= WORKERS; i++)); do
      if [[ $(image_id "$(w_sock "$i")" "$IMAGE") == "$id" ]]; then
        detail+=", w$i"
      else
        ok=0 detail+=", w$i: missing"
      fi
    done
  fi
  status_line "$ok" "image $IMAGE" "$detail"
}

status_registry() {
  local ok=0 detail="not running"
  if live_pid "$REG_PIDFILE" docker-registry >/dev/null; then
    detail="running, not answering on https://$REGISTRY"
    [[ -r $REG_CERT && $(registry_http /v2/) == 401 ]] && ok=1 detail="https://$REGISTRY"
  fi
  status_line "$ok" "registry" "$detail"
  ok=0
  [[ $detail == "https://$REGISTRY" ]] && registry_has_private_image && ok=1
  status_line "$ok" "image $PRIVATE_IMAGE" ""
}

status_postgres() {
  local ok=0 pid detail="not running ($PG_DATA)"
  if pid=$(postgres_pid); then
    detail="pid $pid, not answering on all of $PG_SOCKET_DIR ${PG_ADDRS[*]}"
    postgres_answers && ok=1 detail="pid $pid, $PG_SOCKET_DIR and ${PG_ADDRS[*]}, port $PG_PORT"
  fi
  status_line "$ok" "postgresql" "$detail"
  ok=0 detail="no password kept in $PG_PASSWORD_FILE"
  [[ -z $PG_PASS && -s $PG_PASSWORD_FILE ]] && PG_PASS=$(cat "$PG_PASSWORD_FILE")
  if [[ -n $PG_PASS ]]; then
    detail="cannot log in on 127.0.0.1:$PG_PORT"
    password_works 127.0.0.1 && ok=1 detail="logs in with its password"
  fi
  status_line "$ok" "postgresql role $PG_USER" "$detail"
}

cmd_status() {
  local i table="" extra
  status_manager
  table=$(node_table 2>/dev/null || true)
  for ((i = 1; i <= WORKERS; i++)); do status_worker "$i" "$table"; done
  for i in $(existing_workers); do
    ((i > WORKERS)) && extra+=" $i"
  done
  [[ -z ${extra:-} ]] || printf 'lab: %-34s %s\n' "extra workers" "present:${extra} (beyond LAB_WORKERS=$WORKERS)"
  extra=$(awk '$2 ~ /^lab-worker-/ && $3 != "Ready" { printf " %s(%s)", $2, $3 }' <<<"$table")
  [[ -z $extra ]] || status_line 0 "stale swarm nodes" "$extra"
  status_images
  status_registry
  status_postgres
  status_line "$([[ -s $FACTS ]] && echo 1 || echo 0)" "facts file" "$FACTS"
  return "$FAILED"
}

main() {
  [[ $(id -u) == 0 ]] || die "must run as root"
  validate_env
  case ${1:-} in
    up) take_lock && cmd_up ;;
    down) take_lock && cmd_down ;;
    status) cmd_status ;;
    *)
      echo "usage: $0 up|down|status" >&2
      exit 2
      ;;
  esac
}

main "$@"
