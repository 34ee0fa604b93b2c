/**
 * matrix-scale's own sizing numbers: what the seed does not size but a production fleet runs
 * (media, background, stream-writer and pusher workers, HAProxy, Redis Sentinels), the node
 * overhead every pool pays, and the rules' tunables. Each is a decision, documented in the README.
 */
import type { TierId } from "./tiers";

export interface SizedReplicas {
  replicas: number;
  vcpu: number;
  memoryGiB: number;
}

const s = (replicas: number, vcpu: number, memoryGiB: number): SizedReplicas => ({ replicas, vcpu, memoryGiB });

/** Workers the seed's four do not cover, per tier. */
export const ADDED_WORKERS: Readonly<
  Record<TierId, { mediaRepository: SizedReplicas; background: SizedReplicas; streamWriter: SizedReplicas; pusher: SizedReplicas }>
> = {
  "100": { mediaRepository: s(2, 0.5, 1), background: s(1, 0.25, 0.5), streamWriter: s(2, 0.25, 0.5), pusher: s(2, 0.25, 0.5) },
  "1k": { mediaRepository: s(2, 1, 2), background: s(1, 0.5, 1), streamWriter: s(2, 0.5, 1), pusher: s(2, 0.5, 0.5) },
  "5k": { mediaRepository: s(2, 1, 2), background: s(1, 1, 2), streamWriter: s(2, 1, 1), pusher: s(2, 0.5, 1) },
  "10k": { mediaRepository: s(3, 2, 3), background: s(1, 1, 2), streamWriter: s(3, 1, 2), pusher: s(2, 1, 1) },
  "20k": { mediaRepository: s(4, 2, 3), background: s(1, 2, 4), streamWriter: s(4, 1, 2), pusher: s(3, 1, 1) },
};

/** The HAProxy routing tier in front of Synapse. */
export const HAPROXY: Readonly<Record<TierId, SizedReplicas>> = {
  "100": s(2, 0.25, 0.25),
  "1k": s(2, 0.5, 0.5),
  "5k": s(3, 1, 1),
  "10k": s(3, 1, 1),
  "20k": s(4, 2, 2),
};

/** One Redis Sentinel process (three per Redis deployment). */
export const SENTINEL = { replicas: 3, vcpu: 0.1, memoryGiB: 0.125 } as const;
/** The metrics exporter beside each Redis data pod. */
export const REDIS_EXPORTER = { vcpu: 0.05, memoryGiB: 0.0625 } as const;
/** The TCP proxy that follows the Synapse Redis master (Synapse cannot speak Sentinel). */
export const REDIS_MASTER_PROXY = { replicas: 2, vcpu: 0.1, memoryGiB: 0.125 } as const;

/**
 * Connection pool of the workers that do little database work (federation senders, media,
 * background, stream writers, pushers): the seed gives one cp_max for every worker, which at
 * maximum autoscale overruns PostgreSQL (seed section 12.3 admits it).
 */
export const LIGHT_WORKER_CP_MAX = 5;

/** HPA ceiling for stateless workers: maxReplicas = ceil(replicas × factor). */
export const HPA_MAX_FACTOR = 1.5;

/** Seed section 2.5's HPA behaviour for stateless workers. */
export const HPA_BEHAVIOUR = {
  targetCpuUtilisation: 70,
  scaleUp: { stabilizationWindowSeconds: 60, pods: 2, periodSeconds: 60 },
  scaleDown: { stabilizationWindowSeconds: 300, pods: 1, periodSeconds: 120 },
} as const;

/** Share of PostgreSQL max_connections Synapse may use (seed 1.4 and 12.2). */
export const CONNECTION_BUDGET_SHARE = 0.85;
/** max_connections, when raised to fit the budget, is rounded up to this step. */
export const MAX_CONNECTIONS_STEP = 50;

/** Months of media (and database) growth a tier's storage should cover before a warning. */
export const DEFAULT_GROWTH_HORIZON_MONTHS = 12;

/** Tier utilisation thresholds (seed 8.2). */
export const PLAN_UPGRADE_AT = 0.7;
export const URGENT_UPGRADE_AT = 0.9;

/** MinIO drives per server: four volumes per node give a 16-drive erasure set per pool of four. */
export const MINIO_DRIVES_PER_SERVER = 4;

