/**
 * matrix-scale's own sizing numbers: what the seed does not size but a production fleet runs
 * (media, background, stream-writer and pusher workers, HAProxy, Redis Sentinels), the node
 * overhead every pool pays, and the rules' tunables. Each is a decision, documented in the README.
 */
import type { TierId } from "./tiers";
import { mibToGiB as mib } from "./units";

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

/**
 * The application pool never runs on fewer nodes: one per zone, so Redis data pods and Sentinels
 * (one per node each) keep a quorum when a zone goes.
 */
export const APPLICATION_NODES_FLOOR = 3;

/** HPA ceiling for stateless workers: maxReplicas = ceil(replicas × factor). */
export const HPA_MAX_FACTOR = 1.5;

/**
 * Seed section 2.5's HPA behaviour for stateless workers. Its 70% CPU target is not kept: the
 * target comes from measured capacity (HPA_CPU).
 */
export const HPA_BEHAVIOUR = {
  scaleUp: { stabilizationWindowSeconds: 60, pods: 2, periodSeconds: 60 },
  scaleDown: { stabilizationWindowSeconds: 300, pods: 1, periodSeconds: 120 },
} as const;

/**
 * Synchrotrons and generic workers scale on CPU: the HPA adds pods when the average process reaches
 * `scaleUpAtShare` of the CPU one process used at the latency limit (sizing/measured.ts), or of its
 * CPU limit when that is lower. The controller acts only beyond its tolerance over the target
 * (kube-controller-manager's --horizontal-pod-autoscaler-tolerance, 0.1 by default; EKS does not
 * let its control plane's flags change, and the per-HPA `tolerance` field needs a feature gate), so
 * the target is set that much lower. The seed's 70% of a 2-vCPU request is 1.4 cores, which a process that is
 * close to single-threaded never reaches: that HPA never fires.
 */
export const HPA_CPU = { scaleUpAtShare: 0.8, controllerTolerance: 0.1 } as const;

/**
 * CPU request (and limit) of a synchrotron or generic worker: the most one process was measured
 * using (sizing/measured.ts) with a quarter more, so a burst (garbage collection, the database
 * thread pool) is not throttled, in quarter-vCPU steps, and never above the seed's size. A process
 * that cannot use a second core should not reserve one: the seed's 2 vCPU leave about one idle per pod.
 */
export const AUTOSCALED_CPU = { headroom: 1.25, stepVcpu: 0.25 } as const;

/** Share of PostgreSQL max_connections Synapse may use (seed 1.4 and 12.2). */
export const CONNECTION_BUDGET_SHARE = 0.85;
/** max_connections, when raised to fit the budget, is rounded up to this step. */
export const MAX_CONNECTIONS_STEP = 50;

/** Months of media (and database) growth a tier's storage should cover before a warning. */
export const DEFAULT_GROWTH_HORIZON_MONTHS = 12;

/** Tier utilisation thresholds (seed 8.2). */
export const PLAN_UPGRADE_AT = 0.7;
export const URGENT_UPGRADE_AT = 0.9;

/** MinIO drives per server: four volumes per node give two 12-drive erasure sets per pool of six. */
export const MINIO_DRIVES_PER_SERVER = 4;

/**
 * PostgreSQL volumes are gp3 with provisioned performance, the closest EBS comes to the seed's
 * "NVMe" at a gp3 price (io2 at 16,000 IOPS costs about 16× more; its sub-millisecond latency is
 * not needed with synchronous replication already on the commit path): 3 IOPS per user, never
 * below the 3,000 baseline, and a sixteenth of the IOPS in MiB/s (a 64 KiB sequential read or
 * write for every fourth operation: WAL, vacuum, base backups). A decision, not a measurement.
 */
export const DATABASE_VOLUME = { iopsPerUser: 3, mibpsPerIops: 1 / 16 } as const;

/**
 * Database backups: a base backup every Sunday at 03:00 (CloudNativePG's cron has a seconds field),
 * WAL archived continuously, kept for a 30-day recovery window. Weekly, not nightly: a base backup
 * is the whole database (terabytes at 10K and 20K: hours to upload, and 31 kept copies would be
 * about 30× the database); a restore then replays at most a week of WAL. PostgreSQL closes a WAL
 * segment at most `archiveTimeoutS` after a commit even when quiet, which bounds the data a restore
 * can lose (CloudNativePG's own default is 5 minutes).
 */
