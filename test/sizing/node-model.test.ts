/** The node model checked against published numbers only (each table cites where it was read). */
import { describe, expect, it } from "vitest";
import {
  DAEMONSETS,
  EBS_LIMITS,
  ebsBaseline,
  INSTANCE_MODELS,
  kubeletReserved,
  maxPods,
  memoryCapacityGiB,
  NODE_MODEL_SOURCES,
  nodeAllocatable,
} from "../../sizing/node-model";

const SIZES = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"] as const;
const FAMILIES = ["c7i", "m7i", "r7i"] as const;
const TYPES = FAMILIES.flatMap((f) => SIZES.map((s) => `${f}.${s}`));

// https://github.com/awslabs/amazon-eks-ami/blob/264120506f12b7fb88ecde54418cef140b1e5194/nodeadm/internal/kubelet/eni-max-pods.txt
// (lines "c7i.large 29" … "c7i.16xlarge 737"; identical for m7i and r7i).
const ENI_MAX_PODS_TXT: Record<string, number> = {
  "c7i.large": 29, "c7i.xlarge": 58, "c7i.2xlarge": 58, "c7i.4xlarge": 234, "c7i.8xlarge": 234, "c7i.12xlarge": 234, "c7i.16xlarge": 737,
  "m7i.large": 29, "m7i.xlarge": 58, "m7i.2xlarge": 58, "m7i.4xlarge": 234, "m7i.8xlarge": 234, "m7i.12xlarge": 234, "m7i.16xlarge": 737,
  "r7i.large": 29, "r7i.xlarge": 58, "r7i.2xlarge": 58, "r7i.4xlarge": 234, "r7i.8xlarge": 234, "r7i.12xlarge": 234, "r7i.16xlarge": 737,
};

// Karpenter's published allocatable for AL2023 (cpu millicores, memory Mi): it uses the same nodeadm reservation with the
// ENI maxPods and the 7.5 % VM overhead, so it is a worked example of capacity − reservation.
// https://github.com/aws/karpenter-provider-aws/blob/0c5e7d8112409aff07b0f17a0f51c87bdba52ed1/website/content/en/docs/reference/instance-types.md
const KARPENTER_ALLOCATABLE: Record<string, [cpuMilli: number, memoryMi: number]> = {
  "c7i.large": [1930, 3114], "c7i.xlarge": [3920, 6584], "c7i.2xlarge": [7910, 14162], "c7i.4xlarge": [15890, 27381],
  "c7i.8xlarge": [31850, 57691], "c7i.12xlarge": [47810, 88002], "c7i.16xlarge": [63770, 112779],
  "m7i.large": [1930, 6903], "m7i.xlarge": [3920, 14162], "m7i.2xlarge": [7910, 29317], "m7i.4xlarge": [15890, 57691],
  "m7i.8xlarge": [31850, 118312], "m7i.12xlarge": [47810, 178933], "m7i.16xlarge": [63770, 234021],
  "r7i.large": [1930, 14481], "r7i.xlarge": [3920, 29317], "r7i.2xlarge": [7910, 59627], "r7i.4xlarge": [15890, 118312],
  "r7i.8xlarge": [31850, 239554], "r7i.12xlarge": [47810, 360795], "r7i.16xlarge": [63770, 476504],
};

// Real EKS node status (bytes) recorded by 2i2c:
// https://github.com/2i2c-org/infrastructure/blob/63cd17e76a52aae984ffb0cf128426044960899f/deployer/commands/generate/resource_allocation/node-capacity-info.json
const MEASURED: Record<string, { cpu: number; cpuAllocatable: number; memory: number; memoryAllocatable: number }> = {
  "r7i.xlarge": { cpu: 4, cpuAllocatable: 3.92, memory: 33089273856, memoryAllocatable: 32048037888 },
  "r7i.4xlarge": { cpu: 16, cpuAllocatable: 15.89, memory: 132918992896, memoryAllocatable: 129847705600 },
};

