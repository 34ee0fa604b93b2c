/**
 * A zone's nodes stop answering, as they do in a real outage (they are not deleted): on the real
 * control plane of kube-scheduling.test.ts, with the node controller at Kubernetes' own grace
 * period, KWOK stops being the kubelet of one zone's nodes. The controller marks them NotReady and
 * taints them unreachable; once the pods' toleration runs out (30 s here instead of Kubernetes'
 * 300: time compressed, nothing else changed) it evicts them. Deployments replace their pods at
 * once; StatefulSets wait for a deletion no kubelet confirms. docs/hardware.md says so and gives the
 * operator's step, the out-of-service taint; the test takes that step and judges every service
 * against the same table kube-scheduling.test.ts judges a deleted zone by.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { zoneStopsAnswering, type ZoneOutage } from "./kube/cluster";
import { bootTier, servicesKept, SURVIVES, type BootedTier } from "./kube/tier";

/** The smallest tier: every service has the shape it has at every tier (three zones, quorum members spread over them). */
const TIER = "100";
const EVICT_AFTER_SECONDS = 30;

describe(`tier ${TIER}: a zone's nodes stop answering (NotReady, not deleted)`, () => {
  let booted: BootedTier;
  let outage: ZoneOutage;

  beforeAll(async () => {
    booted = await bootTier(TIER, `kube-outage-${TIER}`, { lostNodes: { evictAfterSeconds: EVICT_AFTER_SECONDS } });
    outage = await zoneStopsAnswering(booted.cp, booted.zones[0]!);
    console.log(
      `zone outage at ${TIER}: ${outage.nodes} nodes of ${outage.zone} unanswered; Deployments' pods replaced in ${outage.unanswered.seconds} s, ` +
        `StatefulSet pods held: ${outage.held.join(", ") || "none"}; after the out-of-service taint every pod replaced or waiting in ${outage.outOfService.seconds} s; ` +
        `waiting: ${outage.outOfService.waiting.join("; ") || "none"}`,
    );
  }, 1_200_000);

  afterAll(async () => {
    booted?.provisioner.stop();
    await booted?.cp.stop();
  }, 60_000);

  const namespace = () => booted.settings.kubernetes.namespace;
  const claims = () => SURVIVES[TIER]!;

  it("before anyone acts, the StatefulSets' pods of the lost zone are held and never replaced: Synapse's named processes among them wait; every quorum service keeps serving where docs/hardware.md says it survives a zone", () => {
    expect(outage.held.length).toBeGreaterThan(0);
    const heldSynapse = outage.held.filter((p) => p.startsWith(`${namespace()}/synapse-`));
    // Synapse's named processes are StatefulSets (one instance per name, never two): at this tier some always sit in each zone.
    expect(heldSynapse.length).toBeGreaterThan(0);
    const observed = servicesKept(booted.plan, namespace(), outage.unanswered.workloads);
    expect(Object.keys(observed).sort()).toEqual(Object.keys(claims()).sort());
    for (const [service, keeps] of Object.entries(observed)) {
      const expected = service === "Synapse" ? false : claims()[service]!.includes("zone");
      expect(keeps, `${service} while ${outage.zone} does not answer; held: ${outage.held.join(", ")}`).toBe(expected);
    }
  });

  it("after the out-of-service taint docs/hardware.md gives, the held pods are removed, the StatefulSets replace them, and each service keeps serving exactly where the table says it survives a zone", () => {
    const observed = servicesKept(booted.plan, namespace(), outage.outOfService.workloads);
    expect(Object.keys(observed).sort()).toEqual(Object.keys(claims()).sort());
    for (const [service, keeps] of Object.entries(observed)) {
      expect(keeps, `${service} after ${outage.zone} was tainted out of service; waiting: ${outage.outOfService.waiting.join("; ") || "none"}`).toBe(claims()[service]!.includes("zone"));
    }
  });
});
