/**
 * N-1 recomputed without the sizing code: the application pool's pods enumerated here from the
 * plan's process list (docs/sizing.md: "the Synapse fleet, HAProxy and both Redis deployments",
 * with their Sentinels, exporters, master proxy and the LiveKit JWT service), node allocatable from
 * the EKS AMI reservation formula and the DaemonSet overhead docs/sizing.md states, and a packer of
 * our own. Its verdict is compared with the plan's `fitsNMinus1`, both ways:
 *   - a packing found here on nodes − 1 proves the pool fits (the plan must say true);
 *   - a failed necessary condition proves it does not (the plan must say false).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runs } from "./runs";
import type { PodDemand } from "../../sizing/packing";
import { podsByPool, poolUsage } from "../../sizing/pools";
import type { Plan } from "../../sizing/types";
import { TIERS } from "../fixtures/seed";
import { PRICES } from "../../sizing/prices";
import { planFor, planForTier, row } from "../helpers";
import { allocatableOf, applicationPods, essentialRoom, mayFit, nodesLeftAfterZoneLoss, packs, podsAfterZoneLoss, total, verdict, type Node, type Pod } from "./pool-model";

const toDemand = (pods: Pod[]): PodDemand[] => pods.map((x) => ({ owner: x.owner, vcpu: x.vcpu, memoryGiB: x.memoryGiB, ...(x.group ? { spreadGroup: x.group } : {}) }));

describe("N-1, recomputed", () => {
  it("allocatable: the published EKS numbers, the DaemonSets and the margin, as the plan reports it (to 1/1000)", () => {
    // 8 vCPU: 60 + 10 + 2 × 5 + 4 × 2.5 = 90 millicores reserved, 0.38 DaemonSets (node exporter's 0.1
    // among them, its chart's suggestion, and the log agent's 0.1), 0.1 margin.
    expect(allocatableOf(8, 16).vcpu).toBeCloseTo(7.43, 9);
    expect(allocatableOf(32, 128).vcpu).toBeCloseTo(32 - 0.15 - 0.48, 9);
    // 16 GiB: 15,155.2 MiB seen, 993 MiB reserved (58 pods), 278 MiB DaemonSets, 256 MiB margin.
    expect(allocatableOf(8, 16).memoryGiB).toBeCloseTo((16 * 1024 * 0.925 - 993 - 278 - 256) / 1024, 9);
    for (const tier of TIERS) {
      for (const r of planForTier(tier).inventory) {
        const mine = allocatableOf(r.vcpu, r.memoryGiB);
        expect(r.allocatable.vcpu, `${tier}/${r.role}`).toBeCloseTo(mine.vcpu, 3);
        expect(Math.abs(r.allocatable.memoryGiB - mine.memoryGiB), `${tier}/${r.role}`).toBeLessThan(0.001);
      }
    }
  });

  it.each(TIERS)("tier %s: the plan counts the pods we count, with the same anti-affinity groups", (tier) => {
    const p = planForTier(tier);
    const key = (x: { owner?: string; vcpu: number; memoryGiB: number; group?: string; spreadGroup?: string }) => `${x.vcpu}/${x.memoryGiB}/${x.group ?? x.spreadGroup ?? "-"}`;
    const load = podsByPool(p);
    expect(load.application.base.map(key).sort()).toEqual(applicationPods(p).map(key).sort());
    expect(load.application.max.map(key).sort()).toEqual(applicationPods(p, true).map(key).sort());
    // One-per-node members spread over their pool (docs/sizing.md "Nodes").
    const groups = (role: "database" | "storage" | "calls") => [...new Set(load[role].base.map((x) => x.spreadGroup))];
    expect(groups("database")).toEqual(["postgres"]);
    expect(groups("storage")).toEqual(["minio"]);
    expect(groups("calls")).toEqual(["call-host"]);
    expect(load.database.max).toEqual(load.database.base);
    expect(load.calls.base).toHaveLength(p.livekit.instances + p.coturn.instances);
    for (const role of ["compliance", "controlPlane"] as const) expect(load[role]).toEqual({ base: [], max: [] });
    // The monitoring node: Prometheus (with its config reloader), Alertmanager (with its), Loki, Grafana, the operator, kube-state-metrics.
    expect(load.monitoring.base.map((x) => x.owner).sort()).toEqual(["alertmanager", "grafana", "kube-state-metrics", "loki", "prometheus", "prometheus-operator"]);
    // At the peak, the operator's and kube-state-metrics' rolling updates each add a pod; Grafana is recreated.
    expect(load.monitoring.max.slice(load.monitoring.base.length).map((x) => x.owner).sort()).toEqual(["kube-state-metrics", "prometheus-operator"]);
  });

  it("README: at 100 CCU two nodes (one of three lost) give 14.86 vCPU allocatable", () => {
    expect(2 * allocatableOf(8, 16).vcpu).toBeCloseTo(14.86, 9);
  });

  it("100 CCU: the application pods request 21.58 vCPU and 29.51 GiB (by hand), so 3 nodes of 8 vCPU cannot lose one and 4 can; the plan's 9 × 4 vCPU can lose a zone", () => {
    // Synapse 2 + 2×1 + 2×1 + 2×2 + 2×0.5 + 2×0.5 + 0.25 + 2×0.25 + 2×0.25 = 13.25 vCPU; HAProxy 2×0.25;
    // Redis 3×(1 + 0.05 exporter) twice; Sentinels 3×0.1 twice; master proxy 2×0.1; lk-jwt-service 2×0.1;
    // the media workers' scratch cleaners 2×0.1 (2×0.25 GiB); the CloudNativePG operator 2×0.1 (2×100 MiB);
    // the Barman Cloud plugin 0.1 (100 MiB); cert-manager 3×0.01 (3×32 MiB).
    // (The README's "20.4 vCPU" predates the exporters, master proxy and JWT service.)
    const p = planForTier("100");
    const pods = applicationPods(p);
    expect(total(pods).vcpu).toBeCloseTo(21.58, 9);
    expect(total(pods).memoryGiB).toBeCloseTo(29.125 + 300 / 1024 + 96 / 1024, 9);
    const app = p.pools.find((u) => u.role === "application")!;
    expect(app.requested).toEqual({ vcpu: 21.58, memoryGiB: 29.51 });
    expect(app.pods).toBe(pods.length);
    const node = allocatableOf(8, 16);
    expect(verdict(pods, node, 3)).toBe(false);
    expect(verdict(pods, node, 4)).toBe(true);
    expect([row(p, "application").count, row(p, "application").vcpu]).toEqual([6, 8]);
    expect(packs(podsAfterZoneLoss(pods), node, nodesLeftAfterZoneLoss(6))).toBe(true);
    expect(essentialRoom(podsAfterZoneLoss(pods), node, nodesLeftAfterZoneLoss(6))).toBe(true);
    expect(essentialRoom(podsAfterZoneLoss(pods), node, nodesLeftAfterZoneLoss(5))).toBe(false);
    // 4-vCPU nodes pack the fleet on paper (9 of them lose a zone), but main (2 vCPU) beside another 2-vCPU process
    // fills one: however many there are, a spread placement may leave main nowhere to go.
    expect(packs(podsAfterZoneLoss(pods), allocatableOf(4, 8), nodesLeftAfterZoneLoss(9))).toBe(true);
    expect(essentialRoom(podsAfterZoneLoss(pods), allocatableOf(4, 8), 1000)).toBe(false);
  });

  it.each(TIERS)("tier %s: every pool's verdict, requests and N-1 utilisation agree with ours", (tier) => {
    const p = planForTier(tier);
    const app = p.pools.find((u) => u.role === "application")!;
    const appRow = row(p, "application");
    const node = allocatableOf(appRow.vcpu, appRow.memoryGiB);
    const base = applicationPods(p);
    const max = applicationPods(p, true);
    expect(verdict(base, node, app.nodes), "N-1 at base").toBe(true);
    expect(app.fitsNMinus1).toBe(true);
    expect(packs(max, node, app.nodes), "maximum autoscale on every node").toBe(true);
    expect(packs(podsAfterZoneLoss(base), node, nodesLeftAfterZoneLoss(app.nodes)), "the base fleet on the nodes a zone loss leaves").toBe(true);
    expect(essentialRoom(base, node, app.nodes - 1), "the essential pods come back after a node loss").toBe(true);
    expect(essentialRoom(podsAfterZoneLoss(base), node, nodesLeftAfterZoneLoss(app.nodes)), "and after a zone loss").toBe(true);
    expect(app.pods).toBe(base.length);
    // Reported to 1/100.
    const near = (reported: number, exact: number) => expect(Math.abs(reported - exact)).toBeLessThanOrEqual(0.005 + 1e-9);
    near(app.requested.vcpu, total(base).vcpu);
    near(app.requested.memoryGiB, total(base).memoryGiB);
    near(app.requestedAtMaxScale.vcpu, total(max).vcpu);
    near(app.requestedAtMaxScale.memoryGiB, total(max).memoryGiB);
    expect(app.utilisationNMinus1.vcpu).toBeCloseTo(total(base).vcpu / ((app.nodes - 1) * app.allocatable.vcpu), 3);
    expect(app.utilisationNMinus1.memoryGiB).toBeCloseTo(total(base).memoryGiB / ((app.nodes - 1) * app.allocatable.memoryGiB), 3);
    // Packed: the count is the least that holds above the HA floor of 3 (docs/sizing.md): with one node
    // fewer a necessary condition fails.
    expect(appRow.count).toBeGreaterThanOrEqual(3);
    const fewer = appRow.count - 1;
    if (appRow.count > 3)
      expect(
        mayFit(base, node, fewer - 1) && mayFit(max, node, fewer) && mayFit(podsAfterZoneLoss(base), node, nodesLeftAfterZoneLoss(fewer)) &&
          essentialRoom(base, node, fewer - 1) && essentialRoom(podsAfterZoneLoss(base), node, nodesLeftAfterZoneLoss(fewer)),
        `${fewer} nodes would do`,
      ).toBe(false);

    // One-per-node pools: one member per node, N-1 by quorum (docs/sizing.md "Nodes").
    const pool = (role: string) => p.pools.find((u) => u.role === role)!;
    const pg = pool("database");
    expect(pg.pods).toBe(p.postgres.instances);
    expect(pg.fitsNMinus1).toBe(p.postgres.instances - 1 >= 1 + p.postgres.synchronousStandbys);
    // docs/data-tier.md: each instance's pod is PostgreSQL and the Barman Cloud sidecar (1 vCPU).
    expect(pg.utilisationNMinus1.vcpu).toBeCloseTo((p.postgres.instances * (p.postgres.resources.requests.vcpu + 1)) / (pg.nodes * pg.allocatable.vcpu), 3);
    const minio = pool("storage");
    const servers = p.minio.pools.reduce((n, x) => n + x.servers, 0);
    expect(minio.pods).toBe(servers);
    // One server of a pool holds drivesPerServer drives of each erasure set it spans; MinIO keeps writing with `parity` lost.
    expect(minio.fitsNMinus1).toBe(p.minio.pools.every((x) => (p.minio.erasureSetDrives / x.servers) <= p.minio.parity));
    const calls = pool("calls");
    expect(calls.pods).toBe(p.livekit.instances + p.coturn.instances);
    expect(calls.fitsNMinus1).toBe(true);
    // One monitoring server (the seed's): it holds its six pods and does not survive its loss.
    const monitoring = pool("monitoring");
    expect(monitoring.pods).toBe(6);
    expect(monitoring.fitsNMinus1).toBe(false);
    expect(monitoring.requested.vcpu).toBeLessThanOrEqual(monitoring.allocatable.vcpu);
    expect(monitoring.requested.memoryGiB).toBeLessThanOrEqual(monitoring.allocatable.memoryGiB);
  });

  it.each(TIERS)("tier %s: no instance type is cheaper for the application pool than the plan's, by our own packer and the published prices", (tier) => {
    const p = planForTier(tier);
    const appRow = row(p, "application");
    const planCost = appRow.count * PRICES.instanceUsdPerHour[appRow.instanceType as keyof typeof PRICES.instanceUsdPerHour];
    const base = applicationPods(p);
    const max = applicationPods(p, true);
    for (const [family, ratio] of [["c7i", 2], ["m7i", 4], ["r7i", 8]] as const) {
      for (const [size, cores] of [["large", 2], ["xlarge", 4], ["2xlarge", 8], ["4xlarge", 16], ["8xlarge", 32], ["12xlarge", 48], ["16xlarge", 64]] as const) {
        const node = allocatableOf(cores, cores * ratio);
        // The fewest nodes our packer fills (one lost, or a zone, for the base fleet; all for the maximum), from 3 up.
        let n = 3;
        const holds = (k: number) =>
          packs(base, node, k - 1) && packs(max, node, k) && packs(podsAfterZoneLoss(base), node, nodesLeftAfterZoneLoss(k)) &&
          essentialRoom(base, node, k - 1) && essentialRoom(podsAfterZoneLoss(base), node, nodesLeftAfterZoneLoss(k));
        while (n < 60 && !holds(n)) n++;
        if (n === 60) continue;
        const cost = n * PRICES.instanceUsdPerHour[`${family}.${size}`];
        expect(cost, `${tier}: ${n} × ${family}.${size} ($${cost.toFixed(3)}/h) against ${appRow.count} × ${appRow.instanceType} ($${planCost.toFixed(3)}/h)`).toBeGreaterThanOrEqual(planCost - 1e-9);
      }
    }
  });

  it("over random ccu and sync overrides, the plan's application verdict never contradicts ours", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: 12 }), (ccu, extra) => {
        let p: Plan;
        try {
          p = planFor(ccu, { overrides: { synapse: { synchrotron: { replicas: Math.max(2, Math.ceil(ccu / 1250)) + extra } } } });
        } catch {
          return; // refused (budget or memory): nothing to compare
        }
        const app = p.pools.find((u) => u.role === "application")!;
        const r = row(p, "application");
        const mine = verdict(applicationPods(p), allocatableOf(r.vcpu, r.memoryGiB), app.nodes);
        if (mine !== undefined) expect(app.fitsNMinus1).toBe(mine);
      }),
      runs(60),
    );
  });
});

describe("N-1, constructed cases where the answer is known", () => {
  const node: Node = { vcpu: 4, memoryGiB: 8 };
  const pods = (n: number, vcpu: number, memoryGiB: number, group?: string): Pod[] => Array.from({ length: n }, (_, i) => ({ owner: `p${i}`, vcpu, memoryGiB, ...(group ? { group } : {}) }));
  const planVerdict = (list: Pod[], nodes: number, role: "application" | "database" = "application", quorum = true) =>
    poolUsage(role, nodes, node, { base: toDemand(list), max: toDemand(list) }, quorum).fitsNMinus1;

  it.each([
    ["requests above two nodes' vCPU (5 × 2 vCPU on 2 × 4)", pods(5, 2, 1), 3, false],
    ["requests above two nodes' memory (3 × 6 GiB on 2 × 8)", pods(3, 1, 6), 3, false],
    ["three spread members, two nodes left", pods(3, 0.1, 0.1, "redis"), 3, false],
    ["pods above half a node cannot share one (3 × 2.5 vCPU)", pods(3, 2.5, 1), 3, false],
    ["one pod larger than a node", pods(1, 4.5, 1), 3, false],
    ["no node left after the loss", pods(1, 0.1, 0.1), 1, false],
    ["fits exactly on the two left (4 × 2 vCPU, 4 × 4 GiB)", pods(4, 2, 4), 3, true],
    ["spread members one per remaining node", pods(2, 1, 1, "redis"), 3, true],
    ["small pods", pods(10, 0.5, 1), 3, true],
  ])("%s", (_what, list, nodes, expected) => {
    expect(verdict(list, node, nodes)).toBe(expected);
    expect(planVerdict(list, nodes)).toBe(expected);
  });

  it("a quorum pool that loses its quorum does not survive, however its pods fit", () => {
    expect(planVerdict(pods(3, 1, 1, "postgres"), 3, "database", false)).toBe(false);
    expect(planVerdict(pods(3, 1, 1, "postgres"), 3, "database", true)).toBe(true);
    // Quorum pools are measured against all their nodes: three members on three nodes fit.
    expect(planVerdict(pods(3, 4, 8, "postgres"), 3, "database", true)).toBe(true);
    expect(planVerdict(pods(4, 1, 1, "postgres"), 3, "database", true)).toBe(false);
  });

  it("the plan's utilisation is requests over the nodes left (rescheduling) or all nodes (quorum)", () => {
    const list = pods(4, 1, 2);
    const app = poolUsage("application", 3, node, { base: toDemand(list), max: toDemand([...list, ...list]) }, true);
    expect(app.utilisationNMinus1).toEqual({ vcpu: 0.5, memoryGiB: 0.5 });
    expect(app.requested).toEqual({ vcpu: 4, memoryGiB: 8 });
    expect(app.requestedAtMaxScale).toEqual({ vcpu: 8, memoryGiB: 16 });
    expect(app.pods).toBe(4);
    const db = poolUsage("database", 4, node, { base: toDemand(list), max: toDemand(list) }, true);
    expect(db.utilisationNMinus1).toEqual({ vcpu: 0.25, memoryGiB: 0.25 });
    expect(poolUsage("application", 1, node, { base: [], max: [] }, true).utilisationNMinus1).toEqual({ vcpu: 0, memoryGiB: 0 });
    expect(poolUsage("application", 0, node, { base: [], max: [] }, true).utilisationNMinus1).toEqual({ vcpu: 0, memoryGiB: 0 });
  });
});