export const DATABASE_BACKUP = { schedule: "0 0 3 * * 0", baseBackupEveryDays: 7, retentionDays: 30, archiveTimeoutS: 60 } as const;

/**
 * WAL written per GB the database grows: every change is logged, a page's first change after a
 * checkpoint logs the whole page (full_page_writes), and updates, deletes and vacuum write WAL that
 * adds no size. An assumption to replace with pg_stat_wal's wal_bytes once a deployment runs.
 * Backups are sized uncompressed (barman-cloud gzips them); segments archive_timeout closes early
 * are mostly empty and compress to little, so they are not counted.
 */
export const WAL_GB_PER_GROWTH_GB = 3;

/**
 * Node root disks hold the OS, the images the node pulls, container logs and the pods' scratch
 * (emptyDir): 40 GB before scratch, every pod's scratch limit on one node in the worst case, and
 * 10% more because the kubelet evicts pods below 10% free (nodefs.available), rounded up to 10 GB.
 */
export const ROOT_DISK = { baseGB: 40, evictionShare: 0.1, stepGB: 10 } as const;

/**
 * Scratch of Synapse pods (emptyDir with a size limit; the kubelet evicts a pod over its limit).
 * /tmp holds request bodies in flight: Twisted spools any body over 100 kB to a temporary file, and
 * only media uploads are that large, so a media worker's /tmp holds its uploads in flight at the
 * plan's size limit, plus `tmpBaseGiB` (every other process has only that). HAProxy lets at most
 * `uploadsInFlight` uploads reach one media worker and queues the rest; an upload holds its slot for
 * as long as the client takes to send it, so the number is the peak upload rate per worker (media
 * growth over `averageUploadMB`, times `peakFactor`) times `slowUploadSeconds`, at least
 * `uploadsInFlightAtLeast` (at 20K, 58 per worker).
 * A media worker's store holds the provider's local copies: the provider uploads each from it, and
 * the cleaner removes a copy once the object store holds it and it is older than `keepMinutes`
 * (recent media are the most requested), or, above the window plus two cleaner periods of peak
 * traffic, oldest first down to the window. The window is `keepMinutes` of peak media traffic per
 * worker (`peakFactor` times the year's average growth, `remoteFactor` times for remote media and
 * thumbnails; assumptions). Above that threshold the store holds, besides, the uploads in flight
 * (copies on their way to the object store are never removed) and what completes before the
 * cleaner's next round: a burst faster than the plan's peak is bounded by HAProxy's slots, not by
 * the plan's rate, so the store counts one more full set of uploads in flight, and the cleaner's
 * rounds start often enough that the fastest a media worker stores (`mediaWorkerStoreMiBPerSecond`,
 * twice the 110–127 MiB/s the media-scratch test measures over loopback on 2 cores; an assumption
 * the test checks) fills at most `cleanerPeriodShareOfSet` of a set between two starts, leaving the
 * rest for the round's own walk of the store: every 1 / 1 / 5 / 7 / 10 s, at most
 * `cleanerEverySecondsAtMost` (a round walks the whole store), at least a second (at 100 and 1K
 * 256 MiB of a 400 and an 800 MiB set: still less than one, which is what the store counts).
 */
export const SYNAPSE_SCRATCH = {
  tmpBaseGiB: 0.5,
  averageUploadMB: 1,
  slowUploadSeconds: 60,
  uploadsInFlightAtLeast: 8,
  keepMinutes: 60,
  peakFactor: 3,
  remoteFactor: 2,
  cleanerEverySecondsAtMost: 10,
  mediaWorkerStoreMiBPerSecond: 256,
  cleanerPeriodShareOfSet: 0.5,
  cleaner: { vcpu: 0.1, memoryGiB: 0.25 },
} as const;

/**
 * The daily sweep of other servers' media from the object store. Synapse's remote-media retention
 * (`remote_media_lifetime`) deletes a medium's rows and local copies but never a storage provider's
 * objects (the S3 provider has no delete), so without the sweep the bucket keeps every medium ever
 * fetched from another server. A Job deletes the `remote_content/` and `remote_thumbnail/` objects
 * whose file id has no row in `remote_media_cache` any more, once they are older than `graceMinutes`
 * (Synapse stores a fetched file before it records its row). At `schedule` (UTC: night in Europe,
 * late evening in the Americas; the sweep reads and deletes, it serves no one), one run at a time,
 * bounded by `deadlineSeconds`; a failed run is retried `retries` times, a refusal is not. One
 * listing page and one cursor batch at a time: a small Guaranteed pod. The deadline and the size are
 * decisions, not measurements: at a page of 1,000 keys in well under a second, a run lists millions
 * of objects within it, and a run cut short resumes where the bucket's listing now starts.
 */
