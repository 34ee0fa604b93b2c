/** The CloudNativePG Cluster for Synapse's database, as plain data (pure). */
import type { Input } from "@pulumi/pulumi";
import { POOL_LABEL } from "../../sizing/inventory";
import type { PostgresPlan } from "../../sizing/types";
import { DATABASE } from "../naming";
import { containerResources, strictZoneSpread } from "../workload";

export const CLUSTER_NAME = "postgres";
/** The CloudNativePG operator's pods (its chart's name label). */
export const OPERATOR_SELECTOR = { "app.kubernetes.io/name": "cloudnative-pg" } as const;
/** Every pod CloudNativePG runs for the Cluster (instances and their join/initdb jobs) carries this label. */
export const INSTANCE_SELECTOR = { "cnpg.io/cluster": CLUSTER_NAME } as const;
/** The instance manager's ports besides PostgreSQL's: the operator reaches status (8000) and PostgreSQL (CloudNativePG docs, "Networking"); metrics on 9187. */
export const INSTANCE_PORTS = { status: 8000, metrics: 9187 } as const;

/** Synapse requires UTF8 with C collation and ctype. */
export const DATABASE_LOCALE = { encoding: "UTF8", localeCollate: "C", localeCType: "C" } as const;

export interface ClusterContext {
  image: string;
  storageClass: string;
  /** The VolumeAttributesClass with the volume's IOPS and throughput (AWS), reconciled onto existing volumes. */
  volumeAttributesClass?: string;
  ownerSecret: string;
  /** Only its kind matters here (S3 with IRSA annotates the ServiceAccount); the ObjectStore holds the rest. */
  backup: BackupStore;
}

/**
 * Where base backups and WAL go: the in-cluster MinIO with keys from a Secret, or an S3 bucket
 * reached with the IAM role the instances' ServiceAccount is annotated with (IRSA).
 */
export type BackupStore =
  | { kind: "minio"; endpoint: string; bucket: string; credentialsSecret: string }
  | { kind: "s3"; bucket: string; prefix: string; roleArn: Input<string> }
  /** An S3-compatible store of the operator's, reached with the keys in its Secret. */
  | { kind: "external"; endpoint: string; bucket: string; prefix: string; credentialsSecret: string };

/** The keys of an external store's Secret (the names barman-cloud's own documentation uses). */
export const EXTERNAL_STORE_KEYS = { accessKeyId: "ACCESS_KEY_ID", secretAccessKey: "ACCESS_SECRET_KEY" } as const;

/** Where in an operator's bucket this deployment's backups live: one prefix per namespace. */
export const backupPrefix = (namespace: string) => `matrix-scale/${namespace}/${CLUSTER_NAME}`;

/** The IRSA annotation EKS's pod identity webhook reads. */
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";

function objectStore(store: BackupStore) {
  const compression = { wal: { compression: "gzip", maxParallel: 2 }, data: { compression: "gzip" } };
  const keys = (secret: string, accessKeyId: string, secretAccessKey: string) => ({ accessKeyId: { name: secret, key: accessKeyId }, secretAccessKey: { name: secret, key: secretAccessKey } });
  switch (store.kind) {
    case "minio":
      return { destinationPath: `s3://${store.bucket}/`, endpointURL: store.endpoint, s3Credentials: keys(store.credentialsSecret, "accessKey", "secretKey"), ...compression };
    case "external":
      return {
        destinationPath: `s3://${store.bucket}/${store.prefix}/`,
        endpointURL: store.endpoint,
        s3Credentials: keys(store.credentialsSecret, EXTERNAL_STORE_KEYS.accessKeyId, EXTERNAL_STORE_KEYS.secretAccessKey),
        ...compression,
      };
    case "s3":
      return { destinationPath: `s3://${store.bucket}/${store.prefix}/`, s3Credentials: { inheritFromIAMRole: true }, ...compression };
  }
}

/** The Barman Cloud plugin's name, as the Cluster, its backups and recoveries refer to it. */
export const BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io";
/** The plugin's ObjectStore: where this Cluster's base backups and WAL go. */
export const OBJECT_STORE_NAME = `${CLUSTER_NAME}-backups`;

/**
 * The ObjectStore the plugin archives to: the store's settings (the schema of the in-tree
 * `barmanObjectStore`), the recovery window, and the sidecar's resources in every instance pod.
 */
export function objectStoreSpec(pg: PostgresPlan, store: BackupStore): Record<string, unknown> {
  return {
    configuration: objectStore(store),
    retentionPolicy: `${pg.backup.retentionDays}d`,
    instanceSidecarConfiguration: { resources: containerResources(pg.backupPlugin.sidecar) },
  };
}

export function clusterSpec(pg: PostgresPlan, ctx: ClusterContext): Record<string, unknown> {
  const selector = INSTANCE_SELECTOR;
  return {
    instances: pg.instances,
    imageName: ctx.image,
    primaryUpdateStrategy: "unsupervised",
    enableSuperuserAccess: false,
    postgresql: {
      parameters: pg.parameters,
      // Commits wait for synchronous standbys: an acknowledged transaction survives losing the primary.
      synchronous: { method: "any", number: pg.synchronousStandbys, dataDurability: "required" },
    },
    bootstrap: {
      initdb: { database: DATABASE.name, owner: DATABASE.owner, secret: { name: ctx.ownerSecret }, ...DATABASE_LOCALE },
    },
    storage: {
      size: `${pg.storageGB}G`,
      storageClass: ctx.storageClass,
      ...(ctx.volumeAttributesClass ? { pvcTemplate: { volumeAttributesClassName: ctx.volumeAttributesClass } } : {}),
    },
    resources: containerResources(pg.resources),
    affinity: {
      enablePodAntiAffinity: true,
      podAntiAffinityType: "required",
      topologyKey: "kubernetes.io/hostname",
      nodeSelector: { [POOL_LABEL]: pg.pool },
      tolerations: [{ key: POOL_LABEL, operator: "Equal", value: pg.pool, effect: "NoSchedule" }],
    },
    topologySpreadConstraints: [strictZoneSpread(selector)],
    monitoring: { enablePodMonitor: true },
    // WAL archiving and base backups through the plugin; the server name stays the Cluster's, so the
    // archive the in-tree tools wrote goes on in the same place.
    plugins: [{ name: BARMAN_PLUGIN, isWALArchiver: true, parameters: { barmanObjectName: OBJECT_STORE_NAME } }],
    ...(ctx.backup.kind === "s3" ? { serviceAccountTemplate: { metadata: { annotations: { [ROLE_ARN_ANNOTATION]: ctx.backup.roleArn } } } } : {}),
  };
}

/** A weekly base backup by the plugin (CloudNativePG cron has a seconds field); WAL is archived continuously. */
export function scheduledBackupSpec(backup: PostgresPlan["backup"]): Record<string, unknown> {
  return { schedule: backup.schedule, immediate: true, backupOwnerReference: "self", method: "plugin", pluginConfiguration: { name: BARMAN_PLUGIN }, cluster: { name: CLUSTER_NAME } };
}
