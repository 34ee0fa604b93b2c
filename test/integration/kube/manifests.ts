/**
 * The Kubernetes objects the real program declares, as the provider would send them: Pulumi's
 * mock runtime runs the program, every `kubernetes:` resource becomes a manifest (auto-named ones
 * get the provider's name), in the order an apply needs. Helm charts are one opaque resource under
 * the mock runtime, so the custom kinds their CRDs define come from the operators' own releases
 * (operator-crds.ts), the pods the CloudNativePG operator would create for a `Cluster` get a
 * stand-in (see operatorStandIns), and so do the pods the charts would run (see chartStandIns).
 */
import { isKubernetesObject, manifestOf, type DeclaredResource, type KubernetesManifest } from "../../../bin/mock-runtime";

export type Manifest = KubernetesManifest;

/** Apply order: what others refer to first, then the workloads, then what refers to workloads. */
const ORDER = [
  "Namespace",
  "CustomResourceDefinition",
  "StorageClass",
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "Service",
  "PersistentVolumeClaim",
  "StatefulSet",
  "Deployment",
  "Job",
  "CronJob",
  "HorizontalPodAutoscaler",
  "PodDisruptionBudget",
  "NetworkPolicy",
];

function rank(m: Manifest): number {
  const i = ORDER.indexOf(m.kind);
  return i === -1 ? ORDER.length : i;
}

export function manifests(resources: readonly DeclaredResource[]): Manifest[] {
  return resources
    .filter(isKubernetesObject)
    .map(manifestOf)
    .map(suspendedCronJob)
    .sort((a, b) => rank(a) - rank(b));
}

/**
 * A CronJob's pod runs at its schedule, not within a test's window: applied suspended, so a run that
 * falls inside one cannot add a pod the test does not expect (the plan counts it at the peak). The
 * API server still validates everything else of it.
 */
function suspendedCronJob(m: Manifest): Manifest {
  return m.kind === "CronJob" ? { ...m, spec: { ...(m.spec as Record<string, unknown>), suspend: true } } : m;
}

export const STAND_IN_LABEL = "matrix-scale-test/stands-in-for";

interface CnpgCluster {
  metadata: { name: string; namespace: string };
  spec: {
    plugins?: { name: string; parameters?: { barmanObjectName?: string } }[];
    instances: number;
    resources: Record<string, unknown>;
    storage: { size: string; storageClass: string };
    affinity: { nodeSelector?: Record<string, string>; tolerations?: unknown[]; enablePodAntiAffinity?: boolean; podAntiAffinityType?: string; topologyKey?: string };
    topologySpreadConstraints?: unknown[];
  };
}

/**
 * The Barman Cloud plugin's sidecar in an instance pod: a native sidecar (an init container that
 * keeps running, `restartPolicy: Always`) named `plugin-barman-cloud`, with the resources of the
 * ObjectStore the Cluster's plugin entry names (the plugin's internal/cnpgi/operator/lifecycle.go
 * and lifecycle_resources.go, v0.15.0). A Cluster naming an ObjectStore the list lacks is an error.
 */
function backupSidecars(cluster: CnpgCluster, list: readonly Manifest[]): Manifest[] {
  return (cluster.spec.plugins ?? [])
    .filter((p) => p.name === "barman-cloud.cloudnative-pg.io")
    .map((p) => {
      const name = p.parameters?.barmanObjectName;
      const store = list.find((m) => m.kind === "ObjectStore" && m.metadata.name === name && m.metadata.namespace === cluster.metadata.namespace);
      if (!store) throw new Error(`operatorStandIns: the Cluster ${cluster.metadata.name} names the ObjectStore ${name}, which is not declared`);
      const resources = ((store as { spec?: { instanceSidecarConfiguration?: { resources?: unknown } } }).spec?.instanceSidecarConfiguration?.resources ?? {}) as Manifest;
      return { name: "plugin-barman-cloud", image: "stand-in", restartPolicy: "Always", resources, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } } as unknown as Manifest;
    });
}

