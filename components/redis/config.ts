/**
 * Redis with Sentinel (pure renderers): data-node and Sentinel settings from the plan, the start
 * scripts that find the current master before joining, and a TCP proxy that always points at the
 * master (Synapse's Redis client cannot speak Sentinel). Passwords never appear here: they come
 * from files or variables mounted from a Secret.
 */
import type { RedisPlan } from "../../sizing/types";
import { SENTINEL_MASTER_NAME } from "../naming";

export interface Listen {
  port: number;
  bind: string;
  /** Nodes are known by DNS names (Kubernetes pods): the start script announces $SELF_HOST. */
  announceHostnames?: boolean;
  dir: string;
}

export function renderRedisConf(plan: RedisPlan, listen: Listen): string {
  const persistence =
    plan.persistence === "aof"
      ? ["appendonly yes", "appendfsync everysec", 'save ""']
      : ["appendonly no", "save 900 1", "save 300 10", "save 60 10000"];
  return [
    `port ${listen.port}`,
    `bind ${listen.bind}`,
    `dir ${listen.dir}`,
    "protected-mode no",
    ...persistence,
    `maxmemory ${plan.maxmemoryMB}mb`,
    // Synapse keeps a cache here (evictable); LiveKit keeps room state (must not be evicted).
    `maxmemory-policy ${plan.persistence === "aof" ? "allkeys-lru" : "noeviction"}`,
    // A master cut off from every replica stops taking writes rather than lose them.
    "min-replicas-to-write 1",
    "min-replicas-max-lag 10",
    "replica-serve-stale-data yes",
    "replica-read-only yes",
    "tcp-keepalive 60",
    "",
  ].join("\n");
}

export function renderRedisAuth(password: string): string {
  return `requirepass ${password}\nmasterauth ${password}\n`;
}

/** Sentinel settings that do not name the master; the start script appends the monitor block. */
export function renderSentinelBase(listen: Listen): string {
  return [
    `port ${listen.port}`,
    `bind ${listen.bind}`,
    `dir ${listen.dir}`,
    ...(listen.announceHostnames ? ["sentinel resolve-hostnames yes", "sentinel announce-hostnames yes"] : []),
    "protected-mode no",
    "",
  ].join("\n");
}

