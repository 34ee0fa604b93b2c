/**
 * Cluster access: the Kubernetes provider every workload uses and the namespace they live in.
 * With target `kubernetes` the cluster exists (kubeconfig/context) or manifests are rendered to
 * a directory; the node inventory the operator must provide is an output.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../../sizing/settings";
import type { NodeGroupSpec } from "../../sizing/inventory";
import type { InventoryRow, PostgresPlan } from "../../sizing/types";
import { callHostsNamespace, componentLabels, databaseVolumeClassName, ESSENTIAL_PRIORITY, STORAGE_CLASSES } from "../naming";
import { storageClassParameters } from "../nodepools/network";

export interface ClusterArgs {
  kubernetes: Settings["kubernetes"];
  /** Rows of the plan's inventory the cluster must provide (all but the control plane). */
  inventory: readonly InventoryRow[];
  /** The node groups the cluster must provide (sizing's nodeGroups). */
  groups: readonly NodeGroupSpec[];
  /** The cluster this program built (AWS); otherwise kubeconfig/context from settings. */
  kubeconfig?: pulumi.Input<string>;
  /** Create the per-pool StorageClasses (AWS: EBS CSI); an existing cluster provides its own. */
  createStorageClasses: boolean;
  /** With the StorageClasses: the database volume's provisioned IOPS and throughput. */
  databaseVolume: PostgresPlan["volume"];
  /** Label the namespace for the AWS Load Balancer Controller's pod readiness gates. */
  podReadinessGates: boolean;
}

/** StorageClass per pool that holds volumes: encrypted, expandable, bound where the pod lands, retained. */
export function storageClassSpecs(inventory: readonly InventoryRow[]) {
  const roles = { application: STORAGE_CLASSES.application, database: STORAGE_CLASSES.database, storage: STORAGE_CLASSES.storage } as const;
  return (Object.keys(roles) as (keyof typeof roles)[]).map((role) => {
    const row = inventory.find((r) => r.role === role)!;
    return {
      metadata: { name: roles[role], labels: componentLabels("storage") },
      provisioner: "ebs.csi.aws.com",
      parameters: storageClassParameters(row.volumeType),
      allowVolumeExpansion: true,
      volumeBindingMode: "WaitForFirstConsumer",
      reclaimPolicy: "Retain",
    };
  });
}

/** The EBS CSI driver's VolumeAttributesClass for the database volume (parameters: aws-ebs-csi-driver docs/modify-volume.md). */
export function databaseVolumeClass(volume: PostgresPlan["volume"]) {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "VolumeAttributesClass",
    metadata: { name: databaseVolumeClassName(volume), labels: componentLabels("storage") },
    driverName: "ebs.csi.aws.com",
    parameters: { type: "gp3", iops: String(volume.iops), throughput: String(volume.throughputMiBps) },
  };
}

/** The AWS Load Balancer Controller injects NLB readiness gates into pods of namespaces with this label. */
export const POD_READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject";

/** PodSecurity admission per namespace: every workload is `restricted`, except the call hosts. */
export const POD_SECURITY = {
  workloads: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/warn": "restricted" },
  // LiveKit and coturn bind the node's address (host networking), which only `privileged` admits.
  callHosts: { "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/audit": "restricted" },
} as const;

export interface RequiredNodePool {
  role: string;
  count: number;
  vcpu: number;
  memoryGiB: number;
  storageGB: number;
  labels: Record<string, string>;
  taints: string[];
  /** For pools whose pods hold zonal volumes: which of the cluster's three zones (0, 1, 2) these nodes are in. */
  zone?: number;
}

/** The node groups the operator's cluster must provide (storage per MinIO pool, calls per service, by label). */
export function requiredNodePools(groups: readonly NodeGroupSpec[]): RequiredNodePool[] {
  return groups.map(({ row, count, labels, zone }) => ({
    role: row.role,
    count,
    vcpu: row.vcpu,
    memoryGiB: row.memoryGiB,
    storageGB: row.storageGB,
    labels,
    taints: row.taints.map((t) => `${t.key}=${t.value}:${t.effect}`),
    ...(zone === undefined ? {} : { zone }),
  }));
}

export class Cluster extends pulumi.ComponentResource {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Output<string>;
  readonly callHostsNamespace: pulumi.Output<string>;
  /** The PriorityClass of the processes a deployment cannot serve without (ESSENTIAL_PRIORITY). */
  readonly essentialPriority: k8s.scheduling.v1.PriorityClass;
  readonly requiredNodePools: RequiredNodePool[];

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:cluster:Cluster", name, {}, opts);
    const { kubeconfig, context, renderDir, namespace } = args.kubernetes;
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        ...(args.kubeconfig ? { kubeconfig: args.kubeconfig } : kubeconfig ? { kubeconfig } : {}),
        ...(!args.kubeconfig && context ? { context } : {}),
        ...(renderDir ? { renderYamlToDirectory: renderDir } : {}),
        enableServerSideApply: true,
      },
      { parent: this },
    );
    const namespaceWith = (resourceName: string, nsName: string, podSecurity: Record<string, string>) =>
      new k8s.core.v1.Namespace(
        resourceName,
        { metadata: { name: nsName, labels: componentLabels("namespace", podSecurity) } },
        // Deleting a namespace would delete every volume in it.
        { parent: this, provider: this.provider, retainOnDelete: true, protect: !renderDir },
      );
    // On AWS the load balancer controller holds a pod's readiness until its NLB target is healthy,
    // so a rollout never runs ahead of the NLB (pods created after the controller is up).
    const readinessGates: Record<string, string> = args.podReadinessGates ? { [POD_READINESS_GATE_LABEL]: "enabled" } : {};
    const ns = namespaceWith(`${name}-namespace`, namespace, { ...POD_SECURITY.workloads, ...readinessGates });
    const calls = namespaceWith(`${name}-calls-namespace`, callHostsNamespace(namespace), POD_SECURITY.callHosts);
    this.namespace = ns.metadata.name;
    this.callHostsNamespace = calls.metadata.name;
    if (args.createStorageClasses) {
      for (const spec of storageClassSpecs(args.inventory)) new k8s.storage.v1.StorageClass(spec.metadata.name, spec, { parent: this, provider: this.provider });
      // Kept when a tier move brings the next class: the volumes leave the old one as they are modified.
      const volumeClass = databaseVolumeClass(args.databaseVolume);
      new k8s.apiextensions.CustomResource(volumeClass.metadata.name, volumeClass, { parent: this, provider: this.provider, retainOnDelete: true });
    }
    this.essentialPriority = new k8s.scheduling.v1.PriorityClass(
      ESSENTIAL_PRIORITY.name,
      {
        metadata: { name: ESSENTIAL_PRIORITY.name, labels: componentLabels("scheduling") },
        value: ESSENTIAL_PRIORITY.value,
        preemptionPolicy: "PreemptLowerPriority",
        description: "Synapse's named processes, HAProxy, Redis and its proxy, lk-jwt-service: preempt stateless workers when nodes are short",
      },
      { parent: this, provider: this.provider },
    );
    this.requiredNodePools = requiredNodePools(args.groups);
    this.registerOutputs({ namespace: this.namespace, callHostsNamespace: this.callHostsNamespace, requiredNodePools: this.requiredNodePools });
  }
}
