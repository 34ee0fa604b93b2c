/** Redis with Sentinel: one deployment for Synapse (AOF) and one for LiveKit (RDB). */
import { REDIS_EXPORTER, REDIS_MASTER_PROXY, SENTINEL } from "./additions";
import { guaranteed } from "./resources";
import { TIER_TABLES, type ProcessSize, type TierId } from "./tiers";
import type { RedisPlan } from "./types";

export const REDIS_INSTANCES = 3;
/** Share of the memory limit Redis may fill: the rest is fork headroom for AOF rewrites and RDB saves. */
const MAXMEMORY_SHARE = 0.7;
const DOWN_AFTER_MS = 5_000;
const FAILOVER_TIMEOUT_MS = 30_000;
/** A peer that does not answer a probe within this long counts as down (pods answer in milliseconds). */
const PROBE_TIMEOUT_S = 1;

/**
 * How a data node decides whom to follow when it starts (components/redis/config.ts): one pass
 * probes every Sentinel and, three times over, every data node; an elected node watches for
 * another master for one such pass when nothing answers. A majority that stays for down-after
 * elects without the missing nodes; Sentinels that still name an unreachable master get their
 * failover (down-after plus failover-timeout) first.
 */
function startup(instances: number, sentinels: number): RedisPlan["startup"] {
  return {
    probeTimeoutS: PROBE_TIMEOUT_S,
    stepDownS: (sentinels + 3 * instances) * PROBE_TIMEOUT_S,
    electionGraceS: Math.ceil(DOWN_AFTER_MS / 1000),
    sentinelFirstS: Math.ceil((DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS) / 1000),
  };
}
/**
 * Volume per data pod: AOF/RDB files plus a rewrite's temporary copy, for the largest tier's
 * memory. A StatefulSet's volume template cannot change, so the size never depends on the tier.
 */
const VOLUME_PER_MEMORY = 3;
const LARGEST_MEMORY_GIB = (pick: (t: (typeof TIER_TABLES)[TierId]) => number) => Math.max(...Object.values(TIER_TABLES).map(pick));

function redis(size: ProcessSize, persistence: RedisPlan["persistence"], largestMemoryGiB: number): RedisPlan {
  return {
    instances: REDIS_INSTANCES,
    sentinels: SENTINEL.replicas,
    quorum: Math.floor(SENTINEL.replicas / 2) + 1,
    resources: guaranteed(size),
    sentinelResources: guaranteed({ vcpu: SENTINEL.vcpu, memoryGiB: SENTINEL.memoryGiB }),
    exporterResources: guaranteed(REDIS_EXPORTER),
    persistence,
    maxmemoryMB: Math.floor(size.memoryGiB * 1024 * MAXMEMORY_SHARE),
    storageGB: Math.ceil(largestMemoryGiB * VOLUME_PER_MEMORY),
    downAfterMs: DOWN_AFTER_MS,
    failoverTimeoutMs: FAILOVER_TIMEOUT_MS,
    startup: startup(REDIS_INSTANCES, SENTINEL.replicas),
    pool: "application",
  };
}

export function planRedis(tier: TierId): { synapse: RedisPlan; livekit: RedisPlan } {
  const seed = TIER_TABLES[tier].redis;
  const masterProxy = { replicas: REDIS_MASTER_PROXY.replicas, resources: guaranteed({ vcpu: REDIS_MASTER_PROXY.vcpu, memoryGiB: REDIS_MASTER_PROXY.memoryGiB }) };
  return {
    synapse: { ...redis(seed.synapse, "aof", LARGEST_MEMORY_GIB((t) => t.redis.synapse.memoryGiB)), masterProxy },
    livekit: redis(seed.livekit, "rdb", LARGEST_MEMORY_GIB((t) => t.redis.livekit.memoryGiB)),
  };
}
