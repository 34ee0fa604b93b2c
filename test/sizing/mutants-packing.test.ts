/**
 * Node reservation and pod placement rules the mutation check (docs/mutation.md) found unpinned:
 * - what a node offers pods: the node model's allocatable less the DaemonSets and the margin;
 * - first-fit *decreasing* (docs/sizing.md, "Nodes"): a pod's size is its vCPU share plus its
 *   memory share of a node, so neither a CPU-heavy nor a memory-heavy pod is placed late;
 * - every pod the pools count names the workload it belongs to (README: at 100 CCU the
 *   application pool holds 16 Synapse + 2 HAProxy + (3 Redis + 3 Sentinels) × 2 + 2 master
 *   proxies + 2 JWT service pods).
 */
import { describe, expect, it } from "vitest";
import { allocatable, essentialsReturn, nodesNeeded, pack, type PodDemand } from "../../sizing/packing";
import { podsByPool } from "../../sizing/pools";
import { planForTier } from "../helpers";

describe("what pods may request on a node: the kubelet's allocatable less the DaemonSets and the margin", () => {
  it.each([
    // By hand from the sources in sizing/node-model.ts: capacity = nominal × 0.925; nodeadm reserves CPU
    // 60 + 10 + 10 + 0.25% of the cores above 4 (millicores) and 11 MiB × ENI maxPods + 255 MiB + 100 MiB
    // eviction; the DaemonSets request 0.38 vCPU / 278 MiB (aws-node 50m, kube-proxy 100m, EBS CSI node
    // 30m and 3 × 40 MiB, node exporter 100m and 30 MiB as its chart suggests, the log agent 100m and
    // 128 MiB); docs/sizing.md's margin
    // is 0.1 vCPU / 0.25 GiB.
    ["m7i.4xlarge", 16 - 0.11 - 0.38 - 0.1, (64 * 1024 * 0.925 - (11 * 234 + 355)) / 1024 - 278 / 1024 - 0.25],
    ["c7i.xlarge", 4 - 0.08 - 0.38 - 0.1, (8 * 1024 * 0.925 - (11 * 58 + 355)) / 1024 - 278 / 1024 - 0.25],
    ["m7i.8xlarge", 32 - 0.15 - 0.38 - 0.1, (128 * 1024 * 0.925 - (11 * 234 + 355)) / 1024 - 278 / 1024 - 0.25],
  ])("%s: %f vCPU, %f GiB", (type, vcpu, memoryGiB) => {
    const a = allocatable(type);
    expect(a.vcpu).toBeCloseTo(vcpu, 3);
    expect(a.memoryGiB).toBeCloseTo(memoryGiB, 2);
  });

  it("an instance type the node model does not know is refused by name", () => {
    expect(() => allocatable("x9.huge")).toThrow(/x9\.huge/);
  });
});

describe("first-fit decreasing by size", () => {
  const node = { vcpu: 1, memoryGiB: 1 };
  const pod = (owner: string, vcpu: number, memoryGiB: number): PodDemand => ({ owner, vcpu, memoryGiB });

  it("two memory-heavy and two CPU-light pods: each heavy pod shares a node with a light one", () => {
    // By hand: {m1, s1} = 0.6 vCPU / 0.95 GiB and {m2, s2} the same fit two 1/1 nodes; the two light
    // pods together (1.0 vCPU) leave no node room for a heavy pod's 0.1 vCPU. Heavy pods (size 1.0)
    // must be placed before light ones (0.55).
    const pods = [pod("s1", 0.5, 0.05), pod("s2", 0.5, 0.05), pod("m1", 0.1, 0.9), pod("m2", 0.1, 0.9)];
    expect(pack(pods, node, 2)).not.toBeNull();
  });

  it("two CPU-heavy and two memory-light pods: the same with the roles swapped", () => {
    const pods = [pod("s1", 0.05, 0.5), pod("s2", 0.05, 0.5), pod("c1", 0.9, 0.1), pod("c2", 0.9, 0.1)];
    expect(pack(pods, node, 2)).not.toBeNull();
  });
});

