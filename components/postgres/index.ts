/**
 * PostgreSQL HA: the CloudNativePG operator (Helm chart, pinned) and a Cluster for Synapse with
 * the plan's instances, resources, volume and every tuning parameter, synchronous replication,
 * required anti-affinity, backups to the object store (WAL archiving and a weekly base backup) by
 * the Barman Cloud plugin, with cert-manager for the plugin's certificates.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresPlan } from "../../sizing/types";
import { BACKUP_BUCKET, componentLabels, databaseVolumeClassName, SERVICE_NAMES, STORAGE_CLASSES } from "../naming";
import { SECRET_NAMES } from "../secrets";
import { BARMAN_CLOUD_PLUGIN_CHART, CERT_MANAGER_CHART, CNPG_CHART_VERSION, POSTGRES_IMAGE } from "../versions";
import { chartPod, namespaceFor, pinnedChart, ZONE_KEY, type ChartOptions } from "../workload";
import { backupPluginValues, CERT_MANAGER_NAMESPACE, certManagerValues } from "./backup-plugin";
import { backupPrefix, type BackupStore, CLUSTER_NAME, clusterSpec, OBJECT_STORE_NAME, objectStoreSpec, OPERATOR_SELECTOR, scheduledBackupSpec } from "./cluster";

const CNPG_CHARTS = "https://cloudnative-pg.github.io/charts";

export const OPERATOR_NAMESPACE = "cnpg-system";

export interface PostgresArgs {
  postgres: PostgresPlan;
  namespace: string;
  provider: k8s.Provider;
  charts?: ChartOptions;
  /** The cluster provides the database volume's VolumeAttributesClass (AWS: EBS CSI). */
  provisionedVolumes?: boolean;
  /** An S3 bucket for backups and the IAM role the instances assume for it; without it, the in-cluster MinIO. */
  backupBucket?: { bucket: string; roleArn: pulumi.Input<string> };
  /** An S3-compatible store of the operator's (target kubernetes), reached with the keys in its Secret. */
  backupStore?: { endpoint: string; bucket: string; credentialsSecret: string };
  /** The PriorityClass the backup plugin runs at (Cluster.essentialPriority): failover waits for it. */
  essentialPriority: pulumi.Resource;
}

/**
 * The operator's chart values: two replicas on the application pool, in different zones, at the
 * plan's requests (the plan counts them there).
 */
function operatorValues(pg: PostgresPlan): Record<string, unknown> {
  const apart = { topologyKey: ZONE_KEY, labelSelector: { matchLabels: OPERATOR_SELECTOR } };
  return {
    crds: { create: true },
    replicaCount: pg.operator.replicas,
    ...chartPod(pg.operator.pool, pg.operator.resources),
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [apart] } },
  };
}

/** Where backups go: the operator's S3 bucket (IRSA), the operator's own S3-compatible store, or the in-cluster MinIO. */
function backupStore(args: PostgresArgs): BackupStore {
  if (args.backupBucket) return { kind: "s3", ...args.backupBucket, prefix: backupPrefix(args.namespace) };
  if (args.backupStore) return { kind: "external", ...args.backupStore, prefix: backupPrefix(args.namespace) };
  return { kind: "minio", endpoint: `http://${SERVICE_NAMES.minio}.${args.namespace}.svc.cluster.local:9000`, bucket: BACKUP_BUCKET, credentialsSecret: SECRET_NAMES.minioBackup };
}

export class Postgres extends pulumi.ComponentResource {
  readonly readWriteService: string;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:postgres:Postgres", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const operatorNamespace = namespaceFor(OPERATOR_NAMESPACE, "postgres-operator", child);
    const operator = pinnedChart(
      "cloudnative-pg",
      { chart: "cloudnative-pg", version: CNPG_CHART_VERSION, repo: CNPG_CHARTS, namespace: OPERATOR_NAMESPACE, values: operatorValues(args.postgres) },
      { ...child, dependsOn: [operatorNamespace] },
      args.charts,
    );
    const certManagerNamespace = namespaceFor(CERT_MANAGER_NAMESPACE, "cert-manager", child);
    const certManager = pinnedChart(
      "cert-manager",
      { chart: "cert-manager", version: CERT_MANAGER_CHART, repo: "https://charts.jetstack.io", namespace: CERT_MANAGER_NAMESPACE, values: certManagerValues(args.postgres) },
      { ...child, dependsOn: [certManagerNamespace] },
      args.charts,
    );
    // The plugin runs beside the operator (its namespace), which finds it by its Service.
    const plugin = pinnedChart(
      "plugin-barman-cloud",
      { chart: "plugin-barman-cloud", version: BARMAN_CLOUD_PLUGIN_CHART, repo: CNPG_CHARTS, namespace: OPERATOR_NAMESPACE, values: backupPluginValues(args.postgres) },
      { ...child, dependsOn: [operatorNamespace, certManager, args.essentialPriority] },
      args.charts,
    );
    const objectStore = new k8s.apiextensions.CustomResource(
      OBJECT_STORE_NAME,
      {
        apiVersion: "barmancloud.cnpg.io/v1",
        kind: "ObjectStore",
        metadata: { name: OBJECT_STORE_NAME, namespace: args.namespace, labels: componentLabels("postgres") },
        spec: objectStoreSpec(args.postgres, backupStore(args)),
      },
      // Kept with the database: a Cluster left behind by a destroy still archives its WAL here.
      { ...child, dependsOn: [plugin], protect: true, retainOnDelete: true },
    );
    const cluster = new k8s.apiextensions.CustomResource(
      CLUSTER_NAME,
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: { name: CLUSTER_NAME, namespace: args.namespace, labels: componentLabels("postgres") },
        spec: clusterSpec(args.postgres, {
          image: POSTGRES_IMAGE,
          storageClass: STORAGE_CLASSES.database,
          ...(args.provisionedVolumes ? { volumeAttributesClass: databaseVolumeClassName(args.postgres.volume) } : {}),
          ownerSecret: SECRET_NAMES.postgresOwner,
          backup: backupStore(args),
        }),
      },
      // The database: never replaced, never deleted with the stack.
      { ...child, dependsOn: [operator, objectStore], protect: true, retainOnDelete: true },
    );
    new k8s.apiextensions.CustomResource(
      // Named when it ran nightly. A new name would delete it with its Backup objects (owned by it) and start a
      // full base backup at once (`immediate`): terabytes at 10K and 20K in the middle of an upgrade.
      `${CLUSTER_NAME}-daily`,
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "ScheduledBackup",
        metadata: { name: `${CLUSTER_NAME}-daily`, namespace: args.namespace, labels: componentLabels("postgres") },
        spec: scheduledBackupSpec(args.postgres.backup),
      },
      { ...child, dependsOn: [cluster] },
    );
    // CloudNativePG names the read-write Service <cluster>-rw; Synapse connects there (no pooler:
    // Synapse sets the isolation level per connection, which transaction pooling would break).
    this.readWriteService = `${CLUSTER_NAME}-rw`;
    this.registerOutputs({ readWriteService: this.readWriteService });
  }
}