export const REMOTE_MEDIA_SWEEP = {
  schedule: "30 4 * * *",
  graceMinutes: 60,
  deadlineSeconds: 3 * 3600,
  retries: 2,
  resources: { vcpu: 0.1, memoryGiB: 0.25 },
} as const;

/**
 * Kept free on every node beyond the DaemonSets' requests (sizing/node-model.ts): the node exporter
 * requests nothing but uses about 30-60 MiB, and an EKS add-on update may raise its requests.
 * Pods sized to fill a node (PostgreSQL, MinIO, LiveKit, coturn) leave this much.
 */
export const NODE_FILL_MARGIN = { vcpu: 0.1, memoryGiB: 0.25 } as const;

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
  /**
   * Autoscaled Synapse Deployments roll one extra pod at a time (maxSurge 1, maxUnavailable 0):
   * Kubernetes' default 25% would, at 20K, hold about 240 more database connections mid-rollout
   * (surge pods plus as many old pods draining) and warm that many cold caches against PostgreSQL at once.
   */
  rolloutSurgePods: 1,
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
 * A coordinated restart (every MinIO server at once, as MinIO requires for a new pool list or a new
 * release): how long the coordinating Job waits for every server to come back on the new
 * specification and the cluster to report write quorum (MinIO's servers wait for each other at
 * start; the test measures tens of seconds), and how often it looks.
 */
export const COORDINATED_RESTART = { timeoutSeconds: 600, pollSeconds: 2 } as const;

/**
 * A coordinated Synapse restart (every process at once, as Synapse's worker documentation requires
 * when instance_map, a stream writer or a shard list changes). The wait covers main's schema
 * migrations (its startup probe allows 15 minutes), the old processes' drain, and every pod's start;
 * `pulumi up` waits as long (the Job's custom timeout).
 */
export const SYNAPSE_RESTART = { timeoutSeconds: 1800, pollSeconds: 2 } as const;

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

/** Synapse's own cache factor when none is set (caches.global_factor). */
export const SYNAPSE_DEFAULT_CACHE_FACTOR = 0.5;
/** cacheFactorFor rounds down to this step. */
export const CACHE_FACTOR_STEP = 0.05;

/**
 * Synapse's cache autotuning (jemalloc's allocated bytes): above `maxShare` of the process's memory
 * limit, caches evict entries older than `minTtlMinutes` until `targetShare`; the rest of the limit
 * is the process's own working memory. The factor sets how many entries caches may hold; this keeps
 * them inside the pod whatever the entries weigh.
 */
export const CACHE_AUTOTUNING = { maxShare: 0.6, targetShare: 0.45, minTtlMinutes: 5 } as const;

/**
 * What MatrixRTC (Element Call) needs from Synapse, from Element Call's self-hosting guide
 * (element-hq/element-call docs/self-hosting.md, "A Matrix Homeserver"): delayed events (MSC4140)
 * up to 24 h, so a client that vanishes still leaves the call; delayed-event management at 1/s with
 * a burst of 20 (a heartbeat every 5 s plus headroom); and a message burst of at least 30 (end-to-end
 * key sharing is bursty). The seed's tables set no such limits; where its message burst is lower
 * (25 at 100 CCU) the plan raises it.
 */
export const MATRIX_RTC = { maxEventDelay: "24h", delayedEventManagement: { perSecond: 1, burstCount: 20 }, messageBurstAtLeast: 30 } as const;

/**
 * The CloudNativePG operator, on the application pool: two replicas (one may go with its node) at
 * its chart's commented suggestion (charts/cloudnative-pg values.yaml `resources`: requests 100m and
 * 100Mi, limits 100m and 200Mi).
 */
export const CNPG_OPERATOR = { replicas: 2, requests: { vcpu: 0.1, memoryGiB: mib(100) }, limits: { vcpu: 0.1, memoryGiB: mib(200) } } as const;

