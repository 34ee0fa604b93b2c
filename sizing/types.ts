/** The Plan: everything the components need, derived once from settings. Sizes are numbers. */
import type { Capacity } from "./packing";
import type { LogLevel, PoolRole, WorkerType } from "./settings";
import type { DiskKind, TierId } from "./tiers";

export type InventoryRole = PoolRole | "controlPlane";

export interface Resources {
  requests: Capacity;
  limits: Capacity;
}

export interface Taint {
  key: string;
  value: string;
  effect: "NoSchedule";
}

export interface InventoryRow {
  role: InventoryRole;
  count: number;
  vcpu: number;
  memoryGiB: number;
  storageGB: number;
  disk: DiskKind;
  volumeType: "gp3" | "st1";
  instanceType: string;
  /** Each node's root disk: OS, images, logs and its pods' scratch (emptyDir). */
  rootDiskGB: number;
  /** Per node, after kubelet reservation and DaemonSets. */
  allocatable: Capacity;
  labels: Record<string, string>;
  taints: Taint[];
  monthlyUsd: number;
  /** Why the count differs from the seed's row, if it does. */
  countReason?: string;
}

export interface Totals {
  servers: number;
  vcpu: number;
  memoryGiB: number;
  storageGB: number;
  monthlyUsd: number;
}

export type SynapseStream =
  | "events"
  | "typing"
  | "to_device"
  | "account_data"
  | "receipts"
  | "presence"
  | "push_rules"
  | "device_lists"
  | "quarantined_media_changes";

export interface WorkerPlan {
  type: WorkerType;
  kind: "Deployment" | "StatefulSet";
  /** Base replicas (HPA minimum for autoscaled types). */
  replicas: number;
  /** HPA maximum; equals replicas when the type cannot autoscale. */
  maxReplicas: number;
  /** The Deployment's maxSurge in pods (maxUnavailable is 0); 0 for StatefulSets. */
  rolloutSurge: number;
  autoscaled: boolean;
  /** Autoscaled types: the HPA's average CPU utilisation target (% of the request), from measured capacity. */
  hpaTargetCpuUtilisation?: number;
  resources: Resources;
  cpMin: number;
  cpMax: number;
  /** Stable process names (StatefulSet pod names, as listed in instance_map); empty for Deployments. */
  instances: string[];
  pool: PoolRole;
  /** The level the type's processes log at (structured JSON on stdout). */
  logLevel: LogLevel;
  /** The type's caches.global_factor, from its memory (cacheFactorFor). */
  cacheFactor: number;
  /** Cache autotuning: evict above maxMiB down to targetMiB, nothing younger than minTtlMinutes. */
  cacheMemory: { maxMiB: number; targetMiB: number; minTtlMinutes: number };
}

export interface SynapseConfigPlan {
  cacheFactor: number;
  eventCacheSize: number;
  maxUploadMB: number;
  /** Days Synapse keeps other servers' media after its last use (`media_retention.remote_media_lifetime`). */
  remoteMediaLifetimeDays: number;
  rcMessage: { perSecond: number; burstCount: number };
  rcRegistration: { perSecond: number; burstCount: number };
  federationMaxConcurrent: number;
  /** Element Call: how long an event may be delayed (MSC4140) and how often delayed events may be managed. */
  matrixRtc: { maxEventDelay: string; delayedEventManagement: { perSecond: number; burstCount: number } };
}

export interface SynapsePlan {
  workers: Record<WorkerType, WorkerPlan>;
  processes: number;
  processesAtMaxScale: number;
  connections: number;
  connectionsAtMaxScale: number;
  /** At maximum autoscale while the Deployments roll: surge pods and old pods still draining included. */
  connectionsInRollout: number;
  /** CONNECTION_BUDGET_SHARE × max_connections: connectionsInRollout must stay below it. */
  connectionLimit: number;
  streamWriters: Partial<Record<SynapseStream, string[]>>;
  singletons: {
    runBackgroundTasksOn: string;
    updateUserDirectoryFromWorker: string;
    notifyAppservicesFromWorker: string;
    mediaInstanceRunningBackgroundJobs: string;
  };
  federationSenderInstances: string[];
  pusherInstances: string[];
  federation: boolean;
  /**
   * Pod scratch (emptyDir limits): /tmp of every process, /tmp and the local media store of media
   * workers, how many uploads HAProxy lets reach one media worker at once, and the media workers'
   * cleaner (copies kept `keepMinutes`; above `trimAboveMiB` the oldest removed down to `trimToMiB`;
   * a round starts every `everySeconds`).
   */
  scratch: {
    tmpGiB: number;
    mediaTmpGiB: number;
    mediaGiB: number;
    uploadsInFlight: number;
    cleanup: { keepMinutes: number; everySeconds: number; trimAboveMiB: number; trimToMiB: number; resources: Resources };
  };
  config: SynapseConfigPlan;
  /** The daily Job that deletes other servers' media from the object store once Synapse has dropped their rows (REMOTE_MEDIA_SWEEP). */
  remoteMediaSweep: { schedule: string; graceMinutes: number; deadlineSeconds: number; retries: number; resources: Resources };
  /**
   * Every process stops and starts together when the processes' topology (instance_map, stream
   * writers, shard lists) changes: the coordinating Job's limits and resources, and those of the
   * gate each pod passes before Synapse starts.
   */
  restart: { timeoutSeconds: number; pollSeconds: number; job: Resources; gate: Resources };
  autoscaling: {
    scaleUp: { stabilizationWindowSeconds: number; pods: number; periodSeconds: number };
    scaleDown: { stabilizationWindowSeconds: number; pods: number; periodSeconds: number };
  };
}

