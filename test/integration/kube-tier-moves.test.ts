/**
 * Tier moves on a live cluster: 100 → 1K → 5K → 10K → 20K and back down, each applied to the
 * objects the previous tier left (server-side apply, as Pulumi's provider does), with the stack's
 * recorded storage read back as the real stack would. The API server must accept every update (no
 * immutable field), objects the new tier no longer declares are deleted as Pulumi would, and no
 * StatefulSet, volume claim or database object is ever deleted or recreated. Nodes are the
 * envelope of every tier's pools, so that each step's pods can run (each tier's own fit is the
 * scheduling test's).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram, type MockRun } from "../../bin/mock-runtime";
import { defaultZones } from "../../components/nodepools/network";
import { parseSettings, plan as planOf } from "../../sizing";
import { nodeGroups } from "../../sizing/inventory";
import { TIER_USERS } from "../fixtures/seed";
import { SERVER_NAME } from "../helpers";
import { addNodes, applyManifests, envelope, nodesFor, startZonalProvisioner, waitForPlacement, type Pod } from "./kube/cluster";
import { ControlPlane, type KubeObject } from "./kube/control-plane";
import { manifests, type Manifest } from "./kube/manifests";
import { waitFor } from "./harness";

const SEQUENCE = ["100", "1k", "5k", "10k", "20k", "10k", "5k", "1k", "100"];
/** Kinds whose deletion or recreation loses data (or the database's definition). */
const KEPT_KINDS = ["statefulsets", "persistentvolumeclaims", "clusters.postgresql.cnpg.io", "namespaces"];
const key = (m: { kind: string; metadata: { namespace?: string; name: string } }) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`;

const raw = (tier: string) => ({ ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, target: "aws" });

/** "9 ConfigMap, 1 Job" from "ConfigMap ns name" entries. */
function byKind(deleted: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const d of deleted) counts.set(d.split(" ")[0]!, (counts.get(d.split(" ")[0]!) ?? 0) + 1);
  return counts.size ? [...counts].map(([kind, n]) => `${n} ${kind}`).join(", ") : "-";
}

interface Step {
  from: string;
  to: string;
  objects: number;
  created: number;
  deleted: string[];
  pods: number;
  seconds: number;
}

describe("tier moves on a live cluster", () => {
  let cp: ControlPlane;
  let provisioner: ReturnType<typeof startZonalProvisioner>;
  const runs: MockRun[] = [];
  const steps: Step[] = [];
  let live = new Map<string, Manifest>();

  beforeAll(async () => {
    // Each step plans around the storage the previous one recorded, as the stack does.
    for (const [i, tier] of SEQUENCE.entries()) {
      runs.push(await runProgram(raw(tier), i === 0 ? {} : { previousOutputs: { storage: runs[i - 1]!.outputs.storage } }));
    }
    const settings = parseSettings(raw("100"));
    const plans = SEQUENCE.map((tier, i) => planOf(parseSettings(raw(tier)), i === 0 ? {} : { previous: runs[i - 1]!.outputs.storage as never }));
    cp = await ControlPlane.start("kube-moves");
    provisioner = startZonalProvisioner(cp);
    await addNodes(cp, nodesFor(envelope(plans.map((p) => nodeGroups(p))), defaultZones(settings.aws.region)));
  }, 300_000);

  afterAll(async () => {
    provisioner?.stop();
    await cp?.stop();
    if (steps.length) {
      console.log(["| move | objects | created | deleted (replaced by the new tier's) | pods | time |", "|---|---|---|---|---|---|", ...steps.map((s) => `| ${s.from} → ${s.to} | ${s.objects} | ${s.created} | ${byKind(s.deleted)} | ${s.pods} | ${s.seconds} s |`)].join("\n"));
    }
  }, 60_000);

  /** Applies one tier's objects over what is live, deletes what it no longer declares, waits for its pods. */
  async function move(index: number): Promise<Step> {
    const started = Date.now();
    const list = manifests(runs[index]!.resources);
    const next = new Map(list.map((m) => [key(m), m]));
    await applyManifests(cp, list);
    const gone = [...live.keys()].filter((k) => !next.has(k));
    for (const k of gone) {
      const m = live.get(k)!;
      cp.must(["delete", m.kind, m.metadata.name, ...(m.metadata.namespace ? ["-n", m.metadata.namespace] : []), "--wait=true"]);
    }
    const created = [...next.keys()].filter((k) => !live.has(k)).length;
    live = next;
    const pods = await waitForPlacement(cp, await settledWorkloadPods(list), 300_000);
    return {
      from: index === 0 ? "(none)" : SEQUENCE[index - 1]!,
      to: SEQUENCE[index]!,
      objects: list.length,
      created,
      deleted: gone.map((k) => k.split("/").filter(Boolean).join(" ")),
      pods: pods.length,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  }

  /** Pods the live workloads ask for once every HPA has brought its target within its bounds. */
  async function settledWorkloadPods(list: readonly Manifest[]): Promise<number> {
    const hpas = list.filter((m) => m.kind === "HorizontalPodAutoscaler").map((m) => ({ ns: m.metadata.namespace!, ...(m.spec as { scaleTargetRef: { name: string }; minReplicas: number; maxReplicas: number }) }));
    await waitFor("every HPA's target within its bounds", async () => {
      const deployments = new Map(cp.list("deployments").map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, (d.spec as { replicas: number }).replicas]));
      return hpas.every((h) => {
        const replicas = deployments.get(`${h.ns}/${h.scaleTargetRef.name}`);
        return replicas !== undefined && replicas >= h.minReplicas && replicas <= h.maxReplicas;
      })
        ? true
        : undefined;
    }, 90_000, 1000);
    const workloads = [...cp.list("statefulsets"), ...cp.list("deployments")].filter((w) => w.metadata.namespace !== "kube-system");
    const jobs = cp.list("jobs").length;
    return workloads.reduce((acc, w) => acc + ((w.spec as { replicas?: number }).replicas ?? 1), 0) + jobs;
  }

  function snapshot(): Map<string, string> {
    return new Map(KEPT_KINDS.flatMap((kind) => cp.list(kind).map((o: KubeObject) => [`${kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o.metadata.uid!])));
  }

  it("the first tier applies; a scale-up by the HPA survives a re-apply of the same objects", async () => {
    steps.push(await move(0));
    // The HPA scales through the scale subresource under load; the next `pulumi up` must neither
    // conflict with that nor undo it.
    const hpa = manifests(runs[0]!.resources).find((m) => m.kind === "HorizontalPodAutoscaler" && m.metadata.name === "synapse-synchrotron")!;
    const { maxReplicas, minReplicas } = hpa.spec as { maxReplicas: number; minReplicas: number };
    expect(maxReplicas).toBeGreaterThan(minReplicas);
    cp.must(["scale", "deployment", "synapse-synchrotron", "-n", hpa.metadata.namespace!, `--replicas=${maxReplicas}`]);
    await applyManifests(cp, manifests(runs[0]!.resources));
    const replicas = (JSON.parse(cp.must(["get", "deployment", "synapse-synchrotron", "-n", hpa.metadata.namespace!, "-o", "json"])) as { spec: { replicas: number } }).spec.replicas;
    expect(replicas).toBe(maxReplicas);
    cp.must(["scale", "deployment", "synapse-synchrotron", "-n", hpa.metadata.namespace!, `--replicas=${minReplicas}`]);
  }, 600_000);

  it("every move up and back down is accepted as an update; no StatefulSet, claim, database or namespace is deleted or recreated", async () => {
    const claims = () => cp.list("persistentvolumeclaims").length;
    let peak = claims();
    for (let i = 1; i < SEQUENCE.length; i++) {
      const before = snapshot();
      const step = await move(i);
      steps.push(step);
      const after = snapshot();
      for (const [name, uid] of before) expect(after.get(name), `${step.from} → ${step.to}: ${name}`).toBe(uid);
      // What a move deletes is only what the new tier declares anew: configuration and its setup Job.
      for (const deleted of step.deleted) expect(deleted, `${step.from} → ${step.to}`).toMatch(/^(ConfigMap|Job) /);
      peak = Math.max(peak, claims());
    }
    // Back at the first tier, every claim any tier made is still there (a scale-down keeps volumes).
    expect(claims()).toBe(peak);
    expect(peak).toBeGreaterThan(0);
    expect(cp.list<Pod>("pods").filter((p) => !p.spec.nodeName)).toEqual([]);
  }, 1_800_000);
});
