/**
 * PostgreSQL HA: the CloudNativePG operator (Helm chart, pinned) and a Cluster for Synapse with
 * the plan's instances, resources, volume and every tuning parameter, synchronous replication,
 * required anti-affinity, backups to the object store (WAL archiving and a weekly base backup).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresPlan } from "../../sizing/types";
import { BACKUP_BUCKET, componentLabels, databaseVolumeClassName, SERVICE_NAMES, STORAGE_CLASSES } from "../naming";
import { SECRET_NAMES } from "../secrets";
import { CNPG_CHART_VERSION, POSTGRES_IMAGE } from "../versions";
import { POOL_LABEL } from "../../sizing/inventory";
import { containerResources, namespaceFor, pinnedChart, ZONE_KEY, type ChartOptions } from "../workload";
import { backupPrefix, CLUSTER_NAME, clusterSpec, OPERATOR_SELECTOR, scheduledBackupSpec } from "./cluster";

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
    resources: containerResources(pg.operator.resources),
    nodeSelector: { [POOL_LABEL]: pg.operator.pool },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [apart] } },
  };
}

export class Postgres extends pulumi.ComponentResource {
  readonly readWriteService: string;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:postgres:Postgres", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const operatorNamespace = namespaceFor(OPERATOR_NAMESPACE, "postgres-operator", child);
    const operator = pinnedChart(
      "cloudnative-pg",
      { chart: "cloudnative-pg", version: CNPG_CHART_VERSION, repo: "https://cloudnative-pg.github.io/charts", namespace: OPERATOR_NAMESPACE, values: operatorValues(args.postgres) },
      { ...child, dependsOn: [operatorNamespace] },
      args.charts,
    );
    const minio = `http://${SERVICE_NAMES.minio}.${args.namespace}.svc.cluster.local:9000`;
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
          backup: args.backupBucket
            ? { kind: "s3", ...args.backupBucket, prefix: backupPrefix(args.namespace) }
            : args.backupStore
              ? { kind: "external", ...args.backupStore, prefix: backupPrefix(args.namespace) }
              : { kind: "minio", endpoint: minio, bucket: BACKUP_BUCKET, credentialsSecret: SECRET_NAMES.minioBackup },
        }),
      },
      // The database: never replaced, never deleted with the stack.
      { ...child, dependsOn: [operator], protect: true, retainOnDelete: true },
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
