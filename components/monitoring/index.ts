/**
 * Monitoring on the monitoring pool: kube-prometheus-stack (Prometheus, Alertmanager, Grafana) and
 * Loki from pinned charts, the log agent on every node that ships every container's log to Loki
 * (log-agent.ts), Prometheus retention sized by the plan's monitoring volume, monitors for every
 * component that exports metrics, the plan's alert rules and the tier dashboard.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { POOL_LABEL } from "../../sizing/inventory";
import type { Plan } from "../../sizing/types";
import { callHostsNamespace, componentLabels, LOKI_SERVICE, MONITORING_NAMESPACE, STORAGE_CLASSES } from "../naming";
import { KUBE_PROMETHEUS_STACK_CHART, LOKI_CHART, SYNAPSE_DASHBOARD_URL } from "../versions";
import { chartPod, containerResources, namespaceFor, pinnedChart, type ChartOptions } from "../workload";
import { tierDashboard } from "./dashboard";
import { LOG_AGENT_NAME, LogAgent } from "./log-agent";
import { alertRules } from "./rules";

export interface MonitoringArgs {
  plan: Plan;
  namespace: string;
  provider: k8s.Provider;
  charts?: ChartOptions;
}

const RULE_LABEL = { "matrix-scale/alerts": "true" };

/** Pod and service monitors: [name, kind, selector labels, port, path, namespace (default: the workloads' and the call hosts')]. */
const MONITORS: [string, "PodMonitor" | "ServiceMonitor", Record<string, string>, string, string, string?][] = [
  ["synapse", "PodMonitor", { "app.kubernetes.io/name": "synapse" }, "metrics", "/_synapse/metrics"],
  ["synapse-haproxy", "PodMonitor", { "app.kubernetes.io/name": "haproxy" }, "stats", "/metrics"],
  ["livekit", "PodMonitor", { "app.kubernetes.io/name": "livekit" }, "metrics", "/metrics"],
  ["minio", "ServiceMonitor", { "app.kubernetes.io/name": "minio" }, "api", "/minio/v2/metrics/cluster"],
  ["redis", "PodMonitor", { "app.kubernetes.io/name": "redis" }, "metrics", "/metrics"],
  ["coturn", "PodMonitor", { "app.kubernetes.io/name": "coturn" }, "metrics", "/metrics"],
  [LOG_AGENT_NAME, "PodMonitor", { "app.kubernetes.io/name": LOG_AGENT_NAME }, "metrics", "/metrics", MONITORING_NAMESPACE],
];

