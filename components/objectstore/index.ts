/**
 * MinIO: one StatefulSet per erasure-coded server pool (pools are only appended), a shared
 * headless Service for their stable names, the client Service, and a setup Job that creates the
 * media and backup buckets with one least-privilege user each. MinIO requires every server of
 * every pool to restart together when the pool list (or the release) changes, so the StatefulSets
 * never roll: a coordinating Job restarts all servers at once (components/coordinated-restart.ts).
 * The community edition is in maintenance mode: the images are configurable.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MINIO_POOL_LABEL } from "../../sizing/inventory";
import type { MinioPlan } from "../../sizing/types";
import { componentLabels, SERVICE_NAMES, STORAGE_CLASSES } from "../naming";
import { SECRET_NAMES } from "../secrets";
import { coordinatedRestart, SKIP_AWAIT, SPEC_LABEL, specHash } from "../coordinated-restart";
import { CURL_IMAGE } from "../versions";
import { containerResources, disruptionBudget, poolPlacement, RESTRICTED_CONTAINER, restrictedPod } from "../workload";
import { kubernetesPoolEndpoint, MINIO_PORTS, MINIO_RESTART_NAME, MINIO_SELECTOR, MINIO_SETUP_SELECTOR, DEPLOYMENT_BUCKETS, minioServerArgs, setupScript, storageClassEnv } from "./server";

export const HEADLESS_SERVICE = "minio-headless";
const UID = 1000;

export interface ObjectStoreArgs {
  minio: MinioPlan;
  namespace: string;
  provider: k8s.Provider;
  image: string;
  mcImage: string;
}

export class ObjectStore extends pulumi.ComponentResource {
  readonly endpoint: string;

  constructor(name: string, args: ObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:objectstore:ObjectStore", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const ns = args.namespace;
    const selector = MINIO_SELECTOR;
    const labels = componentLabels("minio", selector);
    const rootEnv = [
      { name: "MINIO_ROOT_USER", valueFrom: { secretKeyRef: { name: SECRET_NAMES.minioRoot, key: "rootUser" } } },
      { name: "MINIO_ROOT_PASSWORD", valueFrom: { secretKeyRef: { name: SECRET_NAMES.minioRoot, key: "rootPassword" } } },
    ];
    const ports = [
      { name: "api", port: MINIO_PORTS.api, targetPort: "api" },
      { name: "console", port: MINIO_PORTS.console, targetPort: "console" },
    ];
    new k8s.core.v1.Service(HEADLESS_SERVICE, { metadata: { name: HEADLESS_SERVICE, namespace: ns, labels }, spec: { clusterIP: "None", publishNotReadyAddresses: true, selector, ports } }, child);
    new k8s.core.v1.Service(SERVICE_NAMES.minio, { metadata: { name: SERVICE_NAMES.minio, namespace: ns, labels }, spec: { selector, ports } }, child);

    // Every server lists every pool: appending a pool restarts the servers with the longer list.
    const args_ = minioServerArgs(args.minio, kubernetesPoolEndpoint(ns, HEADLESS_SERVICE), { address: `:${MINIO_PORTS.api}`, console: `:${MINIO_PORTS.console}` });
    const health = (path: string) => ({ httpGet: { path, port: "api" }, periodSeconds: 10 });
    const templates = args.minio.pools.map((pool, i) => {
      const poolLabels = { ...labels, "matrix-scale/minio-pool": String(i) };
      const placement = poolPlacement(args.minio.pool, selector, true);
      return {
        metadata: { labels: poolLabels },
        spec: {
          ...placement,
          // The pool's own nodes (see nodeGroups): a new pool never takes a restarting server's node.
          nodeSelector: { ...placement.nodeSelector, [MINIO_POOL_LABEL]: String(i) },
          securityContext: restrictedPod(UID, true),
          containers: [
            {
              name: "minio",
              image: args.image,
              args: args_,
              env: [...rootEnv, ...Object.entries(storageClassEnv(args.minio)).map(([n, value]) => ({ name: n, value })), { name: "MINIO_PROMETHEUS_AUTH_TYPE", value: "public" }],
              ports: [
                { name: "api", containerPort: MINIO_PORTS.api },
                { name: "console", containerPort: MINIO_PORTS.console },
              ],
              resources: containerResources(args.minio.resources),
              livenessProbe: health("/minio/health/live"),
              readinessProbe: health("/minio/health/ready"),
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: Array.from({ length: pool.drivesPerServer }, (_, d) => ({ name: `data${d}`, mountPath: `/data${d}` })),
            },
          ],
        },
      };
    });
    // One specification for every server of every pool: a new pool changes every server's arguments.
    const hash = specHash(templates);
    const sets = args.minio.pools.map((pool, i) => {
      const set = `minio-pool-${i}`;
      const template = templates[i]!;
      const poolLabels = template.metadata.labels;
      const statefulSet = new k8s.apps.v1.StatefulSet(
        set,
        {
          metadata: { name: set, namespace: ns, labels: poolLabels, annotations: SKIP_AWAIT },
          spec: {
            serviceName: HEADLESS_SERVICE,
            replicas: pool.servers,
            podManagementPolicy: "Parallel",
            // Never rolled one pod at a time: minio-restart restarts every server together.
            updateStrategy: { type: "OnDelete" },
            selector: { matchLabels: { ...selector, "matrix-scale/minio-pool": String(i) } },
            template: { ...template, metadata: { labels: { ...poolLabels, [SPEC_LABEL]: hash } } },
            volumeClaimTemplates: Array.from({ length: pool.drivesPerServer }, (_, d) => ({
              metadata: { name: `data${d}` },
              spec: { accessModes: ["ReadWriteOnce"], storageClassName: STORAGE_CLASSES.storage, resources: { requests: { storage: `${pool.driveGB}G` } } },
            })),
          },
        },
        // A pool holds media: never replaced, never deleted with the stack.
        { ...child, protect: true, retainOnDelete: true },
      );
      new k8s.policy.v1.PodDisruptionBudget(set, disruptionBudget(set, ns, poolLabels, { ...selector, "matrix-scale/minio-pool": String(i) }), child);
      return { statefulSet, name: set };
    });
    this.endpoint = `http://${SERVICE_NAMES.minio}.${ns}.svc.cluster.local:${MINIO_PORTS.api}`;
    coordinatedRestart(
      {
        name: MINIO_RESTART_NAME,
        namespace: ns,
        selector,
        hash,
        current: { label: SPEC_LABEL, value: hash },
        workloads: sets.map(({ name: set }) => ({ kind: "statefulsets" as const, name: set })),
        // 200 once every erasure set of every pool has its write quorum.
        healthUrl: `${this.endpoint}/minio/health/cluster`,
        timeoutSeconds: args.minio.restart.timeoutSeconds,
        pollSeconds: args.minio.restart.pollSeconds,
        image: CURL_IMAGE,
        resources: args.minio.setupJob,
        uid: UID,
        effect: "every MinIO server of every pool stops at once and starts with the new specification: media and backups are unavailable until the cluster has its write quorum again",
      },
      sets.map((s) => s.statefulSet),
      child,
    );
    const keys = DEPLOYMENT_BUCKETS.flatMap((b) => [
      { name: b.accessKeyEnv, valueFrom: { secretKeyRef: { name: b.secret, key: "accessKey" } } },
      { name: b.secretKeyEnv, valueFrom: { secretKeyRef: { name: b.secret, key: "secretKey" } } },
    ]);
    new k8s.batch.v1.Job(
      "minio-setup",
      {
        metadata: { namespace: ns, labels: componentLabels(MINIO_SETUP_SELECTOR["app.kubernetes.io/component"]) },
        spec: {
          backoffLimit: 20,
          template: {
            metadata: { labels: componentLabels(MINIO_SETUP_SELECTOR["app.kubernetes.io/component"]) },
            spec: {
              restartPolicy: "OnFailure",
              securityContext: restrictedPod(UID),
              containers: [
                {
                  name: "mc",
                  image: args.mcImage,
                  command: ["sh", "-c", setupScript(this.endpoint, DEPLOYMENT_BUCKETS)],
                  env: [...rootEnv, ...keys, { name: "HOME", value: "/tmp" }],
                  resources: containerResources(args.minio.setupJob),
                  securityContext: RESTRICTED_CONTAINER,
                  volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                },
              ],
              volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
            },
          },
        },
      },
      child,
    );
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
