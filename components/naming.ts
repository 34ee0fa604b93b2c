/** Names and labels every component shares, so selectors and object names never drift apart. */
export const PROJECT_LABELS = { "app.kubernetes.io/part-of": "matrix-scale", "app.kubernetes.io/managed-by": "pulumi" } as const;

export function componentLabels(component: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...PROJECT_LABELS, "app.kubernetes.io/component": component, ...extra };
}

/** Services other components expose to Synapse; one place so both sides agree. */
export const SERVICE_NAMES = {
  postgresReadWrite: "postgres-rw",
  /** A Service that always points at the Synapse Redis master (Synapse cannot speak Sentinel). */
  redisSynapseMaster: "redis-synapse-master",
  minio: "minio",
  haproxy: "synapse-haproxy",
  lkJwt: "lk-jwt-service",
  livekit: "livekit",
} as const;

/** Element Call's token service, reached through the Synapse proxy under this path. */
export const LK_JWT = { port: 8080, pathPrefix: "/livekit/jwt", selector: { "app.kubernetes.io/name": SERVICE_NAMES.lkJwt } } as const;

/** Public DNS names the operator points at the load balancers and call hosts. */
export function publicNames(serverName: string) {
  return { matrix: serverName, livekit: `livekit.${serverName}`, turn: `turn.${serverName}` };
}

export const DATABASE = { name: "synapse", owner: "synapse", port: 5432 } as const;
export const MEDIA_BUCKET = "synapse-media";

/**
 * Namespace of the call hosts (LiveKit, coturn): they need host networking, which PodSecurity's
 * `baseline` and `restricted` levels refuse, so they live apart from everything else.
 */
export function callHostsNamespace(namespace: string): string {
  return `${namespace}-calls`;
}

/** Namespace of the monitoring stack, the only other source allowed to scrape metrics ports. */
export const MONITORING_NAMESPACE = "monitoring";
/** Loki's chart release (its single-binary Service takes the release's name) and that Service's port. */
export const LOKI_SERVICE = { name: "loki", port: 3100 } as const;

/** StorageClasses per node pool (created on AWS; provided by the operator on an existing cluster). */
export const STORAGE_CLASSES = { database: "matrix-scale-database", storage: "matrix-scale-storage", application: "matrix-scale-application" } as const;

/**
 * The VolumeAttributesClass holding the database volume's IOPS and throughput: named by its values,
 * because a class's parameters cannot change; a new tier's class is added and the Cluster points its
 * volumes at it (CloudNativePG modifies the existing volumes in place).
 */
export function databaseVolumeClassName(volume: { iops: number; throughputMiBps: number }): string {
  return `${STORAGE_CLASSES.database}-${volume.iops}-iops-${volume.throughputMiBps}-mibps`;
}

/**
 * The PriorityClass of the processes a deployment cannot serve without: Synapse's named processes
 * (each owns a stream or a duty) and HAProxy. When a zone goes and the rest cannot hold every pod,
 * these preempt synchrotrons and generic workers, which only lose capacity.
 */
export const ESSENTIAL_PRIORITY = { name: "matrix-scale-essential", value: 100_000 } as const;

export const SENTINEL_MASTER_NAME = "mymaster";
export const BACKUP_BUCKET = "synapse-db-backups";

/**
 * Annotations the policy pack's TLS rule reads on an internet-facing Service: a port whose TLS is
 * passed through to the pods (`passthrough`), and ports that only redirect to HTTPS.
 */
export const TLS_POLICY_ANNOTATIONS = { tls: "matrix-scale/tls", redirectOnlyPorts: "matrix-scale/redirect-only-ports" } as const;