export interface PostgresPlan {
  instances: number;
  /** The CloudNativePG operator's pods, on the application pool. */
  operator: { replicas: number; resources: Resources; pool: PoolRole };
  /** The Barman Cloud plugin's Deployment (on `pool`) and the sidecar it adds to every instance pod. */
  backupPlugin: { replicas: number; resources: Resources; sidecar: Resources; pool: PoolRole; evictAfterSeconds: number };
  /** cert-manager (the plugin's TLS): `replicas` pods each, and the Job that checks its API after an install or upgrade. */
  certManager: { replicas: number; controller: Resources; webhook: Resources; cainjector: Resources; startupCheck: Resources; pool: PoolRole };
  /** Synchronous standbys required for a commit (data durability). */
  synchronousStandbys: number;
  /** The PostgreSQL container; the pod adds `backupPlugin.sidecar`. */
  resources: Resources;
  storageGB: number;
  /** The volume's provisioned performance (gp3). */
  volume: { iops: number; throughputMiBps: number };
  maxConnections: number;
  maxConnectionsSource: "seed" | "raised for the connection budget" | "override";
  parameters: Record<string, string>;
  growthGBPerYear: number;
  monthsCovered: number;
  pool: PoolRole;
  /** Base backup schedule (cron with seconds), recovery window, and the longest a commit waits to be archived. */
  backup: { schedule: string; baseBackupEveryDays: number; retentionDays: number; archiveTimeoutS: number; storageGB: number };
}

export interface RedisPlan {
  instances: number;
  sentinels: number;
  quorum: number;
  resources: Resources;
  sentinelResources: Resources;
  persistence: "aof" | "rdb";
  /** maxmemory for the data pods, below the memory limit. */
  maxmemoryMB: number;
  /** Persistent volume per data pod. */
  storageGB: number;
  /** The metrics exporter container in each data pod. */
  exporterResources: Resources;
  /** The master-following proxy, for clients that cannot speak Sentinel (Synapse). */
  masterProxy?: { replicas: number; resources: Resources };
  downAfterMs: number;
  failoverTimeoutMs: number;
  /** Seconds a starting data node gives its probes, its step-down watch, a partial majority, and a Sentinel failover. */
  startup: { probeTimeoutS: number; stepDownS: number; electionGraceS: number; sentinelFirstS: number };
  pool: PoolRole;
}

export interface MinioPool {
  servers: number;
  drivesPerServer: number;
  driveGB: number;
}

export interface MinioPlan {
  pools: MinioPool[];
  /** EC parity per erasure set, fixed by the first pool. */
  parity: number;
  erasureSetDrives: number;
  rawGB: number;
  usableGB: number;
  /** Drives each erasure set may lose and still read and write. */
  driveFailuresTolerated: number;
  /** Every pool keeps its write quorum with a zone's servers lost (pools made before zone alignment may not). */
  survivesZoneLoss: boolean;
  resources: Resources;
  growthGBPerYear: number;
  /** Database backups this store holds besides media (PostgresPlan.backup.storageGB, or 0 with a bucket of the operator's). */
  databaseBackupsGB: number;
  /** Months of media growth the usable capacity left after the backups covers. */
  monthsCovered: number;
  horizonMonths: number;
  runsOutOn?: string;
  pool: PoolRole;
  /** The Job that creates buckets and users (and the one that restarts every server together). */
  setupJob: Resources;
  /** Every server restarts at once when the servers' specification changes: the coordinating Job's limits. */
  restart: { timeoutSeconds: number; pollSeconds: number };
}

export interface CallHostPlan {
  instances: number;
  resources: Resources;
  pool: PoolRole;
  /** UDP ports for media (LiveKit RTC) or relays (coturn), one range per host. */
  ports: { min: number; max: number };
  /** Concurrent participants (LiveKit) or allocations (coturn) one host is sized for. */
  capacityPerHost: number;
  /** coturn only: allocations one user may hold. */
  quotaPerUser?: number;
}

export interface PoolUsage {
  role: InventoryRole;
  nodes: number;
  allocatable: Capacity;
  requested: Capacity;
  requestedAtMaxScale: Capacity;
  /** Requested share of the pool's allocatable with one node lost (base replicas). */
  utilisationNMinus1: Capacity;
  fitsNMinus1: boolean;
  pods: number;
}

