/**
 * An independent model of how an EKS managed-node-group node on the AL2023 AMI reports itself:
 * nominal instance shape, the pods limit, the memory the kubelet sees as capacity, the kubelet
 * reservation nodeadm configures, what is left as allocatable, and the per-node DaemonSets this
 * project's cluster runs. Pure data and arithmetic; every number carries the source it was read from.
 *
 * How the pieces fit (each step is sourced below):
 *   capacity.memory  = nominal × (1 − 0.075)                         (Karpenter's conservative VM overhead)
 *   reserved.cpu     = nodeadm's banded CPU formula                   (kube-reserved; nodeadm sets no system-reserved)
 *   reserved.memory  = 11 MiB × maxPods(ENI) + 255 MiB + 100 MiB      (kube-reserved + evictionHard memory.available)
 *   allocatable      = capacity − reserved
 *   allocatable.pods = min(maxPods(ENI), 110 if vCPU ≤ 30 else 250)  (managed node group cap in user data)
 *
 * Note on pods vs. reservation: nodeadm computes kube-reserved memory from its own ENI-derived maxPods
 * (GetClassicMaxPods), while the managed node group injects its capped maxPods into the kubelet config
 * drop-in; the drop-in overrides maxPods only, so the reservation keeps the uncapped value.
 */
import { mibToGiB } from "./units";

/** One EC2 instance type as an EKS AL2023 node sees it. */
export interface InstanceModel {
  vcpu: number; // nominal vCPUs
  memoryGiB: number; // nominal GiB on the AWS instance-type page
  maxEnis: number; // from the EC2 docs "maximum network interfaces"
  ipv4PerEni: number; // "IPv4 addresses per interface"
}

/** Where the DaemonSet requests come from, and whether they run on every (tainted) node of this project. */
export interface DaemonSetModel {
  name: string;
  namespace: string;
  requests: { vcpu: number; memoryGiB: number };
  tolerateAllTaints: boolean;
  /** Declared by this program as a plain DaemonSet (the control-plane tests apply the program's own, not a stand-in). */
  declaredByProgram?: boolean;
  source: string;
}

const READ = "2026-11-30";

