/**
 * The Kubernetes objects the real program declares, as the provider would send them: Pulumi's
 * mock runtime runs the program, every `kubernetes:` resource becomes a manifest (auto-named ones
 * get the provider's name), in the order an apply needs. Helm charts are one opaque resource under
 * the mock runtime, so the custom kinds their CRDs define get minimal CRDs here, and the pods the
 * CloudNativePG operator would create for a `Cluster` get a stand-in (see operatorStandIns).
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

const BUILT_IN_GROUPS = new Set(["", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io"]);

export interface CustomKind {
  group: string;
  version: string;
  kind: string;
}

/** A CRD that lets the API server store a custom kind (any fields; real schemas come with the operators' charts). */
export function minimalCrd({ group, version, kind }: CustomKind): Manifest {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
    },
  };
}

/**
 * Minimal CRDs for the custom kinds the program declares (their real CRDs come with the operators'
 * charts): the API server stores the objects; their schemas are checked by the component tests.
 */
export function minimalCrds(list: readonly Manifest[]): Manifest[] {
  const kinds = new Map<string, CustomKind>();
  for (const m of list) {
    const [group, version] = m.apiVersion.includes("/") ? (m.apiVersion.split("/") as [string, string]) : ["", m.apiVersion];
    if (BUILT_IN_GROUPS.has(group)) continue;
    kinds.set(`${group}/${m.kind}`, { group, version, kind: m.kind });
  }
  return [...kinds.values()].map(minimalCrd);
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
