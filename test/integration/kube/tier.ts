/**
 * One tier on a real control plane (the program's objects applied, every pod placed on KWOK nodes
 * from the independent node model beside the cluster's DaemonSets), and the judgment of each
 * service after a zone goes against what docs/hardware.md claims it survives.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runProgram } from "../../../bin/mock-runtime";
import { nodeGroups } from "../../../sizing/inventory";
import { erasureSetDrives } from "../../../sizing/objectstore";
import { parseSettings, plan as planOf, type Plan } from "../../../sizing";
import type { Settings } from "../../../sizing/settings";
import { TIER_USERS } from "../../fixtures/seed";
import { onTarget, SERVER_NAME } from "../../helpers";
import { addNodes, applyManifests, expectedPods, nodesFor, startDaemonSets, startZonalProvisioner, testZones, waitForPlacement, type ApplyResult, type Pod, type ZoneLoss } from "./cluster";
import { ControlPlane, type KubeObject, type LostNodes } from "./control-plane";
import { chartStandIns, manifests, operatorStandIns, type Manifest } from "./manifests";

export interface BootedTier {
  settings: Settings;
  plan: Plan;
  zones: string[];
  cp: ControlPlane;
  provisioner: ReturnType<typeof startZonalProvisioner>;
  declared: Manifest[];
  applied: ApplyResult;
  pods: Pod[];
  nodes: KubeObject[];
}

/** The tier's program on AWS, applied to a fresh control plane with its nodes, every pod placed. */
export async function bootTier(tier: string, prefix: string, options: { lostNodes?: LostNodes } = {}): Promise<BootedTier> {
  const raw = { ccu: TIER_USERS[tier]!, serverName: SERVER_NAME, ...onTarget("aws") };
  const settings = parseSettings(raw);
  const zones = testZones(settings.aws.region);
  const plan = planOf(settings);
  const run = await runProgram(raw);
  const list = manifests(run.resources);
  const declared = [...list, ...operatorStandIns(list), ...chartStandIns(run.resources)];
  const cp = await ControlPlane.start(prefix, options);
  const provisioner = startZonalProvisioner(cp);
  try {
    await addNodes(cp, nodesFor(nodeGroups(plan), zones));
    await startDaemonSets(cp, declared);
    const applied = await applyManifests(cp, declared);
    const pods = await waitForPlacement(cp, expectedPods(declared), 240_000);
    return { settings, plan, zones, cp, provisioner, declared, applied, pods, nodes: cp.list("nodes") };
  } catch (error) {
    // The caller never gets the control plane: stop it here, its logs kept for the failure.
    provisioner.stop();
    await cp.stop({ keepLogs: true });
    throw error;
  }
}

/** docs/hardware.md "What each service survives": per tier and service, "node", "node, zone" or "none". */
export const SURVIVES: Record<string, Record<string, string>> = (() => {
  const doc = readFileSync(join(__dirname, "..", "..", "..", "docs", "hardware.md"), "utf8");
  const lines = doc.slice(doc.indexOf("## What each service survives")).split("\n");
  const start = lines.findIndex((l) => l.startsWith("| service |"));
  const table = lines.slice(start + 2, lines.findIndex((l, i) => i > start && !l.startsWith("|")));
  const rows = table.map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
  const header = ["100", "1k", "5k", "10k", "20k"];
  // Monitoring is one server (the seed's): the table says it survives nothing, and the drain shows its pods waiting.
  for (const r of rows.filter((x) => x[0] === "monitoring")) if (r.slice(1).some((c) => c !== "none")) throw new Error("docs/hardware.md: monitoring survives nothing");
  return Object.fromEntries(header.map((tier, i) => [tier, Object.fromEntries(rows.filter((r) => r[0] !== "monitoring").map((r) => [r[0]!, r[i + 1]!]))]));
})();

/** Whether each service of docs/hardware.md's table keeps serving with the workloads a zone loss left, judged by its own quorum. */
export function servicesKept(plan: Plan, namespace: string, workloads: ZoneLoss["workloads"]): Record<string, boolean> {
  const w = (name: string) => workloads.get(name) ?? { ready: 0, replicas: 0, kind: "none" };
  const lostOf = (name: string) => w(name).replicas - w(name).ready;
  const redisKeeps = (name: "synapse" | "livekit") => w(`${namespace}/redis-${name}`).ready >= 1 && w(`${namespace}/redis-${name}-sentinel`).ready >= plan.redis[name].quorum;
  const synapseOwners = [...workloads.keys()].filter((o) => o.startsWith(`${namespace}/synapse-`));
  return {
    // A commit needs the primary and its synchronous standbys (dataDurability: required).
    PostgreSQL: w(`${namespace}/postgres-instances`).ready >= 1 + plan.postgres.synchronousStandbys,
    // Every erasure set of every pool loses at most `parity` drives (MinIO's read and write quorum). A set
    // spreads evenly over the pool's servers; its size is MinIO's own (format.json, test/integration/minio.test.ts).
    MinIO: plan.minio.pools.every((pool, i) => lostOf(`${namespace}/minio-pool-${i}`) * (erasureSetDrives(pool) / pool.servers) <= plan.minio.parity),
    "Redis (Synapse)": redisKeeps("synapse"),
    "Redis (LiveKit)": redisKeeps("livekit"),
    LiveKit: w(`${namespace}-calls/livekit`).ready >= 1,
    coturn: w(`${namespace}-calls/coturn`).ready >= 1,
    // Every named process (each owns a stream or a duty) and at least one of each autoscaled type.
    Synapse: synapseOwners.every((o) => (w(o).kind === "StatefulSet" ? lostOf(o) === 0 : w(o).ready >= 1)),
  };
}