// vCPU and memory: Karpenter's generated instance-type reference (labels karpenter.k8s.aws/instance-cpu and
// karpenter.k8s.aws/instance-memory, in MiB, taken from the EC2 DescribeInstanceTypes API), read at
// https://github.com/aws/karpenter-provider-aws/blob/0c5e7d8112409aff07b0f17a0f51c87bdba52ed1/website/content/en/docs/reference/instance-types.md
// (sections "c7i Family", "m7i Family", "r7i Family"); memoryGiB = instance-memory / 1024.
// ENIs and IPv4 per ENI: nodeadm's embedded table (defaultMaxENIs, ipv4AddressesPerInterface), read at
// https://github.com/awslabs/amazon-eks-ami/blob/160ce8051573843da8d5b2b9158fcbd0981b52e0/nodeadm/internal/kubelet/instance-info.jsonl
// (values generated from the EC2 API NetworkInfo.MaximumNetworkInterfaces / Ipv4AddressesPerInterface).
const MODELS: Record<string, InstanceModel> = {
  "c7i.large": { vcpu: 2, memoryGiB: 4, maxEnis: 3, ipv4PerEni: 10 }, // instance-memory 4096; {"defaultMaxENIs":3,"ipv4AddressesPerInterface":10}
  "c7i.xlarge": { vcpu: 4, memoryGiB: 8, maxEnis: 4, ipv4PerEni: 15 }, // 8192; 4/15
  "c7i.2xlarge": { vcpu: 8, memoryGiB: 16, maxEnis: 4, ipv4PerEni: 15 }, // 16384; 4/15
  "c7i.4xlarge": { vcpu: 16, memoryGiB: 32, maxEnis: 8, ipv4PerEni: 30 }, // 32768; 8/30
  "c7i.8xlarge": { vcpu: 32, memoryGiB: 64, maxEnis: 8, ipv4PerEni: 30 }, // 65536; 8/30
  "c7i.12xlarge": { vcpu: 48, memoryGiB: 96, maxEnis: 8, ipv4PerEni: 30 }, // 98304; 8/30
  "c7i.16xlarge": { vcpu: 64, memoryGiB: 128, maxEnis: 15, ipv4PerEni: 50 }, // 131072; 15/50
  "m7i.large": { vcpu: 2, memoryGiB: 8, maxEnis: 3, ipv4PerEni: 10 }, // 8192; 3/10
  "m7i.xlarge": { vcpu: 4, memoryGiB: 16, maxEnis: 4, ipv4PerEni: 15 }, // 16384; 4/15
  "m7i.2xlarge": { vcpu: 8, memoryGiB: 32, maxEnis: 4, ipv4PerEni: 15 }, // 32768; 4/15
  "m7i.4xlarge": { vcpu: 16, memoryGiB: 64, maxEnis: 8, ipv4PerEni: 30 }, // 65536; 8/30
  "m7i.8xlarge": { vcpu: 32, memoryGiB: 128, maxEnis: 8, ipv4PerEni: 30 }, // 131072; 8/30
  "m7i.12xlarge": { vcpu: 48, memoryGiB: 192, maxEnis: 8, ipv4PerEni: 30 }, // 196608; 8/30
  "m7i.16xlarge": { vcpu: 64, memoryGiB: 256, maxEnis: 15, ipv4PerEni: 50 }, // 262144; 15/50
  "r7i.large": { vcpu: 2, memoryGiB: 16, maxEnis: 3, ipv4PerEni: 10 }, // 16384; 3/10
  "r7i.xlarge": { vcpu: 4, memoryGiB: 32, maxEnis: 4, ipv4PerEni: 15 }, // 32768; 4/15
  "r7i.2xlarge": { vcpu: 8, memoryGiB: 64, maxEnis: 4, ipv4PerEni: 15 }, // 65536; 4/15
  "r7i.4xlarge": { vcpu: 16, memoryGiB: 128, maxEnis: 8, ipv4PerEni: 30 }, // 131072; 8/30
  "r7i.8xlarge": { vcpu: 32, memoryGiB: 256, maxEnis: 8, ipv4PerEni: 30 }, // 262144; 8/30
  "r7i.12xlarge": { vcpu: 48, memoryGiB: 384, maxEnis: 8, ipv4PerEni: 30 }, // 393216; 8/30
  "r7i.16xlarge": { vcpu: 64, memoryGiB: 512, maxEnis: 15, ipv4PerEni: 50 }, // 524288; 15/50
};

export const INSTANCE_MODELS: Readonly<Record<string, InstanceModel>> = Object.freeze(
  Object.fromEntries(Object.entries(MODELS).map(([k, v]) => [k, Object.freeze({ ...v })])),
);

// Fraction of nominal memory the guest never reports: Karpenter's VM_MEMORY_OVERHEAD_PERCENT default 0.075, read at
// https://github.com/aws/karpenter-provider-aws/blob/02ed59947de7ef1a5f6b20407f492856e845052a/website/content/en/docs/reference/settings.md
// Measured EKS nodes lose less (r7i.xlarge 3.7 %, r7i.4xlarge 3.3 %, see NODE_MODEL_SOURCES), so the model is conservative.
const VM_MEMORY_OVERHEAD = 0.075;

// nodeadm kube-reserved memory: GetMemoryMebibytesToReserve(maxPods) = 11*maxPods + 255 (MiB), and
// evictionHard "memory.available": "100Mi"; no systemReserved is set (only the /system cgroup). Read at
// https://github.com/awslabs/amazon-eks-ami/blob/01375496231add8265f3fb1bc6e1e90d083b980b/nodeadm/internal/kubelet/config.go
const MEMORY_MIB_PER_POD = 11;
const MEMORY_MIB_BASE = 255;
const EVICTION_HARD_MEMORY_MIB = 100;