describe("essential pods come back however the scheduler spread them", () => {
  const node = { vcpu: 4, memoryGiB: 8 };
  const pod = (vcpu: number, memoryGiB: number, essential = true): PodDemand => ({ owner: "p", vcpu, memoryGiB, essential });

  it("a 2-vCPU essential pod beside another of its size fills a 4-vCPU node: no count of such nodes is enough", () => {
    // By hand: (2 + 2 - 2) / n + 2 × 2 = 4 + 2/n > 4 for every n; pack() alone places both on 2 nodes.
    const pods = [pod(2, 1), pod(2, 1)];
    expect(pack(pods, node, 2)).not.toBeNull();
    expect(essentialsReturn(pods, node, 1000)).toBe(false);
    expect(nodesNeeded(pods, pods, node, 3)).toBeNull();
  });

  it("an even share of the others plus the two largest: 1.5-vCPU pods on 4-vCPU nodes", () => {
    // Six pods of 1.5 vCPU: (9 - 1.5) / n + 3 ≤ 4 from n = 7.5, so 8 survivors; on 7 a spread may leave none room.
    const pods = Array.from({ length: 6 }, () => pod(1.5, 1));
    expect(essentialsReturn(pods, node, 7)).toBe(false);
    expect(essentialsReturn(pods, node, 8)).toBe(true);
    // Memory counts the same way: (6 - 1) / n + 2 ≤ 8 on one node already.
    expect(essentialsReturn(Array.from({ length: 6 }, () => pod(0.1, 1)), node, 1)).toBe(true);
  });

  it("pods that preempt nothing do not count; none at all always come back", () => {
    expect(essentialsReturn([pod(2, 1, false), pod(2, 1, false)], node, 1)).toBe(true);
    expect(essentialsReturn([pod(2, 1), pod(2, 1, false)], node, 1)).toBe(true);
    expect(essentialsReturn([], node, 0)).toBe(true);
    expect(essentialsReturn([pod(0.1, 0.1)], node, 0)).toBe(false);
  });

  it("the pools mark as essential exactly what runs at the essential PriorityClass: all but synchrotrons and generic workers", () => {
    const load = podsByPool(planForTier("100"));
    const plain = [...new Set(load.application.base.filter((p) => !p.essential).map((p) => p.owner))].sort();
    expect(plain).toEqual(["synapse/generic", "synapse/synchrotron"]);
  });
});

describe("every pod names its workload", () => {
  it("100 CCU: the application pool's 40 pods by workload, and the one-per-node pools", () => {
    const load = podsByPool(planForTier("100"));
    const byOwner = (pods: PodDemand[]) => pods.reduce<Record<string, number>>((acc, p) => ({ ...acc, [p.owner]: (acc[p.owner] ?? 0) + 1 }), {});
    expect(load.application.base).toHaveLength(40);
    expect(byOwner(load.application.base)).toEqual({
      // 16 Synapse processes (main and background one each, the other seven types two each).
      "synapse/main": 1,
      "synapse/synchrotron": 2,
      "synapse/generic": 2,
      "synapse/eventPersister": 2,
      "synapse/federationSender": 2,
      "synapse/mediaRepository": 2,
      "synapse/background": 1,
      "synapse/streamWriter": 2,
      "synapse/pusher": 2,
      haproxy: 2,
      "redis-synapse": 3,
      "sentinel-synapse": 3,
      "redis-synapse-master-proxy": 2,
      "redis-livekit": 3,
      "sentinel-livekit": 3,
      "lk-jwt-service": 2,
      "cloudnative-pg": 2,
      "barman-cloud": 1,
      "cert-manager-controller": 1,
      "cert-manager-webhook": 1,
      "cert-manager-cainjector": 1,
    });
    expect(byOwner(load.database.base)).toEqual({ postgres: 3 });
    expect(byOwner(load.storage.base)).toEqual({ minio: 6 });
    expect(byOwner(load.calls.base)).toEqual({ livekit: 2, coturn: 2 });
  });
});
