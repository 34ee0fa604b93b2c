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
 * Start scripts. Environment: SELF_HOST, SELF_PORT, FIRST_HOST, FIRST_PORT (the bootstrap master),
 * SENTINELS ("host:port ..."), REDIS_PASSWORD, CONFIG (rendered base file), RUNTIME (writable dir),
 * ANNOUNCE (set: announce SELF_HOST to the others, for DNS-named pods).
 * A node asks the Sentinels who the master is; only when none answers does it trust the bootstrap
 * order. So a restarted old master rejoins as a replica instead of taking writes beside the new one.
 */
const FIND_MASTER = `
CLI=$(command -v valkey-cli || command -v redis-cli)
master_host=""; master_port=""
for s in $SENTINELS; do
  reply=$($CLI -h "\${s%:*}" -p "\${s##*:}" --no-auth-warning -a "$REDIS_PASSWORD" --raw SENTINEL get-master-addr-by-name ${SENTINEL_MASTER_NAME} 2>/dev/null || true)
  host=$(echo "$reply" | sed -n 1p); port=$(echo "$reply" | sed -n 2p)
  if [ -n "$host" ] && [ -n "$port" ] && [ "$port" -eq "$port" ] 2>/dev/null; then master_host=$host; master_port=$port; break; fi
done
if [ -z "$master_host" ]; then master_host=$FIRST_HOST; master_port=$FIRST_PORT; fi
`;

export function redisStartScript(): string {
  return `set -e
${FIND_MASTER}
SERVER=$(command -v valkey-server || command -v redis-server)
cp "$CONFIG" "$RUNTIME/redis.conf"
printf 'requirepass %s\\nmasterauth %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" >> "$RUNTIME/redis.conf"
if [ "$master_host" = "$SELF_HOST" ] && [ "$master_port" = "$SELF_PORT" ]; then
  exec $SERVER "$RUNTIME/redis.conf"
fi
exec $SERVER "$RUNTIME/redis.conf" --replicaof "$master_host" "$master_port"
`;
}

export function sentinelStartScript(plan: RedisPlan): string {
  return `set -e
${FIND_MASTER}
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