/**
 * The Barman Cloud plugin (CloudNativePG-I), which archives WAL and takes base backups since the
 * in-tree `barmanObjectStore` was deprecated (CloudNativePG 1.26; removal announced for 1.31).
 * - Its Deployment: one replica (the chart's default; its strategy is Recreate, so a roll adds no
 *   pod) at the chart's commented suggestion (charts/plugin-barman-cloud values.yaml `resources`:
 *   requests 100m and 100Mi, limits 100m and 200Mi), on the application pool.
 * - The sidecar it injects into every PostgreSQL pod (a native sidecar: its requests add to the
 *   pod's). It runs barman-cloud: `barman-cloud-backup` compresses the base backup's tar stream in
 *   one process, so one core is what it can use and what the in-tree tools had inside the PostgreSQL
 *   container; the memory holds that process, two WAL archivers (`wal.maxParallel` 2) and the
 *   plugin's manager. Requests equal limits, so the PostgreSQL pod stays Guaranteed. A decision, not
 *   a measurement; the plugin documents no default (unset, the sidecar requests nothing).
 */
export const BARMAN_CLOUD_PLUGIN = {
  /**
   * CloudNativePG reconciles a Cluster (failover included) only once it reaches the Cluster's
   * plugins (1.30.1 internal/controller/cluster_controller.go), and the plugin serves from its
   * leader only, so one replica. When its node becomes unreachable or not ready it is evicted after
   * this many seconds instead of Kubernetes' default 300, and it runs at the essential PriorityClass.
   */
  evictAfterSeconds: 30,
  replicas: 1,
  requests: { vcpu: 0.1, memoryGiB: mib(100) },
  limits: { vcpu: 0.1, memoryGiB: mib(200) },
  sidecar: { vcpu: 1, memoryGiB: 1 },
} as const;

/**
 * cert-manager, which issues the TLS certificates the CloudNativePG operator and the Barman Cloud
 * plugin authenticate each other with (the plugin's chart requires it): controller, webhook and CA
 * injector, one replica each, and the post-install API check Job, every one at the chart's commented
 * suggestion (cert-manager values.yaml: requests 10m and 32Mi; it suggests no limit, the limit here
 * leaves room for a burst of reconciles).
 */
const CERT_MANAGER_POD = { requests: { vcpu: 0.01, memoryGiB: mib(32) }, limits: { vcpu: 0.1, memoryGiB: mib(128) } } as const;
export const CERT_MANAGER = { replicas: 1, controller: CERT_MANAGER_POD, webhook: CERT_MANAGER_POD, cainjector: CERT_MANAGER_POD, startupCheck: CERT_MANAGER_POD } as const;

/**
 * The AWS Load Balancer Controller (target aws): two replicas (one leads) reconciling a handful of
 * Services, on the application pool; small and fixed whatever the tier. Requests are what the pool
 * counts; the limit leaves room for a burst of reconciles.
 */
export const LOAD_BALANCER_CONTROLLER = { replicas: 2, requests: { vcpu: 0.1, memoryGiB: 0.25 }, limits: { vcpu: 0.5, memoryGiB: 0.5 } } as const;

/** lk-jwt-service: issues LiveKit tokens to Matrix clients (Element Call); small and stateless. */
export const LK_JWT_SERVICE = { replicas: 2, vcpu: 0.1, memoryGiB: 0.125 } as const;

/**
 * kube-prometheus-stack's admission-webhook certificate Jobs (kube-webhook-certgen: one creates the
 * certificate before an install or upgrade, one patches it into the webhooks after), one at a time,
 * for seconds. Requests at the suggestion ingress-nginx's chart publishes for the same tool
 * (values.yaml `admissionWebhooks.createSecretJob.resources`, 10m and 20Mi); the limit leaves room
 * above it. They run on the application pool, which has room at its peak, not on the monitoring
 * node, whose room Prometheus and Loki share.
 */
export const ADMISSION_WEBHOOK_JOB = { requests: { vcpu: 0.01, memoryGiB: mib(20) }, limits: { vcpu: 0.1, memoryGiB: mib(64) } } as const;

/**
 * The monitoring node's small processes (requests; limits), at what their projects publish;
 * Prometheus and Loki share what they leave (sizing/monitoring.ts).
 */