/** Settings that follow `sentinel monitor` (Sentinel requires the master to be declared first). */
export function renderSentinelMasterSettings(plan: RedisPlan): string {
  return [
    `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${plan.downAfterMs}`,
    `sentinel failover-timeout ${SENTINEL_MASTER_NAME} ${plan.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
    "",
  ].join("\n");
}

/**
 * Start scripts. Environment: SELF_HOST, SELF_PORT, PEERS (every data node, "host:port ..." in
 * ordinal order), SENTINELS ("host:port ..."), REDIS_PASSWORD, CONFIG (rendered base file),
 * RUNTIME (writable dir), ANNOUNCE (set: data nodes and Sentinels announce SELF_HOST, for
 * DNS-named pods, so a Sentinel names a node as the node knows itself).
 *
 * A data node starts as a replica of nothing (its AOF or RDB loaded, no writes taken), so it is
 * reachable while it decides whom to follow, in this order:
 * 1. the master a quorum of Sentinels names, once that node answers role:master;
 * 2. a data node that answers role:master;
 * 3. this node, when a quorum of Sentinels names it (it was the master and came back before a
 *    failover), and no other node has taken the role;
 * 4. otherwise an election among the data nodes that answer: the one with the highest replication
 *    offset, then the most keys, then the first in ordinal order (an empty or stale volume never
 *    wins), once all answer or a majority has answered for the election grace (a node that cannot
 *    come back does not block the rest). While Sentinels still name an unreachable master, the
 *    election waits for down-after plus failover-timeout, so a Sentinel failover goes first.
 * An elected node steps down for another master for one more pass over its peers (two nodes that
 * counted a different majority at the same moment), then points every Sentinel that still names a
 * node that is not a master at itself (Sentinels that outlived the data nodes). A Sentinel waits for
 * a master a quorum of its peers names, or for the one data node that answers role:master through
 * the step-down window, so after a full restart (Sentinel state is in emptyDir) the Sentinels
 * monitor the elected master, whatever pod is missing. The shell stays the container's first
 * process: it reaps the decision loop and passes SIGTERM to the server.
 */
function helpers(plan: RedisPlan): string {
  return `
CLI=$(command -v valkey-cli || command -v redis-cli)
on() { a=$1; shift; timeout ${plan.startup.probeTimeoutS} $CLI -h "\${a%:*}" -p "\${a##*:}" --no-auth-warning -a "$REDIS_PASSWORD" --raw "$@" 2>/dev/null | tr -d '\\r' || true; }
role_of() { on "$1" INFO replication | sed -n 's/^role://p'; }
named_by() {
  reply=$(on "$1" SENTINEL get-master-addr-by-name ${SENTINEL_MASTER_NAME})
  host=$(echo "$reply" | sed -n 1p); port=$(echo "$reply" | sed -n 2p)
  if [ -n "$host" ] && [ "$port" -eq "$port" ] 2>/dev/null; then echo "$host:$port"; fi
}
sentinel_master() {
  for s in $SENTINELS; do named_by "$s"; done | sort | uniq -c | awk '$1 >= ${plan.quorum} { print $2; exit }'
}
peer_master() {
  for p in $PEERS; do
    if [ "$p" != "$1" ] && [ "$(role_of "$p")" = master ]; then echo "$p"; return; fi
  done
}
only_master() {
  found=""; for p in $PEERS; do [ "$(role_of "$p")" = master ] && found="$found $p"; done
  [ $(echo $found | wc -w) -eq 1 ] && echo $found
  return 0
}
`;
}

export function redisStartScript(plan: RedisPlan): string {
  const s = plan.startup;
  return `set -e
${helpers(plan)}
SELF="$SELF_HOST:$SELF_PORT"
alive() { kill -0 "$server_pid" 2>/dev/null; }
is_following() { info=$(on "$SELF" INFO replication); echo "$info" | grep -qx "master_host:\${1%:*}" && echo "$info" | grep -qx "master_port:\${1##*:}"; }
follow() {
  echo "following $1"
  give_up=$(($(date +%s) + ${s.stepDownS}))
  until is_following "$1"; do
    alive && [ "$(date +%s)" -lt "$give_up" ] || return 1
    on "$SELF" REPLICAOF "\${1%:*}" "\${1##*:}" >/dev/null; sleep 1
  done
}
repoint_sentinels() {
  for s in $SENTINELS; do
    named=$(named_by "$s")
    [ "$named" = "$SELF" ] && continue
    [ -n "$named" ] && [ "$(role_of "$named")" = master ] && continue
    [ -n "$named" ] || [ -n "$(on "$s" PING)" ] || continue
    echo "pointing Sentinel $s at this node (it names $named)"
    on "$s" SENTINEL REMOVE ${SENTINEL_MASTER_NAME} >/dev/null
    on "$s" SENTINEL MONITOR ${SENTINEL_MASTER_NAME} "$SELF_HOST" "$SELF_PORT" ${plan.quorum} >/dev/null
    on "$s" SENTINEL SET ${SENTINEL_MASTER_NAME} auth-pass "$REDIS_PASSWORD" down-after-milliseconds ${plan.downAfterMs} failover-timeout ${plan.failoverTimeoutMs} parallel-syncs 1 >/dev/null
  done
}
lead() {
  echo "$1"
  until [ "$(role_of "$SELF")" = master ]; do alive || return; on "$SELF" REPLICAOF NO ONE >/dev/null; sleep 1; done
  until_s=$(($(date +%s) + ${s.stepDownS}))
  while [ "$(date +%s)" -lt "$until_s" ]; do
    other=$(peer_master "$SELF")
    # Two masters: the one a Sentinel quorum names stays; otherwise the one first in ordinal order.
    if [ -n "$other" ]; then
      named=$(sentinel_master)
      if [ "$named" = "$other" ]; then follow "$other"; return; fi
      if [ "$named" != "$SELF" ]; then for p in $PEERS; do [ "$p" = "$SELF" ] && break; [ "$p" = "$other" ] && { follow "$other"; return; }; done; fi
    fi
    sleep 1
  done
  repoint_sentinels
}
candidates() {
  i=0
  for p in $PEERS; do
    i=$((i + 1)); info=$(on "$p" INFO replication); [ -n "$info" ] || continue
    echo "$(echo "$info" | sed -n 's/^master_repl_offset://p') $(on "$p" DBSIZE) $i $p"
  done | awk 'NF == 4' | sort -k1,1nr -k2,2nr -k3,3n
}
decide() {
  until [ "$(on "$SELF" PING)" = PONG ]; do alive || return; sleep 0.2; done
  started=$(date +%s); majority_since=""
  total=$(echo $PEERS | wc -w)
  while alive; do
    named=$(sentinel_master)
    if [ -n "$named" ] && [ "$named" != "$SELF" ] && [ "$(role_of "$named")" = master ]; then follow "$named" && return; fi
    found=$(peer_master "$SELF")
    if [ -n "$found" ]; then follow "$found" && return; fi
    if [ "$named" = "$SELF" ]; then lead "the Sentinels name this node the master"; return; fi
    now=$(date +%s)
    if [ -z "$named" ] || [ $((now - started)) -ge ${s.sentinelFirstS} ]; then
      up=$(candidates); count=$(echo "$up" | grep -c . || true)
      if [ $((count * 2)) -gt "$total" ]; then
        [ -n "$majority_since" ] || majority_since=$now
        if [ "$count" -eq "$total" ] || [ $((now - majority_since)) -ge ${s.electionGraceS} ]; then
          best=$(echo "$up" | head -1 | cut -d' ' -f4)
          if [ "$best" = "$SELF" ]; then lead "elected by $count of $total data nodes: $(echo "$up" | tr '\\n' ';')"; return; fi
        fi
      else
        majority_since=""
      fi
    fi
    sleep 1
  done
}
SERVER=$(command -v valkey-server || command -v redis-server)
cp "$CONFIG" "$RUNTIME/redis.conf"
printf 'requirepass %s\\nmasterauth %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" >> "$RUNTIME/redis.conf"
if [ -n "$ANNOUNCE" ]; then echo "replica-announce-ip $SELF_HOST" >> "$RUNTIME/redis.conf"; fi
set +e
# Port 1 on the pod's own loopback refuses: a replica of nothing until decide() picks.
$SERVER "$RUNTIME/redis.conf" --replicaof 127.0.0.1 1 &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null' TERM INT
decide &
while :; do wait "$server_pid"; status=$?; alive || break; done
exit $status
`;
}

export function sentinelStartScript(plan: RedisPlan): string {
  return `set -e
${helpers(plan)}
master=""
until [ -n "$master" ]; do
  named=$(sentinel_master)
  if [ -n "$named" ] && [ "$(role_of "$named")" = master ]; then master=$named; break; fi
  candidate=$(only_master)
  if [ -n "$candidate" ]; then
    sleep ${plan.startup.stepDownS + 1}
    [ "$(only_master)" = "$candidate" ] && master=$candidate
  else
    sleep 1
  fi
done
master_host=\${master%:*}; master_port=\${master##*:}
SERVER=$(command -v valkey-server || command -v redis-server)
cp "$CONFIG" "$RUNTIME/sentinel.conf"
if [ -n "$ANNOUNCE" ]; then echo "sentinel announce-ip $SELF_HOST" >> "$RUNTIME/sentinel.conf"; fi
cat >> "$RUNTIME/sentinel.conf" <<CONF
requirepass $REDIS_PASSWORD
sentinel monitor ${SENTINEL_MASTER_NAME} $master_host $master_port ${plan.quorum}
sentinel auth-pass ${SENTINEL_MASTER_NAME} $REDIS_PASSWORD
${renderSentinelMasterSettings(plan).trim()}
CONF
exec $SERVER "$RUNTIME/sentinel.conf" --sentinel
`;
}

export interface ProxyServer {
  name: string;
  host: string;
  port: number;
}

/**
 * A TCP proxy whose only live server is the current master: each data node is checked for
 * `role:master` every second; when a master is demoted its client connections are cut, so
 * Synapse reconnects, through the proxy, to the new one. REDIS_PASSWORD comes from the environment.
 * /healthz on the health port answers 200 only while exactly one master is visible (readiness).
 */
export function renderMasterProxyConfig(servers: readonly ProxyServer[], listen: { bind: string; port: number; healthPort: number; dnsResolvers: boolean }): string {
  const resolve = listen.dnsResolvers ? " resolvers kubernetes init-addr none" : "";
  return [
    "# Generated by matrix-scale. Routes to the Redis master only.",
    "global",
    "  log stdout format raw local0",
    "defaults",
    "  mode tcp",
    "  log global",
    "  timeout connect 3s",
    // Synapse holds its replication subscription open; keepalives keep it alive.
    "  timeout client 24h",
    "  timeout server 24h",
    ...(listen.dnsResolvers ? ["resolvers kubernetes", "  parse-resolv-conf", "  hold valid 5s"] : []),
    "frontend redis",
    `  bind ${listen.bind}:${listen.port}`,
    // Servers count as up until their first check, and a split brain shows two masters: take
    // clients only while exactly one node answers role:master.
    "  tcp-request connection reject if !{ nbsrv(master) eq 1 }",
    "  default_backend master",
    "frontend health",
    "  mode http",
    `  bind ${listen.bind}:${listen.healthPort}`,
    "  monitor-uri /healthz",
    "  monitor fail if !{ nbsrv(master) eq 1 }",
    "backend master",
    "  option tcp-check",
    "  tcp-check connect",
    '  tcp-check send "AUTH ${REDIS_PASSWORD}\\r\\n"',
    "  tcp-check expect string +OK",
    '  tcp-check send "INFO replication\\r\\n"',
    "  tcp-check expect string role:master",
    '  tcp-check send "QUIT\\r\\n"',
    "  tcp-check expect string +OK",
    "  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions",
    ...servers.map((s) => `  server ${s.name} ${s.host}:${s.port} check${resolve}`),
    "",
  ].join("\n");
}