// nodeadm kube-reserved CPU: cpuRanges {0, 1000, 2000, 4000, total} millicores, cpuPercentageReservedForRanges
// {600, 100, 50, 25} per 10000, integer division per range (getCPUMillicoresToReserve / getResourceToReserveInRange),
// same file and commit as above.
const CPU_RANGE_BOUNDS_MILLI = [0, 1000, 2000, 4000] as const;
const CPU_RANGE_PER_10000 = [600, 100, 50, 25] as const;

// maxPods formula "# of ENI * (# of IPv4 per ENI - 1) + 2", from nodeadm
// https://github.com/awslabs/amazon-eks-ami/blob/01375496231add8265f3fb1bc6e1e90d083b980b/nodeadm/internal/kubelet/maxpods/maxpods.go
// (getMaxPodsFromENIInfo) and the header of nodeadm/internal/kubelet/eni-max-pods.txt (commit 264120506f12b7fb88ecde54418cef140b1e5194).
const HOST_NETWORK_PODS = 2;

// Managed node group cap written into the node's user data (project uses aws.eks.NodeGroup without a custom AMI):
// "For instances with less than 30 vCPUs, the cap is 110. For instances with greater than 30 vCPUs, the cap is 250."
// https://docs.aws.amazon.com/eks/latest/userguide/choosing-instance-type.html#max-pods-precedence
// (awsdocs/amazon-eks-user-guide latest/ug/nodes/choosing-instance-type.adoc). Exactly 30 vCPU is not covered by the
// doc; nodeadm's AL2 legacy-limit table uses "CPUCount > 30 → 250, else 110", which is what is applied here (no modelled
// type has 30 vCPUs).
const MNG_CAP_SMALL = 110;
const MNG_CAP_LARGE = 250;
const MNG_CAP_VCPU_THRESHOLD = 30;

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function model(instanceType: string): InstanceModel {
  const m = MODELS[instanceType];
  if (!m) throw new Error(`node-model: unknown instance type "${instanceType}" (modelled: ${Object.keys(MODELS).join(", ")})`);
  return m;
}

/**
 * maxPods the way the AMI sets it (ENI mode, no prefix delegation): ENIs × (IPs per ENI − 1) + 2.
 * nodeadm does not cap it (its MemoryLimitMaxPods gate is absent from the current featuregates.go and defaulted off
 * where it existed); the managed node group does cap what the kubelet enforces — see nodeAllocatable().pods.
 * This uncapped value is the one nodeadm feeds into the kube-reserved memory formula.
 */
export function maxPods(instanceType: string): number {
  const m = model(instanceType);
  return m.maxEnis * (m.ipv4PerEni - 1) + HOST_NETWORK_PODS;
}

/** The pods limit the kubelet enforces on a managed-node-group node (the MNG cap over maxPods). */
function managedNodeGroupPods(instanceType: string): number {
  const cap = model(instanceType).vcpu > MNG_CAP_VCPU_THRESHOLD ? MNG_CAP_LARGE : MNG_CAP_SMALL;
  return Math.min(maxPods(instanceType), cap);
}

/** Memory the kubelet reports as capacity (GiB): nominal less Karpenter's default 7.5 % VM/kernel overhead (conservative). */
export function memoryCapacityGiB(instanceType: string): number {
  return round3(model(instanceType).memoryGiB * (1 - VM_MEMORY_OVERHEAD));
}

function reservedCpuMillicores(vcpu: number): number {
  const total = vcpu * 1000;
  let reserved = 0;
  CPU_RANGE_PER_10000.forEach((per10000, i) => {
    const start = CPU_RANGE_BOUNDS_MILLI[i]!;
    const end = i + 1 < CPU_RANGE_BOUNDS_MILLI.length ? CPU_RANGE_BOUNDS_MILLI[i + 1]! : total;
    if (total <= start) return;
    reserved += Math.trunc(((Math.min(total, end) - start) * per10000) / 10000);
  });
  return reserved;
}