export interface EdgePlan {
  /** TLS ends at the NLB with an ACM certificate, or at HAProxy with a kubernetes.io/tls Secret. */
  tls: { terminatesAt: "load-balancer"; certificateArn: string } | { terminatesAt: "haproxy"; secretName: string };
  /** The load balancer passes the client's address with the PROXY protocol (v2 on AWS). */
  proxyProtocol: boolean;
  adminCidrs: string[];
  healthCheck: { intervalSeconds: number; fall: number; rise: number; timeoutSeconds: number };
  dns: {
    resolveSeconds: number;
    recordTtlSeconds: number;
    holdSeconds: number;
    /** The Service whose answer is largest: an autoscaled type at its maximum plus rollout surge. */
    largestAnswer: { name: string; addresses: number };
    /** HAProxy's accepted_payload_size: that answer fits. */
    payloadBytes: number;
    /** Server slots per discovered type: its HPA maximum plus a rollout's surge. */
    slots: Partial<Record<WorkerType, number>>;
  };
  /** HAProxy's own drain behind the NLB: the target group's deregistration delay, then its preStop. */
  loadBalancer: { deregistrationSeconds: number; haproxyPreStopSeconds: number; haproxyTerminationGraceSeconds: number };
  hstsMaxAgeSeconds: number;
  /** Synapse pods keep serving `preStopSeconds` after they start to stop, longer than HAProxy takes to notice. */
  drain: { detectionSeconds: number; preStopSeconds: number; terminationGraceSeconds: number };
}

export interface Plan {
  ccu: number;
  tier: TierId;
  tierCcu: number;
  target: "aws" | "kubernetes";
  serverName: string;
  inventory: InventoryRow[];
  totals: Totals;
  synapse: SynapsePlan;
  routing: {
    haproxy: { replicas: number; resources: Resources; pool: PoolRole };
    timeouts: { connectSeconds: number; clientSeconds: number; serverSeconds: number; initialSyncSeconds: number; queueSeconds: number };
    initialSyncsPerSynchrotron: number;
    healthCheckIntervalSeconds: number;
    edge: EdgePlan;
    /** Target aws: the AWS Load Balancer Controller, on the application pool. */
    loadBalancerController?: { replicas: number; resources: Resources };
  };
  postgres: PostgresPlan;
  redis: { synapse: RedisPlan; livekit: RedisPlan };
  minio: MinioPlan;
  livekit: CallHostPlan & { jwtService: { replicas: number; resources: Resources; pool: PoolRole } };
  coturn: CallHostPlan;
  pools: PoolUsage[];
  monitoring: MonitoringPlan;
  bill: Bill;
  warnings: string[];
}

export interface BillLine {
  item: string;
  quantity: number;
  unit: string;
  monthlyUsd: number;
}

export interface Bill {
  pricesAsOf: string;
  region: string;
  lines: BillLine[];
  monthlyUsd: number;
  /** On AWS: the EKS version's support level (extended costs six times the standard fee). */
  eksSupport?: "standard" | "extended";
  /** What depends on traffic or the account and is not in the total. */
  notPriced: string[];
}

export interface MonitoringPlan {
  prometheusStorageGB: number;
  prometheusRetentionGB: number;
  lokiStorageGB: number;
  pool: PoolRole;
  /** Per process on the monitoring node; node exporter and the log agent run on every node (DaemonSets). */
  resources: Record<"prometheus" | "loki" | "grafana" | "sidecar" | "alertmanager" | "prometheusOperator" | "kubeStateMetrics" | "configReloader" | "nodeExporter" | "logAgent", Resources>;
  /** The log agent on every node (MONITORING.logAgentMemoryLimiter). */
  logAgent: { memoryLimiter: { checkIntervalSeconds: number; limitPercent: number; spikeLimitPercent: number }; queueLines: number };
  /** The admission webhook's certificate Jobs, one at a time, on `pool` (ADMISSION_WEBHOOK_JOB). */
  admissionWebhookJob: { resources: Resources; pool: PoolRole };
  thresholds: {
    ccuPlanUpgrade: number;
    ccuUrgent: number;
    cpuSustained: number;
    memorySustained: number;
    dbConnections: number;
    eventSendP99Seconds: number;
    callFailureWarn: number;
    callFailureCritical: number;
    minioRunwayMonths: number;
    replicationLagSeconds: number;
    /** Seconds since the remote-media sweep last succeeded above which it is stale. */
    remoteMediaSweepStaleSeconds: number;
    /** Seconds a StatefulSet's or the database's pod may sit on a node that is not ready before the out-of-service taint is asked for. */
    podOnLostNodeSeconds: number;
    /** Seconds the log agent may fail to send to Loki before the alert fires. */
    logShippingFailingSeconds: number;
  };
}
