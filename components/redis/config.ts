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
 * RUNTIME (writable dir), ANNOUNCE (set: announce SELF_HOST to the others, for DNS-named pods).
 *
 * A data node starts as a replica of nothing (its AOF or RDB loaded, no writes taken), so it is
 * reachable while it decides whom to follow, in this order:
 * 1. the master a Sentinel names, once that node answers role:master (a Sentinel naming this node:
 *    it was the master and restarted before a failover, so it takes the role back);
 * 2. a data node that answers role:master;
 * 3. otherwise an election among the data nodes that answer: the first in ordinal order, once all
 *    answer, or a majority has answered for down-after (a node that cannot come back does not
 *    block the rest). While a Sentinel still names an unreachable master, the election waits for
 *    down-after plus failover-timeout, so a Sentinel failover goes first.
 * A node that elected itself steps down for a lower-ordinal master for a few seconds more (two
 * nodes that counted a different majority at the same moment). A Sentinel waits for a master one
 * of its peers or the data nodes confirm, so after a full restart (Sentinel state is in emptyDir)
 * the Sentinels monitor the elected master, whatever pod is missing.
 */
const HELPERS = `
CLI=$(command -v valkey-cli || command -v redis-cli)
on() { a=$1; shift; timeout 3 $CLI -h "\${a%:*}" -p "\${a##*:}" --no-auth-warning -a "$REDIS_PASSWORD" --raw "$@" 2>/dev/null | tr -d '\\r' || true; }
role_of() { on "$1" INFO replication | sed -n 's/^role://p'; }
sentinel_master() {
  for s in $SENTINELS; do
    reply=$(on "$s" SENTINEL get-master-addr-by-name ${SENTINEL_MASTER_NAME})
    host=$(echo "$reply" | sed -n 1p); port=$(echo "$reply" | sed -n 2p)
    if [ -n "$host" ] && [ "$port" -eq "$port" ] 2>/dev/null; then echo "$host:$port"; return; fi
  done
}
peer_master() {
  for p in $PEERS; do
    if [ "$p" != "$1" ] && [ "$(role_of "$p")" = master ]; then echo "$p"; return; fi
  done
}
`;

export function redisStartScript(plan: Pick<RedisPlan, "downAfterMs" | "failoverTimeoutMs">): string {
  const graceS = Math.ceil(plan.downAfterMs / 1000);
  const sentinelFirstS = Math.ceil((plan.downAfterMs + plan.failoverTimeoutMs) / 1000);
  return `set -e
${HELPERS}
SELF="$SELF_HOST:$SELF_PORT"
follow() { echo "following $1"; on "$SELF" REPLICAOF "\${1%:*}" "\${1##*:}" >/dev/null; }
lead() {
  echo "$1"; on "$SELF" REPLICAOF NO ONE >/dev/null
  for i in 1 2 3 4 5; do
    sleep 1
    for p in $PEERS; do
      [ "$p" = "$SELF" ] && break
      if [ "$(role_of "$p")" = master ]; then follow "$p"; return; fi
    done
  done
}
decide() {
  set +e
  until [ "$(on "$SELF" PING)" = PONG ]; do sleep 0.2; done
  started=$(date +%s); majority_since=""
  total=$(echo $PEERS | wc -w)
  while :; do
    named=$(sentinel_master)
    if [ "$named" = "$SELF" ]; then lead "a Sentinel names this node the master"; return; fi
    if [ -n "$named" ] && [ "$(role_of "$named")" = master ]; then follow "$named"; return; fi
    found=$(peer_master "$SELF")
    if [ -n "$found" ]; then follow "$found"; return; fi
    now=$(date +%s)
    if [ -z "$named" ] || [ $((now - started)) -ge ${sentinelFirstS} ]; then
      up=""; for p in $PEERS; do [ "$(on "$p" PING)" = PONG ] && up="$up $p"; done
      count=$(echo $up | wc -w)
      if [ $((count * 2)) -gt "$total" ]; then
        [ -n "$majority_since" ] || majority_since=$now
        first=$(echo $up | cut -d' ' -f1)
        if [ "$count" -eq "$total" ] || [ $((now - majority_since)) -ge ${graceS} ]; then
          if [ "$first" = "$SELF" ]; then lead "elected by $count of $total data nodes"; return; fi
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
decide &
# Port 1 on the pod's own loopback refuses: a replica of nothing until decide() picks.
exec $SERVER "$RUNTIME/redis.conf" --replicaof 127.0.0.1 1
`;
}

export function sentinelStartScript(plan: RedisPlan): string {
  return `set -e
${HELPERS}
master=""
until [ -n "$master" ]; do
  named=$(sentinel_master)
  if [ -n "$named" ] && [ "$(role_of "$named")" = master ]; then master=$named; else master=$(peer_master ""); fi
  [ -n "$master" ] || sleep 1
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