/**
 * CloudNativePG creates one pod and one volume per instance of a `Cluster`, placed by the Cluster's
 * `affinity` (node selector, tolerations, pod anti-affinity on `topologyKey`, required or
 * preferred), `topologySpreadConstraints` and `resources`, with the sidecars its plugins inject, and
 * a disruption budget that lets one instance go at a time. No operator runs here, so a StatefulSet
 * and a PDB with exactly that placement, size, sidecars and volume stand in for it: the scheduler
 * then decides where the database can run.
 */
export function operatorStandIns(list: readonly Manifest[]): Manifest[] {
  return list
    .filter((m) => m.apiVersion === "postgresql.cnpg.io/v1" && m.kind === "Cluster")
    .flatMap((m) => {
      const cluster = m as unknown as CnpgCluster;
      const { name, namespace } = cluster.metadata;
      const { affinity, instances, resources, storage, topologySpreadConstraints } = cluster.spec;
      const labels = { "cnpg.io/cluster": name, "cnpg.io/podRole": "instance" };
      const standIn = { [STAND_IN_LABEL]: "postgresql.cnpg.io.Cluster" };
      const term = { topologyKey: affinity.topologyKey ?? "kubernetes.io/hostname", labelSelector: { matchLabels: labels } };
      const antiAffinity = !affinity.enablePodAntiAffinity
        ? {}
        : affinity.podAntiAffinityType === "required"
          ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
          : { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } };
      const statefulSet: Manifest = {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: `${name}-instances`, namespace, labels: standIn },
        spec: {
          replicas: instances,
          serviceName: name,
          podManagementPolicy: "Parallel",
          selector: { matchLabels: labels },
          template: {
            metadata: { labels: { ...labels, ...standIn } },
            spec: {
              ...(affinity.nodeSelector ? { nodeSelector: affinity.nodeSelector } : {}),
              ...(affinity.tolerations ? { tolerations: affinity.tolerations } : {}),
              affinity: antiAffinity,
              ...(topologySpreadConstraints ? { topologySpreadConstraints } : {}),
              securityContext: { runAsNonRoot: true, runAsUser: 26, seccompProfile: { type: "RuntimeDefault" } },
              initContainers: backupSidecars(cluster, list),
              containers: [
                {
                  name: "postgres",
                  image: "stand-in",
                  resources,
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                  volumeMounts: [{ name: "pgdata", mountPath: "/var/lib/postgresql/data" }],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            { metadata: { name: "pgdata" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: storage.storageClass, resources: { requests: { storage: storage.size } } } },
          ],
        },
      };
      const budget: Manifest = {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: `${name}-instances`, namespace, labels: standIn },
        spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
      };
      return [statefulSet, budget];
    });
}

type Values = Record<string, any>;

/**
 * Where each chart's values put a workload's pods: replicas, each container's resources, and the
 * placement (nodeSelector, tolerations, affinity, topologySpreadConstraints), as the charts' own
 * values.yaml lays them out (kube-prometheus-stack 60: the operator adds its config reloader to
 * Prometheus's and Alertmanager's pods; node exporter is a DaemonSet the node model runs on every node).
 */