// Published EBS-optimized limits, typed from "Amazon EBS-optimized instance types" (EBS-optimized by default):
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ebs-optimized.html — rows "c7i.large 1 | 650 | 10000 | 81.25 | 1250.00 | 3600 | 40000",
// "m7i.2xlarge 1 | 2500 | 10000 | 312.50 | 1250.00 | 12000 | 40000", "r7i.12xlarge 2 | 15000 | 1875.0 | 60000",
// "r7i.16xlarge 2 | 20000 | 2500.0 | 80000" (footnote 2: one value, sustained); the same rows appear in
// https://docs.aws.amazon.com/ec2/latest/instancetypes/{co,gp,mo}.html "Amazon EBS specifications".
const EBS_PUBLISHED: Record<string, { baselineIops: number; baselineMBps: number; maximumIops: number; maximumMBps: number }> = {
  "c7i.large": { baselineIops: 3600, baselineMBps: 81.25, maximumIops: 40000, maximumMBps: 1250 },
  "m7i.2xlarge": { baselineIops: 12000, baselineMBps: 312.5, maximumIops: 40000, maximumMBps: 1250 },
  "r7i.12xlarge": { baselineIops: 60000, baselineMBps: 1875, maximumIops: 60000, maximumMBps: 1875 },
  "r7i.16xlarge": { baselineIops: 80000, baselineMBps: 2500, maximumIops: 80000, maximumMBps: 2500 },
};

// Karpenter's karpenter.k8s.aws/instance-ebs-bandwidth (EC2 EbsOptimizedInfo.MaximumBandwidthInMbps), an independent copy:
// https://github.com/aws/karpenter-provider-aws/blob/0c5e7d8112409aff07b0f17a0f51c87bdba52ed1/website/content/en/docs/reference/instance-types.md
const KARPENTER_EBS_MAX_MBPS: Record<string, number> = {
  "c7i.xlarge": 10000, "c7i.2xlarge": 10000, "c7i.4xlarge": 10000, "c7i.8xlarge": 10000, "c7i.12xlarge": 15000, "c7i.16xlarge": 20000,
};

const GIB = 2 ** 30;
const MIB = 2 ** 20;