/**
 * Per-node cost of Kubernetes itself, paid before any workload: kubelet/system reservation
 * (the EKS AMI's formula: CPU 6% of the first core, 1% of the second, 0.5% of the next two,
 * 0.25% above four; memory 255 MiB + 11 MiB × max pods + 100 MiB eviction threshold) and the
 * DaemonSets every node runs (VPC CNI, kube-proxy, EBS CSI node, node exporter, log shipper).
 */
export const NODE_MAX_PODS = 110;
export const DAEMONSET_OVERHEAD = { vcpu: 0.35, memoryGiB: 0.6 } as const;

/**
 * HAProxy routing: timeouts (long-polling /sync holds requests ~30 s; initial syncs can take
 * minutes on large accounts) and how many initial syncs one synchrotron serves at once before
 * HAProxy queues the rest, so they cannot starve incremental syncs on the same process.
 */
export const ROUTING = {
  timeouts: { connectSeconds: 5, clientSeconds: 180, serverSeconds: 180, initialSyncSeconds: 900, queueSeconds: 60 },
  initialSyncsPerSynchrotron: 2,
  healthCheckIntervalSeconds: 5,
  /** Failed checks before HAProxy takes a server out, passed checks before it takes it back. */
  healthCheckFall: 3,
  healthCheckRise: 2,
  /** A busy synchrotron answers /health within this (probes and HAProxy's check alike). */
  probeTimeoutSeconds: 5,
  /**
   * HAProxy's view of pods through DNS: it re-resolves every `resolveSeconds`; CoreDNS answers
   * cluster names with a 5 s TTL (the kubernetes plugin's default); a name that vanished or
   * an address that left the answer is kept `holdSeconds` more.
   */
  dns: { resolveSeconds: 1, recordTtlSeconds: 5, holdSeconds: 5 },
  /** Kept between HAProxy noticing a pod is gone and the pod stopping, and Synapse's own shutdown. */
  drainMarginSeconds: 5,
  shutdownSeconds: 30,
  /** Deployments roll with Kubernetes' default maxSurge (25%, rounded up): extra pods in the answer. */
  rolloutSurge: 0.25,
  /**
   * HAProxy pods behind the NLB: the target group keeps a deregistering target's connections this
   * long, and a stopping HAProxy pod keeps serving that long plus the margin (the NLB keeps sending
   * new connections for a while after deregistration starts).
   */
  loadBalancerDeregistrationSeconds: 60,
  /** HSTS max-age: one year, the value browsers' preload lists ask for. */
  hstsMaxAgeSeconds: 31_536_000,
} as const;

/** One-off setup Jobs (bucket and user creation). */
export const SETUP_JOB = { vcpu: 0.1, memoryGiB: 0.125 } as const;

/**
 * Call hosts. coturn: concurrent allocations per vCPU from seed 11.3 (~4,000 on 8 vCPU), a relay
 * port per allocation plus headroom; LiveKit: one RTC port per participant track, headroom likewise.
 */
export const CALLS = {
  turnAllocationsPerVcpu: 500,
  turnQuotaPerUser: 12,
  relayPortHeadroom: 1.25,
  turnRelayPortsStart: 40000,
  livekitParticipantsPerVcpu: 125,
  livekitPortsPerParticipant: 4,
  livekitRtcPortsStart: 50000,
} as const;

/** lk-jwt-service: issues LiveKit tokens to Matrix clients (Element Call); small and stateless. */
export const LK_JWT_SERVICE = { replicas: 2, vcpu: 0.1, memoryGiB: 0.125 } as const;

/**
 * Monitoring: how the monitoring server's disk is shared, and the alert thresholds the seed gives
 * (8.2, 11.4) that are not a tier's own numbers. Tier-derived thresholds (CCU, connections) come
 * from the plan itself.
 */
export const MONITORING = {
  prometheusShare: 0.5,
  lokiShare: 0.4,
  /** Keep Prometheus below its volume: retention by size at this share of the volume. */
  retentionSizeShare: 0.85,
  cpuSustained: 0.75,
  memorySustained: 0.85,
  dbConnectionsShare: 0.7,
  eventSendP99Seconds: 0.5,
  callFailureWarn: 0.02,
  callFailureCritical: 0.05,
  /** Months it takes to order, deploy and rebalance a MinIO pool. */
  poolLeadTimeMonths: 2,
  replicationLagSeconds: 30,
} as const;
