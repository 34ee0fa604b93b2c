/**
 * Kubernetes objects of the Synapse fleet as plain data (pure builders): the component turns them
 * into resources, tests inspect them. Names match instance_map: StatefulSet pod `<name>-<i>` behind
 * the headless Service `<name>`.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { routableServiceName } from "../../sizing/edge";
import type { WorkerType } from "../../sizing/settings";
import { WORKER_NAMES } from "../../sizing/synapse";
import type { EdgePlan, Plan, SynapsePlan, WorkerPlan } from "../../sizing/types";
import { componentLabels, ESSENTIAL_PRIORITY } from "../naming";
import { containerResources, mebibytes, poolPlacement, RESTRICTED_CONTAINER, restrictedPod } from "../workload";
import { SECRET_FILES } from "./config";
import { renderScratchCleaner } from "./scratch";
import { POD_PORTS, type SynapseProcess } from "./topology";

type Input<T> = pulumi.Input<T>;

export const MOUNTS = {
  shared: "/config/shared",
  process: "/config/process",
  secrets: "/secrets",
  runtime: "/run/synapse",
  media: "/data/media",
} as const;
export const CONFIG_FILE = { shared: "homeserver.yaml", process: "process.yaml", log: "log.yaml", haproxy: "haproxy.cfg" } as const;
/** The official image's synapse user. */
export const SYNAPSE_UID = 991;
export const CHECKSUM_ANNOTATION = "matrix-scale/config-checksum";

/**
 * A coordinated restart (components/coordinated-restart.ts): every pod carries the hash of the
 * processes' topology (config.ts TOPOLOGY_KEYS); the ConfigMap names the one the fleet runs; the
 * pods' ServiceAccount lets their gate read both; the Job stops every pod of another topology.
 */
export const SYNAPSE_TOPOLOGY = { label: "matrix-scale/topology", configMap: "synapse-topology", account: "synapse", restart: "synapse-restart" } as const;

/** Every Synapse process's pods, whatever its type. */
export const SYNAPSE_POD_SELECTOR = { "app.kubernetes.io/name": "synapse" } as const;
/** The pods of the process types HAProxy routes requests to (routing.routedTypes): only they accept HAProxy. */
export const ROUTED_POD_SELECTOR = { ...SYNAPSE_POD_SELECTOR, "matrix-scale/http-routed": "true" } as const;

export function synapseLabels(type: WorkerType): Record<string, string> {
  return componentLabels(WORKER_NAMES[type].replace(/^synapse-/, ""), SYNAPSE_POD_SELECTOR);
}

export function selectorLabels(type: WorkerType): Record<string, string> {
  return { ...SYNAPSE_POD_SELECTOR, "app.kubernetes.io/component": WORKER_NAMES[type].replace(/^synapse-/, "") };
}



/**
 * The container's start: a private copy of the libpq password file (libpq refuses group-readable
 * ones, and Secret volumes are group-readable under fsGroup), a worker_name from the pod name for
 * autoscaled workers, then Synapse with its three config files.
 */
export function startCommand(process: SynapseProcess): string[] {
  const app = process.type === "main" ? "synapse.app.homeserver" : "synapse.app.generic_worker";
  const configs = [`${MOUNTS.shared}/${CONFIG_FILE.shared}`, `${MOUNTS.process}/${CONFIG_FILE.process}`, `${MOUNTS.secrets}/${SECRET_FILES.config}`];
  const script = [
    "set -e",
    // jemalloc, as the image's start script preloads it: less fragmentation, and cache autotuning reads it.
    'jemalloc="/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2"; if [ -f "$jemalloc" ]; then export LD_PRELOAD="$jemalloc"; fi',
    `install -m 0600 ${MOUNTS.secrets}/${SECRET_FILES.pgpass} ${MOUNTS.runtime}/${SECRET_FILES.pgpass}`,
    ...(process.name ? [] : [`echo "worker_name: $POD_NAME" > ${MOUNTS.runtime}/worker-name.yaml`]),
    `exec python -m ${app} ${configs.map((c) => `--config-path ${c}`).join(" ")}${process.name ? "" : ` --config-path ${MOUNTS.runtime}/worker-name.yaml`}`,
  ].join("\n");
  return ["sh", "-c", script];
}