const CHART_WORKLOADS: Record<string, { name: string; replicas: (v: Values) => number; containers: (v: Values) => [string, unknown][]; placement: (v: Values) => Values }[]> = {
  "kube-prometheus-stack": [
    { name: "prometheus", replicas: () => 1, containers: (v) => [["prometheus", v.prometheus.prometheusSpec.resources], ["config-reloader", v.prometheusOperator.prometheusConfigReloader.resources]], placement: (v) => v.prometheus.prometheusSpec },
    { name: "alertmanager", replicas: () => 1, containers: (v) => [["alertmanager", v.alertmanager.alertmanagerSpec.resources], ["config-reloader", v.prometheusOperator.prometheusConfigReloader.resources]], placement: (v) => v.alertmanager.alertmanagerSpec },
    // Grafana's dashboards and data-sources sidecars (kube-prometheus-stack enables both) share `grafana.sidecar.resources`.
    { name: "grafana", replicas: () => 1, containers: (v) => [["grafana", v.grafana.resources], ["grafana-sc-dashboard", v.grafana.sidecar.resources], ["grafana-sc-datasources", v.grafana.sidecar.resources]], placement: (v) => v.grafana },
    { name: "prometheus-operator", replicas: () => 1, containers: (v) => [["operator", v.prometheusOperator.resources]], placement: (v) => v.prometheusOperator },
    { name: "kube-state-metrics", replicas: () => 1, containers: (v) => [["kube-state-metrics", v["kube-state-metrics"].resources]], placement: (v) => v["kube-state-metrics"] },
  ],
  // The single binary and its rules sidecar (`sidecar.resources`).
  loki: [{ name: "loki", replicas: (v) => v.singleBinary.replicas, containers: (v) => [["loki", v.singleBinary.resources], ["loki-sc-rules", v.sidecar.resources]], placement: (v) => v.singleBinary }],
  "cloudnative-pg": [{ name: "cloudnative-pg", replicas: (v) => v.replicaCount, containers: (v) => [["manager", v.resources]], placement: (v) => v }],
  "plugin-barman-cloud": [{ name: "barman-cloud", replicas: (v) => v.replicaCount, containers: (v) => [["barman-cloud", v.resources]], placement: (v) => v }],
  // The controller's values sit at the top level, the webhook's and CA injector's under their names;
  // the API check is a post-install hook Job that ends (not a standing pod).
  "cert-manager": [
    { name: "cert-manager", replicas: (v) => v.replicaCount, containers: (v) => [["cert-manager-controller", v.resources]], placement: (v) => v },
    { name: "cert-manager-webhook", replicas: (v) => v.webhook.replicaCount, containers: (v) => [["cert-manager-webhook", v.webhook.resources]], placement: (v) => v.webhook },
    { name: "cert-manager-cainjector", replicas: (v) => v.cainjector.replicaCount, containers: (v) => [["cert-manager-cainjector", v.cainjector.resources]], placement: (v) => v.cainjector },
  ],
  "aws-load-balancer-controller": [{ name: "aws-load-balancer-controller", replicas: (v) => v.replicaCount, containers: (v) => [["controller", v.resources]], placement: (v) => v }],
};

/**
 * A Deployment per workload each chart would run, with the requests and placement the program's
 * values give it, so the scheduler places the charts' pods on the nodes the node model builds. A
 * chart the table does not know fails the test (a new chart must say where its pods go).
 */
export function chartStandIns(resources: readonly DeclaredResource[]): Manifest[] {
  return resources
    .filter((r) => r.type === "kubernetes:helm.sh/v4:Chart")
    .flatMap((r) => {
      const chart = r.inputs.chart as string;
      const workloads = CHART_WORKLOADS[chart];
      if (!workloads) throw new Error(`chartStandIns: no stand-in for the ${chart} chart`);
      const values = r.inputs.values as Values;
      const namespace = r.inputs.namespace as string;
      return workloads.map(({ name, replicas, containers, placement }): Manifest => {
        const labels = { "app.kubernetes.io/name": name, [STAND_IN_LABEL]: `chart.${chart}` };
        const { nodeSelector, tolerations, affinity, topologySpreadConstraints, priorityClassName } = placement(values);
        return {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: `${name}-stand-in`, namespace, labels },
          spec: {
            replicas: replicas(values),
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                ...(nodeSelector ? { nodeSelector } : {}),
                ...(tolerations ? { tolerations } : {}),
                ...(affinity ? { affinity } : {}),
                ...(topologySpreadConstraints ? { topologySpreadConstraints } : {}),
                ...(priorityClassName ? { priorityClassName } : {}),
                securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } },
                containers: containers(values).map(([container, resources]) => {
                  if (!resources) throw new Error(`chartStandIns: ${chart} sets no resources for ${name}/${container}`);
                  return { name: container, image: "stand-in", resources, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } };
                }),
              },
            },
          },
        };
      });
    });
}
