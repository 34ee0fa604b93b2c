/**
 * The log agent: an OpenTelemetry Collector on every node that tails every container's log from the
 * kubelet's files and ships it to Loki's OTLP endpoint. The configuration is a pure function (the
 * integration test runs the real collector with it); the component declares its ConfigMap and
 * DaemonSet.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import type { Plan } from "../../sizing/types";
import { componentLabels, LOKI_SERVICE, MONITORING_NAMESPACE } from "../naming";
import { LOG_AGENT_IMAGE } from "../versions";
import { checksum, containerResources, RESTRICTED_CONTAINER } from "../workload";

export const LOG_AGENT_NAME = "log-agent";

export interface LogAgentPaths {
  pods: string;
  state: string;
  loki: string;
  listen: string;
  healthPort: number;
  metricsPort: number;
}

/** Where the agent reads, keeps its state, answers and sends; the integration test moves each to loopback or a temporary directory. */
export const LOG_AGENT_PATHS: LogAgentPaths = {
  /** The kubelet's container logs: `<namespace>_<pod>_<uid>/<container>/<restart>.log`, the layout the container parser reads the pod from. */
  pods: "/var/log/pods",
  /** The read offsets and the sending queue (file_storage): on the node, so a restarted agent loses nothing (a killed one may send again what it read since its offsets were last saved). */
  state: "/var/lib/matrix-scale/log-agent",
  /** The Loki chart's single-binary Service (release `loki`): its native OTLP endpoint, the exporter adds `/v1/logs`. */
  loki: `http://${LOKI_SERVICE.name}.${MONITORING_NAMESPACE}.svc:${LOKI_SERVICE.port}/otlp`,
  /** The health check (the probes) and the collector's own metrics (a PodMonitor) listen here. */
  listen: "0.0.0.0",
  healthPort: 13133,
  metricsPort: 8888,
};

/**
 * The collector's command line. The synchronous emitter makes the file reader advance only once the
 * pipeline has taken what it read: without it, lines wait in the reader's in-memory batches while the
 * stored offsets already pass them, and a kill, or a stop that outlasts the final flush's 5 s during
 * an outage, loses them (the collector's stanza README, issue 35456).
 */
export const logAgentArgs = (configFile: string) => [`--config=${configFile}`, "--feature-gates=stanza.synchronousLogEmitter"];

/** The memory limiter's limits, MiB: its shares of the container's limit (in MiB, as the pod sees it). */
export function logAgentMemoryMiB(plan: Plan): { limit: number; spike: number } {
  const limiter = plan.monitoring.logAgent.memoryLimiter;
  const containerMiB = plan.monitoring.resources.logAgent.limits.memoryGiB * 1024;
  return { limit: Math.floor((containerMiB * limiter.limitPercent) / 100), spike: Math.floor((containerMiB * limiter.spikeLimitPercent) / 100) };
}

/** The agent's environment besides the node's name: Go's soft memory limit at the memory limiter's. */
export const logAgentEnv = (plan: Plan) => ({ GOMEMLIMIT: `${logAgentMemoryMiB(plan).limit}MiB` });

/**
 * The collector's configuration: every pod's log but the agent's own (which would feed itself),
 * parsed from the kubelet's CRI or Docker format with the pod's namespace, name, uid and container
 * taken from the file's path, and the node's name. Offsets and the sending queue live on the node's
 * disk. Nothing is dropped on the way: the exporter retries until Loki takes a batch, a full queue
 * blocks instead of refusing, and the file reader waits (retrying without end) until the pipeline
 * takes its batch, so a long outage stops the reading rather than losing what was read. What Loki
 * refuses for good is dropped: the exporter retries only 429, 502, 503 and 504.
 */