describe("node model", () => {
  it("models exactly the c7i, m7i and r7i sizes the plan uses", () => {
    expect(Object.keys(INSTANCE_MODELS).sort()).toEqual([...TYPES].sort());
  });

  it.each(TYPES)("%s: maxPods equals eni-max-pods.txt", (t) => {
    expect(maxPods(t)).toBe(ENI_MAX_PODS_TXT[t]);
  });

  it.each(TYPES)("%s: capacity less reservation matches Karpenter's published allocatable", (t) => {
    const [cpuMilli, memoryMi] = KARPENTER_ALLOCATABLE[t]!;
    const a = nodeAllocatable(t);
    expect(a.vcpu).toBeCloseTo(cpuMilli / 1000, 3);
    // Within rounding: the model rounds to 0.001 GiB (≈1 MiB), Karpenter truncates to whole Mi.
    expect(Math.abs(a.memoryGiB * 1024 - memoryMi)).toBeLessThan(1.5);
    expect(a.memoryGiB).toBeCloseTo(memoryCapacityGiB(t) - kubeletReserved(t).memoryGiB, 2);
  });

  it.each(Object.keys(MEASURED))("%s: reservation equals what a real node reports (capacity − allocatable)", (t) => {
    const m = MEASURED[t]!;
    const r = kubeletReserved(t);
    expect(INSTANCE_MODELS[t]!.vcpu).toBe(m.cpu);
    expect(r.vcpu).toBeCloseTo(m.cpu - m.cpuAllocatable, 3);
    // 993 MiB = 11 × 58 + 255 + 100; 2929 MiB = 11 × 234 + 255 + 100.
    expect(r.memoryGiB).toBeCloseTo((m.memory - m.memoryAllocatable) / MIB / 1024, 3);
  });

  it.each(Object.keys(MEASURED))("%s: modelled capacity is at or below the measured capacity (conservative)", (t) => {
    expect(memoryCapacityGiB(t)).toBeLessThanOrEqual(MEASURED[t]!.memory / GIB);
  });

  it("the managed node group caps pods: 110 under 30 vCPUs, 250 above (m5a.4xlarge 234 → 110 in the AWS docs example)", () => {
    // https://docs.aws.amazon.com/eks/latest/userguide/choosing-instance-type.html#max-pods-precedence
    expect(nodeAllocatable("m7i.4xlarge").pods).toBe(110);
    expect(nodeAllocatable("m7i.16xlarge").pods).toBe(250);
    expect(nodeAllocatable("m7i.8xlarge").pods).toBe(234);
    expect(nodeAllocatable("m7i.large").pods).toBe(29);
    // The reservation keeps the ENI value (nodeadm computes it before the user-data override).
    expect(kubeletReserved("m7i.4xlarge").memoryGiB).toBeCloseTo((11 * 234 + 255 + 100) / 1024, 3);
  });

  it("unknown types throw an Error naming the type", () => {
    for (const f of [maxPods, memoryCapacityGiB, kubeletReserved, nodeAllocatable]) {
      expect(() => f("m7i.metal-48xl")).toThrow(/m7i\.metal-48xl/);
    }
  });

  it("DaemonSets carry their charts' requests and a source", () => {
    const byName = Object.fromEntries(DAEMONSETS.map((d) => [d.name, d]));
    expect(Object.keys(byName).sort()).toEqual(["aws-node", "ebs-csi-node", "kube-proxy", "log-agent", "prometheus-node-exporter"]);
    expect(byName["aws-node"]!.requests).toEqual({ vcpu: 0.05, memoryGiB: 0 }); // 2 × 25m
    expect(byName["ebs-csi-node"]!.requests).toEqual({ vcpu: 0.03, memoryGiB: 0.117 }); // 3 × (10m, 40Mi)
    expect(byName["prometheus-node-exporter"]!.requests).toEqual({ vcpu: 0.1, memoryGiB: 30 / 1024 }); // the chart's commented suggestion, which the program sets
    // The program's own (components/monitoring/log-agent.ts): 100m and 128Mi, above the peak the log-agent test measures stays below.
    expect(byName["log-agent"]!.requests).toEqual({ vcpu: 0.1, memoryGiB: 128 / 1024 });
    for (const d of DAEMONSETS) expect(d.source.length).toBeGreaterThan(0);
  });

  it("EBS limits cover exactly the modelled types", () => {
    expect(Object.keys(EBS_LIMITS).sort()).toEqual([...TYPES].sort());
  });

  it.each(Object.keys(EBS_PUBLISHED))("%s: EBS limits equal the published row", (t) => {
    expect(EBS_LIMITS[t]).toEqual(EBS_PUBLISHED[t]);
  });

  it.each(Object.keys(KARPENTER_EBS_MAX_MBPS))("%s: maximum EBS throughput × 8 equals Karpenter's EBS bandwidth (Mbps)", (t) => {
    expect(EBS_LIMITS[t]!.maximumMBps * 8).toBe(KARPENTER_EBS_MAX_MBPS[t]);
  });

  it.each(TYPES)("%s: baseline never exceeds maximum; 8xlarge and up sustain one value", (t) => {
    const e = EBS_LIMITS[t]!;
    expect(e.baselineIops).toBeLessThanOrEqual(e.maximumIops);
    expect(e.baselineMBps).toBeLessThanOrEqual(e.maximumMBps);
    if (/\.(8|12|16)xlarge$/.test(t)) expect([e.baselineIops, e.baselineMBps]).toEqual([e.maximumIops, e.maximumMBps]);
  });

  it("ebsBaseline returns the sustained IOPS and MB/s converted to MiB/s, floored", () => {
    // 81.25 MB/s = 81_250_000 B/s ÷ 1_048_576 = 77.49 MiB/s; 312.5 MB/s → 298.02; 2500 MB/s → 2384.19.
    expect(ebsBaseline("c7i.large")).toEqual({ iops: 3600, mibps: 77 });
    expect(ebsBaseline("m7i.2xlarge")).toEqual({ iops: 12000, mibps: 298 });
    expect(ebsBaseline("r7i.16xlarge")).toEqual({ iops: 80000, mibps: 2384 });
    for (const t of TYPES) expect(ebsBaseline(t).mibps).toBe(Math.floor((EBS_LIMITS[t]!.baselineMBps * 1e6) / MIB));
  });

  it("ebsBaseline throws an Error naming an unknown type", () => {
    expect(() => ebsBaseline("m7i.metal-48xl")).toThrow(Error);
    expect(() => ebsBaseline("m7i.metal-48xl")).toThrow(/m7i\.metal-48xl/);
  });

  it("every source records a read date", () => {
    for (const s of NODE_MODEL_SOURCES) expect(s.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
