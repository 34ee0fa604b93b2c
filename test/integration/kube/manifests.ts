/**
 * The Kubernetes objects the real program declares, as the provider would send them: Pulumi's
 * mock runtime runs the program, every `kubernetes:` resource becomes a manifest (auto-named ones
 * get the provider's name), in the order an apply needs. Helm charts are one opaque resource under
 * the mock runtime, so the custom kinds their CRDs define come from the operators' own releases
 * (operator-crds.ts), and the pods the CloudNativePG operator would create for a `Cluster` get a
 * stand-in (see operatorStandIns).
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
    .sort((a, b) => rank(a) - rank(b));
}

export const STAND_IN_LABEL = "matrix-scale-test/stands-in-for";

interface CnpgCluster {
  metadata: { name: string; namespace: string };
  spec: {
    instances: number;
    resources: Record<string, unknown>;
    storage: { size: string; storageClass: string };
    affinity: { nodeSelector?: Record<string, string>; tolerations?: unknown[]; enablePodAntiAffinity?: boolean; podAntiAffinityType?: string; topologyKey?: string };
    topologySpreadConstraints?: unknown[];
  };
}

/**
 * CloudNativePG creates one pod and one volume per instance of a `Cluster`, placed by the Cluster's
 * `affinity` (node selector, tolerations, pod anti-affinity on `topologyKey`, required or
 * preferred), `topologySpreadConstraints` and `resources`, and a disruption budget that lets one
 * instance go at a time. No operator runs here, so a StatefulSet and a PDB with exactly that
 * placement, size and volume stand in for it: the scheduler then decides where the database can run.
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