export const MONITORING_PROCESSES = {
  // Grafana's installation requirements: "Minimum recommended memory: 512 MB, minimum recommended CPU:
  // 1 core" (grafana.com/docs/grafana/v13.2/setup-grafana/installation/; 255 MB up to 9.x); the limit
  // doubles the memory for dashboards with many panels (ours).
  grafana: { requests: { vcpu: 1, memoryGiB: 0.5 }, limits: { vcpu: 1, memoryGiB: 1 } },
  // The k8s-sidecar that loads dashboards and data sources into Grafana (two of them) and rules into
  // Loki: the loki chart's commented suggestion for it (values.yaml `sidecar.resources`).
  sidecar: { requests: { vcpu: 0.05, memoryGiB: mib(50) }, limits: { vcpu: 0.1, memoryGiB: mib(100) } },
  // kube-prometheus-stack values.yaml, `prometheusOperator.resources`, the chart's commented suggestion.
  prometheusOperator: { requests: { vcpu: 0.1, memoryGiB: mib(100) }, limits: { vcpu: 0.2, memoryGiB: mib(200) } },
  // kube-state-metrics chart values.yaml, `resources`, the chart's commented suggestion.
  kubeStateMetrics: { requests: { vcpu: 0.01, memoryGiB: mib(32) }, limits: { vcpu: 0.1, memoryGiB: mib(64) } },
  // kube-prometheus-stack values.yaml, `alertmanager.alertmanagerSpec.resources`: the chart suggests
  // 400Mi of memory; the CPU is ours (it sends a few notifications a minute).
  alertmanager: { requests: { vcpu: 0.1, memoryGiB: mib(400) }, limits: { vcpu: 0.5, memoryGiB: mib(400) } },
  // The config reloader the Prometheus operator adds to Prometheus's and Alertmanager's pods, at the
  // operator's own default (its --config-reloader-cpu/memory-request flags: 10m, 50Mi), set explicitly.
  configReloader: { requests: { vcpu: 0.01, memoryGiB: mib(50) }, limits: { vcpu: 0.01, memoryGiB: mib(50) } },
} as const;

/**
 * Monitoring: how the monitoring server's disk is shared, and the alert thresholds the seed gives
 * (8.2, 11.4) that are not a tier's own numbers. Tier-derived thresholds (CCU, connections) come
 * from the plan itself.
 */
export const MONITORING = {
  /**
   * Of what the monitoring node leaves after the small processes, Prometheus's share of CPU and
   * memory (it holds every series of the fleet in memory and evaluates the rules); Loki has the rest.
   */
  prometheusComputeShare: 0.6,
  /**
   * The least Prometheus and Loki may get (an assumption: below it a tier's series and logs do not
   * fit): a monitoring node that leaves less is refused rather than planned with starved processes.
   */
  least: { prometheus: { vcpu: 1, memoryGiB: 4 }, loki: { vcpu: 0.5, memoryGiB: 2 } },
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
  /**
   * Daily runs of the remote-media sweep that may fail in a row before the alert: one (a node
   * drained at its hour) is tolerated; the alert waits that many days plus the run's deadline.
   */
  remoteMediaSweepMissedRuns: 2,
  /**
   * How long a pod that only the node's own kubelet would let go of (anything but a Deployment's or a
   * Job's: their controllers replace pods on a lost node) may sit on a node that is not ready before
   * the operator is paged to taint the node out of service (docs/hardware.md): twice the five
   * minutes after which Kubernetes evicts from a NotReady node, longer than a kubelet restart or a
   * node upgrade takes. Whether the node controller evicts at all does not matter: with part of a
   * zone down it evicts nothing in a cluster of 50 nodes or fewer, and an evicted pod is held anyway.
   */
  podOnLostNodeSeconds: 600,
  /**
   * The log agent's memory limiter, in percent of its container's memory limit: above the soft limit
   * (limit less spike) it refuses new records, so the filelog receiver stops reading until the queue
   * drains; the OpenTelemetry Collector chart's own memory_limiter settings (values.yaml `config.
   * processors.memory_limiter`: check_interval 5s, limit_percentage 80, spike_limit_percentage 25).
   */
  logAgentMemoryLimiter: { checkIntervalSeconds: 5, limitPercent: 80, spikeLimitPercent: 25 },
  /**
   * Lines the log agent's queue holds on the node while Loki does not take them: the collector's
   * default of 1,000 requests, at the file reader's 100 lines a request (the queue counts lines, since
   * one request is one file's read, often a single line). A full queue stops the reading until Loki
   * takes lines again.
   */
  logAgentQueueLines: 100_000,
  /** Seconds the log agent may fail to send before the alert asks why (the exporter retries with backoff meanwhile). */
  logShippingFailingSeconds: 900,
} as const;
