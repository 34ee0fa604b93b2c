/**
 * What a change to a declared resource means for a running deployment: in place, a restart of the
 * pods it templates, or a replacement. Replacement fields are the providers' documented
 * replace-on-change properties (pulumi-kubernetes, pulumi-aws).
 */
import type { DeclaredResource } from "./mock-runtime";

export type Effect = "in-place" | "restart" | "replace";

const K8S_IDENTITY = [/^metadata\.name$/, /^metadata\.namespace$/];

export const REPLACE_ON_CHANGE: Readonly<Record<string, RegExp[]>> = {
  "kubernetes:apps/v1:StatefulSet": [/^spec\.selector/, /^spec\.serviceName$/, /^spec\.volumeClaimTemplates/, /^spec\.podManagementPolicy$/, /^spec\.revisionHistoryLimit$/],
  "kubernetes:apps/v1:Deployment": [/^spec\.selector/],
  "kubernetes:apps/v1:DaemonSet": [/^spec\.selector/],
  "kubernetes:core/v1:PersistentVolumeClaim": [/^spec\.storageClassName$/, /^spec\.accessModes/],
  "kubernetes:core/v1:Service": [/^spec\.clusterIP$/],
  "kubernetes:storage.k8s.io/v1:StorageClass": [/^parameters/, /^provisioner$/, /^reclaimPolicy$/, /^volumeBindingMode$/],
  // The provider replaces a Secret whose data changes (it does not set enableSecretMutable):
  // auto-named ones are created before the old one goes, fixed names are deleted first.
  "kubernetes:core/v1:Secret": [/^type$/, /^data/, /^stringData/],
  // Immutable ConfigMaps: any data change is a new object (auto-named: created before the old goes).
  "kubernetes:core/v1:ConfigMap": [/^data/, /^binaryData/, /^immutable$/],
  "kubernetes:batch/v1:Job": [/^spec\.template/, /^spec\.selector/],
  "aws:eks/nodeGroup:NodeGroup": [/^instanceTypes/, /^amiType$/, /^capacityType$/, /^diskSize$/, /^subnetIds/, /^nodeRoleArn$/, /^clusterName$/, /^remoteAccess/],
  "aws:ec2/subnet:Subnet": [/^cidrBlock$/, /^availabilityZone$/, /^vpcId$/],
  "aws:ec2/vpc:Vpc": [/^cidrBlock$/],
  "aws:eks/cluster:Cluster": [/^vpcConfig\.subnetIds/, /^name$/],
};

const TEMPLATED = new Set(["kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet"]);

/**
 * Chart values the charts render into a pod template (a workload's resources and placement) or, for
 * Prometheus, into its arguments through the operator (retention): their pods restart.
 */
const CHART_POD_VALUES = [/\.(resources|nodeSelector|tolerations|affinity)(\.|$)/, /\.prometheusSpec\.retention(Size)?$/];

export function effectOf(type: string, path: string): Effect {
  if (type.startsWith("kubernetes:") && K8S_IDENTITY.some((re) => re.test(path))) return "replace";
  if ((REPLACE_ON_CHANGE[type] ?? []).some((re) => re.test(path))) return "replace";
  if (TEMPLATED.has(type) && path.startsWith("spec.template.")) return "restart";
  if (type === "kubernetes:helm.sh/v4:Chart" && path.startsWith("values.") && CHART_POD_VALUES.some((re) => re.test(path))) return "restart";
  return "in-place";
}

/** Resources that hold data: never replaced or deleted by a tier move. */
export function isStateful(r: Pick<DeclaredResource, "type" | "name">): boolean {
  if (r.type === "kubernetes:postgresql.cnpg.io/v1:Cluster" || r.type === "kubernetes:barmancloud.cnpg.io/v1:ObjectStore") return true;
  if (r.type === "kubernetes:core/v1:PersistentVolumeClaim" || r.type === "kubernetes:storage.k8s.io/v1:StorageClass") return true;
  if (r.type === "kubernetes:apps/v1:StatefulSet") return /^minio-pool-\d+$/.test(r.name) || /^redis-(synapse|livekit)$/.test(r.name);
  if (r.type === "kubernetes:core/v1:Namespace") return true;
  return false;
}

/** Why a workload's pods restart, from the template paths that changed. */
export function restartReason(paths: readonly string[]): string {
  const reasons = new Set<string>();
  for (const p of paths) {
    if (p.includes("config-checksum") || /volumes\[.*\]\.(configMap|secret)/.test(p)) reasons.add("its configuration changed");
    else if (/\.image$/.test(p)) reasons.add("its image changed");
    else if (/\.resources\./.test(p)) reasons.add("its resources changed");
    else if (/\.(args|command|env)/.test(p)) reasons.add("its command or environment changed");
    else reasons.add("its pod template changed");
  }
  return [...reasons].join(", ");
}