export function logAgentConfig(plan: Plan, paths: LogAgentPaths = LOG_AGENT_PATHS): Record<string, unknown> {
  const memory = logAgentMemoryMiB(plan);
  const forever = { enabled: true, max_elapsed_time: 0 };
  return {
    extensions: {
      // Compacted once it has shrunk again after an outage, so the file does not keep its peak size on the node's disk.
      file_storage: { directory: paths.state, create_directory: true, compaction: { directory: paths.state, on_rebound: true } },
      health_check: { endpoint: `${paths.listen}:${paths.healthPort}` },
    },
    receivers: {
      file_log: {
        // The kubelet renames a full file to `<n>.log.<time>` (and compresses older ones): a renamed file's
        // unread end is still read, from its stored offset (files are known by their first bytes).
        include: [`${paths.pods}/*/*/*.log`, `${paths.pods}/*/*/*.log.*`],
        exclude: [`${paths.pods}/${MONITORING_NAMESPACE}_${LOG_AGENT_NAME}-*/*/*`, `${paths.pods}/*/*/*.gz`, `${paths.pods}/*/*/*.tmp`],
        // On a new node pods write before the agent first looks: their files are read from the start too
        // (afterwards the stored offsets decide, and a new file is always read from its start).
        start_at: "beginning",
        // The container parser takes the pod from the path (log.file.path), which is not recorded by default.
        include_file_path: true,
        // The runtime splits a long line into partial lines (P) at a fixed size: a space at a split is content.
        preserve_trailing_whitespaces: true,
        storage: "file_storage",
        retry_on_failure: forever,
        resource: { "k8s.node.name": "${env:K8S_NODE_NAME}" },
        operators: [{ type: "container", id: "container-parser" }],
      },
    },
    processors: {
      memory_limiter: { check_interval: `${plan.monitoring.logAgent.memoryLimiter.checkIntervalSeconds}s`, limit_mib: memory.limit, spike_limit_mib: memory.spike },
    },
    exporters: {
      otlp_http: {
        endpoint: paths.loki,
        sending_queue: { storage: "file_storage", sizer: "items", queue_size: plan.monitoring.logAgent.queueLines, block_on_overflow: true },
        retry_on_failure: forever,
      },
    },
    service: {
      extensions: ["file_storage", "health_check"],
      telemetry: { metrics: { readers: [{ pull: { exporter: { prometheus: { host: paths.listen, port: paths.metricsPort } } } }] } },
      pipelines: { logs: { receivers: ["file_log"], processors: ["memory_limiter"], exporters: ["otlp_http"] } },
    },
  };
}

export const logAgentConfigYaml = (plan: Plan, paths: LogAgentPaths = LOG_AGENT_PATHS) => stringify(logAgentConfig(plan, paths));

export interface LogAgentArgs {
  plan: Plan;
}

export class LogAgent extends pulumi.ComponentResource {
  constructor(name: string, args: LogAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:monitoring:LogAgent", name, {}, opts);
    const child = { parent: this };
    const labels = componentLabels("logs", { "app.kubernetes.io/name": LOG_AGENT_NAME });
    const selector = { "app.kubernetes.io/name": LOG_AGENT_NAME };
    const config = logAgentConfigYaml(args.plan);
    const configMap = new k8s.core.v1.ConfigMap(LOG_AGENT_NAME, { metadata: { name: LOG_AGENT_NAME, namespace: MONITORING_NAMESPACE, labels }, data: { "config.yaml": config } }, child);
    const hostPath = (name: string, path: string, type: string) => ({ name, hostPath: { path, type } });
    new k8s.apps.v1.DaemonSet(
      LOG_AGENT_NAME,
      {
        metadata: { name: LOG_AGENT_NAME, namespace: MONITORING_NAMESPACE, labels },
        spec: {
          selector: { matchLabels: selector },
          // One node at a time, so a bad configuration stops at the first node (its probe fails).
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
          template: {
            metadata: { labels: { ...labels, ...selector }, annotations: { "matrix-scale/config-checksum": checksum(config) } },
            spec: {
              // Every node, whatever its pool's taint; ahead of the workloads when a node is full.
              tolerations: [{ operator: "Exists" }],
              priorityClassName: "system-node-critical",
              automountServiceAccountToken: false,
              // The kubelet's log files are root's (0640): read as root, with every capability dropped.
              securityContext: { runAsUser: 0, runAsGroup: 0, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "otelcol",
                  image: LOG_AGENT_IMAGE,
                  args: logAgentArgs("/conf/config.yaml"),
                  env: [
                    { name: "K8S_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                    ...Object.entries(logAgentEnv(args.plan)).map(([name, value]) => ({ name, value })),
                  ],
                  ports: [
                    { name: "metrics", containerPort: LOG_AGENT_PATHS.metricsPort },
                    { name: "health", containerPort: LOG_AGENT_PATHS.healthPort },
                  ],
                  resources: containerResources(args.plan.monitoring.resources.logAgent),
                  securityContext: { ...RESTRICTED_CONTAINER, runAsNonRoot: false },
                  livenessProbe: { httpGet: { path: "/", port: "health" } },
                  readinessProbe: { httpGet: { path: "/", port: "health" } },
                  volumeMounts: [
                    { name: "config", mountPath: "/conf", readOnly: true },
                    { name: "pods", mountPath: LOG_AGENT_PATHS.pods, readOnly: true },
                    { name: "state", mountPath: LOG_AGENT_PATHS.state },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: configMap.metadata.name } },
                hostPath("pods", LOG_AGENT_PATHS.pods, "Directory"),
                hostPath("state", LOG_AGENT_PATHS.state, "DirectoryOrCreate"),
              ],
            },
          },
        },
      },
      child,
    );
    this.registerOutputs({});
  }
}