function reservedMemoryMiB(instanceType: string): number {
  return MEMORY_MIB_PER_POD * maxPods(instanceType) + MEMORY_MIB_BASE + EVICTION_HARD_MEMORY_MIB;
}

/** kube-reserved + system-reserved (none on AL2023) + evictionHard memory.available, as nodeadm configures the kubelet. */
export function kubeletReserved(instanceType: string): { vcpu: number; memoryGiB: number } {
  const m = model(instanceType);
  return { vcpu: round3(reservedCpuMillicores(m.vcpu) / 1000), memoryGiB: round3(mibToGiB(reservedMemoryMiB(instanceType))) };
}

/** Capacity less kubelet reservation (what the node reports as allocatable), before DaemonSets. */
export function nodeAllocatable(instanceType: string): { vcpu: number; memoryGiB: number; pods: number } {
  const m = model(instanceType);
  const capacityMiB = m.memoryGiB * 1024 * (1 - VM_MEMORY_OVERHEAD);
  return {
    vcpu: round3((m.vcpu * 1000 - reservedCpuMillicores(m.vcpu)) / 1000),
    memoryGiB: round3(mibToGiB(capacityMiB - reservedMemoryMiB(instanceType))),
    pods: managedNodeGroupPods(instanceType),
  };
}

/** EBS-optimized limits of one instance type, as AWS publishes them (MB/s = 10^6 bytes/s, 128 KiB I/O; IOPS at 16 KiB I/O). */
interface EbsLimits {
  baselineIops: number;
  baselineMBps: number;
  maximumIops: number;
  maximumMBps: number;
}