export interface PodInputs {
  process: SynapseProcess;
  worker: WorkerPlan;
  image: string;
  sharedConfigMap: Input<string>;
  processConfigMap: Input<string>;
  secretName: string;
  mediaSecretName: string;
  checksum: string;
  drain: EdgePlan["drain"];
  probeTimeoutSeconds: number;
  scratch: SynapsePlan["scratch"];
  /** Where media are stored (the cleaner checks each copy there before removing it). */
  objectStore: { endpoint: string; bucket: string; region: string };
  /** HAProxy sends requests to this process type. */
  routed: boolean;
  /** The hash of the processes' topology, and the gate that keeps the pod from starting beside another. */
  topology: string;
  gate: { initContainer: k8s.types.input.core.v1.Container; volume: k8s.types.input.core.v1.Volume };
}

export function podTemplate(inputs: PodInputs): k8s.types.input.core.v1.PodTemplateSpec {
  const { process, worker } = inputs;
  const labels = { ...synapseLabels(worker.type), ...(inputs.routed ? ROUTED_POD_SELECTOR : {}), [SYNAPSE_TOPOLOGY.label]: inputs.topology };
  const media = worker.type === "mediaRepository";
  const ports = [
    { name: "http", containerPort: POD_PORTS.http },
    ...(process.replication ? [{ name: "replication", containerPort: POD_PORTS.replication }] : []),
    { name: "metrics", containerPort: POD_PORTS.metrics },
  ];
  const health = { httpGet: { path: "/health", port: "http" }, timeoutSeconds: inputs.probeTimeoutSeconds };
  const volumeMounts = [
    { name: "shared", mountPath: MOUNTS.shared, readOnly: true },
    { name: "process", mountPath: MOUNTS.process, readOnly: true },
    { name: "secrets", mountPath: MOUNTS.secrets, readOnly: true },
    { name: "runtime", mountPath: MOUNTS.runtime },
    { name: "tmp", mountPath: "/tmp" },
    ...(media ? [{ name: "media", mountPath: MOUNTS.media }] : []),
  ];
  return {
    metadata: { labels, annotations: { [CHECKSUM_ANNOTATION]: inputs.checksum, "prometheus.io/port": String(POD_PORTS.metrics) } },
    spec: {
      ...poolPlacement(worker.pool, selectorLabels(worker.type), false),
      securityContext: restrictedPod(SYNAPSE_UID, true),
      terminationGracePeriodSeconds: inputs.drain.terminationGraceSeconds,
      ...(worker.autoscaled ? {} : { priorityClassName: ESSENTIAL_PRIORITY.name }),
      // The gate's token is projected into the gate alone.
      serviceAccountName: SYNAPSE_TOPOLOGY.account,
      automountServiceAccountToken: false,
      initContainers: [inputs.gate.initContainer],
      containers: [
        {
          name: "synapse",
          image: inputs.image,
          command: startCommand(process),
          env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }, ...PYTHON_ENV, ...(media ? mediaStoreEnv(inputs.mediaSecretName) : [])],
          ports,
          resources: containerResources(worker.resources),
          // Keeps serving while HAProxy notices the pod is going (its address leaves DNS, checks fail).
          lifecycle: { preStop: { sleep: { seconds: inputs.drain.preStopSeconds } } },
          readinessProbe: { ...health, periodSeconds: 5, failureThreshold: 3 },
          livenessProbe: { ...health, periodSeconds: 10, failureThreshold: 6 },
          // main runs the schema migrations before it answers: give it time once, not on every check.
          startupProbe: { ...health, periodSeconds: 10, failureThreshold: worker.type === "main" ? 90 : 30 },
          securityContext: RESTRICTED_CONTAINER,
          volumeMounts,
        },
        ...(media ? [scratchCleanerContainer(inputs)] : []),
      ],
      volumes: [
        { name: "shared", configMap: { name: inputs.sharedConfigMap } },
        { name: "process", configMap: { name: inputs.processConfigMap } },
        { name: "secrets", secret: { secretName: inputs.secretName, defaultMode: 0o440 } },
        inputs.gate.volume,
        { name: "runtime", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
        { name: "tmp", emptyDir: { sizeLimit: mebibytes(media ? inputs.scratch.mediaTmpGiB : inputs.scratch.tmpGiB) } },
        ...(media ? [{ name: "media", emptyDir: { sizeLimit: mebibytes(inputs.scratch.mediaGiB) } }] : []),
      ],
    },
  };
}