export class Monitoring extends pulumi.ComponentResource {
  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:monitoring:Monitoring", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const m = args.plan.monitoring;
    const onPool = { nodeSelector: { [POOL_LABEL]: m.pool } };
    const sized = (process: keyof Plan["monitoring"]["resources"]) => ({ resources: containerResources(m.resources[process]) });
    const ns = namespaceFor(MONITORING_NAMESPACE, "monitoring", child);
    const stack = pinnedChart(
      "kube-prometheus-stack",
      {
        chart: "kube-prometheus-stack",
        version: KUBE_PROMETHEUS_STACK_CHART,
        repo: "https://prometheus-community.github.io/helm-charts",
        namespace: MONITORING_NAMESPACE,
        values: {
          prometheus: {
            prometheusSpec: {
              ...onPool,
              ...sized("prometheus"),
              retentionSize: `${m.prometheusRetentionGB}GB`,
              ruleSelector: { matchLabels: RULE_LABEL },
              podMonitorSelectorNilUsesHelmValues: false,
              serviceMonitorSelectorNilUsesHelmValues: false,
              storageSpec: { volumeClaimTemplate: { spec: { storageClassName: STORAGE_CLASSES.application, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${m.prometheusStorageGB}G` } } } } },
            },
          },
          alertmanager: { alertmanagerSpec: { ...onPool, ...sized("alertmanager") } },
          prometheusOperator: {
            ...onPool,
            ...sized("prometheusOperator"),
            prometheusConfigReloader: sized("configReloader"),
            // The certificate Jobs of the operator's admission webhook.
            admissionWebhooks: { patch: chartPod(m.admissionWebhookJob.pool, m.admissionWebhookJob.resources) },
          },
          "kube-state-metrics": { ...onPool, ...sized("kubeStateMetrics") },
          "prometheus-node-exporter": sized("nodeExporter"),
          grafana: {
            ...onPool,
            ...sized("grafana"),
            // A surging 1-core pod has no room beside the old one on the monitoring node (the plan gives the rest to Prometheus and Loki).
            deploymentStrategy: { type: "Recreate" },
            sidecar: { ...sized("sidecar"), dashboards: { enabled: true, searchNamespace: "ALL" } },
            dashboardProviders: { "providers.yaml": { apiVersion: 1, providers: [{ name: "synapse", folder: "Synapse", type: "file", options: { path: "/var/lib/grafana/dashboards/synapse" } }] } },
            dashboards: { synapse: { synapse: { url: SYNAPSE_DASHBOARD_URL, datasource: "Prometheus" } } },
          },
        },
      },
      { ...child, dependsOn: [ns] },
      args.charts,
    );
    pinnedChart(
      LOKI_SERVICE.name,
      {
        chart: "loki",
        version: LOKI_CHART,
        repo: "https://grafana.github.io/helm-charts",
        namespace: MONITORING_NAMESPACE,
        values: {
          deploymentMode: "SingleBinary",
          loki: { auth_enabled: false, commonConfig: { replication_factor: 1 }, storage: { type: "filesystem" }, schemaConfig: { configs: [{ from: "2025-01-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } }] } },
          sidecar: sized("sidecar"),
          singleBinary: { replicas: 1, ...onPool, ...sized("loki"), persistence: { size: `${m.lokiStorageGB}G`, storageClass: STORAGE_CLASSES.application } },
          read: { replicas: 0 },
          write: { replicas: 0 },
          backend: { replicas: 0 },
          // The chart's extras default on: memcached caches (about 11 GiB of requests), a gateway, a canary
          // DaemonSet on every node and a test pod. None is needed by one binary on one node, and none is
          // in the plan's node budget.
          chunksCache: { enabled: false },
          resultsCache: { enabled: false },
          gateway: { enabled: false },
          lokiCanary: { enabled: false },
          test: { enabled: false },
        },
      },
      { ...child, dependsOn: [ns] },
      args.charts,
    );

    const crd = { dependsOn: [stack] };
    new k8s.apiextensions.CustomResource(
      "matrix-scale-alerts",
      { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "matrix-scale", namespace: MONITORING_NAMESPACE, labels: { ...componentLabels("alerts"), ...RULE_LABEL } }, spec: alertRules(args.plan, args.namespace) },
      { ...child, ...crd },
    );
    new LogAgent(LOG_AGENT_NAME, { plan: args.plan }, { ...child, dependsOn: [ns] });
    for (const [monitor, kind, selector, port, path, namespace] of MONITORS) {
      const endpoints = [{ port, path, interval: "30s" }];
      new k8s.apiextensions.CustomResource(
        `monitor-${monitor}`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind,
          metadata: { name: monitor, namespace: namespace ?? args.namespace, labels: componentLabels("monitoring") },
          spec: { selector: { matchLabels: selector }, namespaceSelector: { matchNames: namespace ? [namespace] : [args.namespace, callHostsNamespace(args.namespace)] }, ...(kind === "PodMonitor" ? { podMetricsEndpoints: endpoints } : { endpoints }) },
        },
        { ...child, ...crd },
      );
    }
    new k8s.core.v1.ConfigMap(
      "matrix-scale-dashboard",
      {
        metadata: { name: "matrix-scale-dashboard", namespace: MONITORING_NAMESPACE, labels: { ...componentLabels("dashboards"), grafana_dashboard: "1" } },
        data: { "matrix-scale.json": JSON.stringify(tierDashboard(args.plan, args.namespace)) },
      },
      { ...child, dependsOn: [ns] },
    );
    this.registerOutputs({});
  }
}