// EBS-optimized limits, typed from AWS's "Amazon EBS-optimized instance types" page, section "EBS-optimized by default"
// (columns Baseline/Maximum bandwidth (Mbps), Baseline/Maximum throughput (MB/s, 128 KiB I/O), Baseline/Maximum IOPS (16 KiB I/O)),
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-optimized.html — read from a stored copy of that page (search index
// file id 57911413102; the index does not name the repository holding the copy).
// Footnote 1 on the large…4xlarge rows: "These instances can support maximum performance for 30 minutes at least once every
// 24 hours, after which they revert to their baseline performance." Footnote 2 (8xlarge and up): "These instances can sustain
// their stated performance indefinitely" — one published value, so baseline = maximum.
// Every row below is identical in the EC2 Instance Types Guide, "Amazon EBS specifications" tables (Baseline / Maximum …):
//   c7i: https://docs.aws.amazon.com/ec2/latest/instancetypes/co.html (stored copy, index file id 61191222543)
//   m7i: https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html (stored copy, index file id 59854651341; and the 2024
//        PDF text at https://github.com/jihoo529/ragstone/blob/fc702f1e896befe8ad362282056088c43c3186ef/backend/data/AWS/ec2-types.md,
//        "Amazon EBS specifications" pp. 64–65)
//   r7i: https://docs.aws.amazon.com/ec2/latest/instancetypes/mo.html (stored copy, index file id 60877627266)
// Cross-check: Karpenter's karpenter.k8s.aws/instance-ebs-bandwidth (EC2 EbsOptimizedInfo.MaximumBandwidthInMbps) at
// https://github.com/aws/karpenter-provider-aws/blob/0c5e7d8112409aff07b0f17a0f51c87bdba52ed1/website/content/en/docs/reference/instance-types.md
// gives c7i.xlarge…8xlarge 10000, c7i.12xlarge 15000, c7i.16xlarge 20000 Mbps = maximumMBps × 8 below (m7i/r7i rows not read there).
// c7i, m7i and r7i publish the same limits size for size: one row per size. Trailing comment: baseline /
// maximum bandwidth in Mbps, as published.
const EBS_BY_SIZE: Record<string, EbsLimits> = {
  large: { baselineIops: 3600, baselineMBps: 81.25, maximumIops: 40000, maximumMBps: 1250 }, // 650 / 10000 Mbps (footnote 1)
  xlarge: { baselineIops: 6000, baselineMBps: 156.25, maximumIops: 40000, maximumMBps: 1250 }, // 1250 / 10000 (1)
  "2xlarge": { baselineIops: 12000, baselineMBps: 312.5, maximumIops: 40000, maximumMBps: 1250 }, // 2500 / 10000 (1)
  "4xlarge": { baselineIops: 20000, baselineMBps: 625, maximumIops: 40000, maximumMBps: 1250 }, // 5000 / 10000 (1)
  "8xlarge": { baselineIops: 40000, baselineMBps: 1250, maximumIops: 40000, maximumMBps: 1250 }, // 10000 (2)
  "12xlarge": { baselineIops: 60000, baselineMBps: 1875, maximumIops: 60000, maximumMBps: 1875 }, // 15000 (2)
  "16xlarge": { baselineIops: 80000, baselineMBps: 2500, maximumIops: 80000, maximumMBps: 2500 }, // 20000 (2)
};
const EBS: Record<string, EbsLimits> = Object.fromEntries(
  ["c7i", "m7i", "r7i"].flatMap((family) => Object.entries(EBS_BY_SIZE).map(([size, limits]) => [`${family}.${size}`, limits])),
);

export const EBS_LIMITS: Readonly<
  Record<string, { baselineIops: number; baselineMBps: number; maximumIops: number; maximumMBps: number }>
> = Object.freeze(
  Object.fromEntries(Object.entries(EBS).map(([k, v]) => [k, Object.freeze({ ...v })])),
);

const BYTES_PER_MB = 1e6;
const BYTES_PER_MIB = 2 ** 20;

/**
 * The sustained (baseline) EBS limits of an instance type: IOPS, and throughput in MiB/s (published MB/s × 10^6 / 2^20,
 * floored). The maximum is only a 30-minute-per-24-hours burst on large…4xlarge, so sizing must not rely on it.
 */
export function ebsBaseline(instanceType: string): { iops: number; mibps: number } {
  const e = EBS[instanceType];
  if (!e) throw new Error(`node-model: no EBS limits for instance type "${instanceType}" (modelled: ${Object.keys(EBS).join(", ")})`);
  return { iops: e.baselineIops, mibps: Math.floor((e.baselineMBps * BYTES_PER_MB) / BYTES_PER_MIB) };
}

/** Node exporter's requests and limits: its chart's commented suggestion (source in DAEMONSETS), which the program sets. */
export const NODE_EXPORTER = Object.freeze({ requests: { vcpu: 0.1, memoryGiB: mibToGiB(30) }, limits: { vcpu: 0.2, memoryGiB: mibToGiB(50) } });

/**
 * The log agent's requests and limits (components/monitoring/log-agent.ts). The limits are the
 * OpenTelemetry Collector chart's for its node agent (values.yaml `agentCollector.resources.limits`,
 * 256m and 512Mi); the requests are ours: test/integration/log-agent.test.ts measures the real agent
 * at about 51 MiB idle and 72–78 MiB at the peak of 20 new pods' burst, and checks idle against them.
 */
export const LOG_AGENT = Object.freeze({ requests: { vcpu: 0.1, memoryGiB: mibToGiB(128) }, limits: { vcpu: 0.256, memoryGiB: mibToGiB(512) } });

/**
 * The DaemonSets on every node of this project's cluster, requests summed over the pod's regular containers
 * (an init container counts only when larger than that sum; none is here).
 */
export const DAEMONSETS: readonly DaemonSetModel[] = Object.freeze([
  {
    // aws-node container requests cpu 25m and aws-eks-nodeagent container requests the same .Values.resources (25m);
    // no memory request; tolerations [{operator: Exists}]. Chart aws-vpc-cni 1.15.1:
    // https://github.com/aws/amazon-vpc-cni-k8s/blob/768afb1c8d65d3d2f8b9e61d44cf46b4e1c42f16/charts/aws-vpc-cni/templates/daemonset.yaml
    // and README (resources `requests.cpu: 25m`, tolerations `[{"operator": "Exists"}]`) at the same commit.
    // EKS 1.33's latest add-on is v1.20.1-eksbuild.3 (awsdocs/amazon-eks-user-guide latest/ug/networking/managing-vpc-cni.adoc
    // @057948d9); its own manifest was not readable here — 1.34 cluster dumps show the node agent container still present.
    name: "aws-node",
    namespace: "kube-system",
    requests: { vcpu: 0.05, memoryGiB: 0 },
    tolerateAllTaints: true,
    source: "aws/amazon-vpc-cni-k8s charts/aws-vpc-cni (daemonset.yaml + README @768afb1c, chart 1.15.1): aws-node 25m + aws-eks-nodeagent 25m CPU, no memory, tolerations operator Exists",
  },
  {
    // UNCONFIRMED from an AWS-published manifest: EKS kube-proxy add-on container requests cpu 100m, no memory, tolerates all
    // taints. Only third-party renderings of the EKS DaemonSet were found (see NODE_MODEL_SOURCES).
    name: "kube-proxy",
    namespace: "kube-system",
    requests: { vcpu: 0.1, memoryGiB: 0 },
    tolerateAllTaints: true,
    source: "EKS kube-proxy add-on: 100m CPU, no memory — NOT confirmed from an AWS manifest; third-party model of the EKS DaemonSet only",
  },
  {
    // ebs-plugin uses node.resources (requests cpu 10m, memory 40Mi); node-driver-registrar and liveness-probe use
    // `default .Values.node.resources .Values.sidecars.<x>.resources` and sidecars.<x>.resources is {} → 10m/40Mi each;
    // node.tolerateAllTaints: true renders `- operator: Exists`. 3 × (10m, 40Mi) = 30m, 120Mi.
    // https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/be9426cd5536e4deb98b93bb6c58c79183770833/charts/aws-ebs-csi-driver/templates/_node.tpl
    // https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/da0df42aa1399bf58af39034eb4207c9ad9ef315/charts/aws-ebs-csi-driver/values.yaml
    name: "ebs-csi-node",
    namespace: "kube-system",
    requests: { vcpu: 0.03, memoryGiB: round3(mibToGiB(3 * 40)) },
    tolerateAllTaints: true,
    source: "kubernetes-sigs/aws-ebs-csi-driver chart: templates/_node.tpl @be9426cd + values.yaml @da0df42a — 3 containers × (10m CPU, 40Mi)",
  },
  {
    // prometheus-node-exporter subchart: tolerations [{effect: NoSchedule, operator: Exists}], which tolerates every
    // taint this project sets (all NO_SCHEDULE) but not NoExecute ones. Its `resources` default to {}; the program
    // sets the chart's commented suggestion (NODE_EXPORTER) through kube-prometheus-stack's values.
    // https://github.com/prometheus-community/helm-charts/blob/019319902ead75961fe5f71213777f1500725a6e/charts/prometheus-node-exporter/values.yaml
    // Rendered DaemonSet name is release-prefixed.
    name: "prometheus-node-exporter",
    namespace: "monitoring",
    requests: NODE_EXPORTER.requests,
    tolerateAllTaints: true,
    source: "prometheus-community/helm-charts charts/prometheus-node-exporter/values.yaml @01931990: the commented resources suggestion (requests 100m, 30Mi; limits 200m, 50Mi), which components/monitoring sets; tolerations NoSchedule/Exists",
  },
  {
    // The OpenTelemetry Collector that ships every container's log to Loki, on every node.
    name: "log-agent",
    namespace: "monitoring",
    requests: LOG_AGENT.requests,
    tolerateAllTaints: true,
    declaredByProgram: true,
    source: "this program's DaemonSet (components/monitoring/log-agent.ts) at LOG_AGENT: limits from open-telemetry/opentelemetry-helm-charts charts/opentelemetry-collector/values.yaml @00d83967 (agentCollector 256m, 512Mi); requests ours, above the peak test/integration/log-agent.test.ts measures (72–78 MiB)",
  },
]);

export const NODE_MODEL_SOURCES: readonly { what: string; source: string; read: string }[] = Object.freeze([
  {
    what: "maxPods per type, published (c/m/r 7i: large 29, xlarge 58, 2xlarge 58, 4xlarge 234, 8xlarge 234, 12xlarge 234, 16xlarge 737) and the ENI formula",
    source: "https://github.com/awslabs/amazon-eks-ami/blob/264120506f12b7fb88ecde54418cef140b1e5194/nodeadm/internal/kubelet/eni-max-pods.txt",
    read: READ,
  },
  {
    what: "ENIs and IPv4 per ENI per type (defaultMaxENIs, ipv4AddressesPerInterface)",
    source: "https://github.com/awslabs/amazon-eks-ami/blob/160ce8051573843da8d5b2b9158fcbd0981b52e0/nodeadm/internal/kubelet/instance-info.jsonl",
    read: READ,
  },
  {
    what: "nodeadm kubelet config: kube-reserved cpu banding (600/100/50/25 per 10000), memory 11*maxPods+255 MiB, evictionHard memory.available 100Mi, no systemReserved, reservation from ENI maxPods",
    source: "https://github.com/awslabs/amazon-eks-ami/blob/01375496231add8265f3fb1bc6e1e90d083b980b/nodeadm/internal/kubelet/config.go",
    read: READ,
  },
  {
    what: "nodeadm maxPods: # of ENI * (# of IPv4 per ENI - 1) + 2; ApplyLimit only behind the MemoryLimitMaxPods gate",
    source: "https://github.com/awslabs/amazon-eks-ami/blob/01375496231add8265f3fb1bc6e1e90d083b980b/nodeadm/internal/kubelet/maxpods/maxpods.go",
    read: READ,
  },
  {
    what: "nodeadm feature gates: MemoryLimitMaxPods absent (IsFeatureEnabled returns false for unknown gates) → nodeadm itself does not cap maxPods",
    source: "https://github.com/awslabs/amazon-eks-ami/blob/208db1d1657a5f50599545b70d5cd5c6e87d909e/nodeadm/internal/api/featuregates.go",
    read: READ,
  },
  {
    what: "Managed node group (no custom AMI) caps maxPods in user data: 110 below 30 vCPU, 250 above",
    source: "https://docs.aws.amazon.com/eks/latest/userguide/choosing-instance-type.html#max-pods-precedence (awsdocs/amazon-eks-user-guide latest/ug/nodes/choosing-instance-type.adoc)",
    read: READ,
  },
  {
    what: "Worked example of the MNG cap: m5a.4xlarge limited to 110 although eni-max-pods.txt gives 234",
    source: "https://github.com/awsdocs/amazon-eks-user-guide/pull/663",
    read: READ,
  },
  {
    what: "kube-reserved ignores an overridden maxPods (reservation stays on the ENI value)",
    source: "https://github.com/awslabs/amazon-eks-ami/issues/1698 ; https://github.com/dfds/infrastructure-modules/pull/2395",
    read: READ,
  },
  {
    what: "vCPU, memory (MiB) and Karpenter's computed allocatable (cpu, memory Mi) for every c7i/m7i/r7i size on AL2023",
    source: "https://github.com/aws/karpenter-provider-aws/blob/0c5e7d8112409aff07b0f17a0f51c87bdba52ed1/website/content/en/docs/reference/instance-types.md",
    read: READ,
  },
  {
    what: "VM_MEMORY_OVERHEAD_PERCENT default 0.075",
    source: "https://github.com/aws/karpenter-provider-aws/blob/02ed59947de7ef1a5f6b20407f492856e845052a/website/content/en/docs/reference/settings.md",
    read: READ,
  },
  {
    what: "Measured EKS node capacity/allocatable (bytes): r7i.xlarge 33089273856/32048037888, r7i.4xlarge 132918992896/129847705600; r5.xlarge 33163589976, r5.4xlarge 133523017039, r5.16xlarge 535122860310",
    source: "https://github.com/2i2c-org/infrastructure/blob/63cd17e76a52aae984ffb0cf128426044960899f/deployer/commands/generate/resource_allocation/node-capacity-info.json",
    read: READ,
  },
  {
    what: "Karpenter maintainers: 7.5 % is sometimes below the real overhead on some AL2 types (not shown for 7i)",
    source: "https://github.com/aws/karpenter-provider-aws/issues/4450",
    read: READ,
  },
  {
    what: "VPC CNI aws-node DaemonSet: aws-node + aws-eks-nodeagent containers, each requests.cpu 25m, tolerations operator Exists (chart 1.15.1)",
    source: "https://github.com/aws/amazon-vpc-cni-k8s/blob/768afb1c8d65d3d2f8b9e61d44cf46b4e1c42f16/charts/aws-vpc-cni/templates/daemonset.yaml",
    read: READ,
  },
  {
    what: "Latest VPC CNI add-on for Kubernetes 1.27–1.33: v1.20.1-eksbuild.3 (1.34/1.35 rows not in the stored copy)",
    source: "https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html (awsdocs/amazon-eks-user-guide latest/ug/networking/managing-vpc-cni.adoc @057948d9)",
    read: READ,
  },
  {
    what: "EBS CSI node DaemonSet: node.resources 10m/40Mi applied to ebs-plugin and (by default) both sidecars; tolerateAllTaints true",
    source: "https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/be9426cd5536e4deb98b93bb6c58c79183770833/charts/aws-ebs-csi-driver/templates/_node.tpl ; https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/da0df42aa1399bf58af39034eb4207c9ad9ef315/charts/aws-ebs-csi-driver/values.yaml",
    read: READ,
  },
  {
    what: "prometheus-node-exporter chart: resources {} by default, commented suggestion requests 100m/30Mi, limits 200m/50Mi (set by the program); tolerations NoSchedule/Exists",
    source: "https://github.com/prometheus-community/helm-charts/blob/019319902ead75961fe5f71213777f1500725a6e/charts/prometheus-node-exporter/values.yaml",
    read: READ,
  },
  {
    what: "kube-proxy 100m CPU request (UNCONFIRMED: third-party model of the EKS kube-proxy DaemonSet, not an AWS manifest)",
    source: "find_string index: third-party EKS cluster simulator `buildKubeSystem` (kube-proxy cpu ['100m'], aws-node 25m + aws-eks-nodeagent 25m)",
    read: READ,
  },
  {
    what: "EBS-optimized limits per type (baseline/maximum Mbps, MB/s at 128 KiB, IOPS at 16 KiB; large…4xlarge burst to the maximum 30 min per 24 h, 8xlarge+ sustain one value): c/m/r 7i identical — large 650/10000, 81.25/1250, 3600/40000 … 16xlarge 20000, 2500, 80000",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-optimized.html (\"Amazon EBS-optimized instance types\", EBS-optimized by default; stored copy, search index file id 57911413102)",
    read: READ,
  },
  {
    what: "The same EBS rows in the Instance Types Guide \"Amazon EBS specifications\" tables (c7i, m7i, r7i)",
    source: "https://docs.aws.amazon.com/ec2/latest/instancetypes/co.html ; https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html ; https://docs.aws.amazon.com/ec2/latest/instancetypes/mo.html (stored copies, index file ids 61191222543, 59854651341, 60877627266) ; m7i also https://github.com/jihoo529/ragstone/blob/fc702f1e896befe8ad362282056088c43c3186ef/backend/data/AWS/ec2-types.md (2024 guide PDF text)",
    read: READ,
  },
  {
    what: "Cross-check of maximum EBS bandwidth (EbsOptimizedInfo.MaximumBandwidthInMbps via karpenter.k8s.aws/instance-ebs-bandwidth): c7i.xlarge…8xlarge 10000, 12xlarge 15000, 16xlarge 20000",
    source: "https://github.com/aws/karpenter-provider-aws/blob/0c5e7d8112409aff07b0f17a0f51c87bdba52ed1/website/content/en/docs/reference/instance-types.md",
    read: READ,
  },
]);