export const PYTHON_ENV = [{ name: "PYTHONDONTWRITEBYTECODE", value: "1" }];

/** The media bucket's keys, as the S3 provider (and the cleaner) read them. */
export function mediaStoreEnv(secretName: string): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: secretName, key: "accessKey" } } },
    { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: secretName, key: "secretKey" } } },
  ];
}

/** Beside each media worker: keeps the provider's local copies within the plan's scratch (scratch.ts). */
function scratchCleanerContainer(inputs: PodInputs): k8s.types.input.core.v1.Container {
  return {
    name: "scratch-cleaner",
    image: inputs.image,
    command: ["python", "-c", renderScratchCleaner(inputs.scratch.cleanup), MOUNTS.media, inputs.objectStore.bucket, inputs.objectStore.endpoint, inputs.objectStore.region],
    env: [...PYTHON_ENV, ...mediaStoreEnv(inputs.mediaSecretName)],
    resources: containerResources(inputs.scratch.cleanup.resources),
    securityContext: RESTRICTED_CONTAINER,
    volumeMounts: [{ name: "media", mountPath: MOUNTS.media }],
  };
}

export function headlessService(type: WorkerType, namespace: string, replication: boolean): k8s.types.input.core.v1.Service {
  return {
    metadata: { name: WORKER_NAMES[type], namespace, labels: synapseLabels(type) },
    spec: {
      clusterIP: "None",
      // Pods are addressed before they are ready: Synapse and HAProxy health-check them themselves.
      publishNotReadyAddresses: true,
      selector: selectorLabels(type),
      ports: [
        { name: "http", port: POD_PORTS.http, targetPort: "http" },
        ...(replication ? [{ name: "replication", port: POD_PORTS.replication, targetPort: "replication" }] : []),
        { name: "metrics", port: POD_PORTS.metrics, targetPort: "metrics" },
      ],
    },
  };
}

/** The ready pods of an autoscaled type, as HAProxy discovers them: a stopping pod leaves the answer when it stops being ready. */
export function routableService(type: WorkerType, namespace: string): k8s.types.input.core.v1.Service {
  return {
    metadata: { name: routableServiceName(WORKER_NAMES[type]), namespace, labels: synapseLabels(type) },
    spec: { clusterIP: "None", publishNotReadyAddresses: false, selector: selectorLabels(type), ports: [{ name: "http", port: POD_PORTS.http, targetPort: "http" }] },
  };
}

export function horizontalAutoscaler(worker: WorkerPlan, namespace: string, autoscaling: Plan["synapse"]["autoscaling"]): k8s.types.input.autoscaling.v2.HorizontalPodAutoscaler {
  const name = WORKER_NAMES[worker.type];
  const averageUtilization = worker.hpaTargetCpuUtilisation;
  if (averageUtilization === undefined) throw new Error(`${worker.type} does not autoscale: no HPA target in the plan`);
  return {
    metadata: { name, namespace, labels: synapseLabels(worker.type) },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      minReplicas: worker.replicas,
      maxReplicas: worker.maxReplicas,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization } } }],
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: autoscaling.scaleUp.stabilizationWindowSeconds,
          policies: [{ type: "Pods", value: autoscaling.scaleUp.pods, periodSeconds: autoscaling.scaleUp.periodSeconds }],
        },
        scaleDown: {
          stabilizationWindowSeconds: autoscaling.scaleDown.stabilizationWindowSeconds,
          policies: [{ type: "Pods", value: autoscaling.scaleDown.pods, periodSeconds: autoscaling.scaleDown.periodSeconds }],
        },
      },
    },
  };
}
