/**
 * A second computation of the Synapse fleet and its connection budget, written from the
 * documentation only (never from sizing/): the seed's worker table (9.1) and cp_max table (9.2)
 * in test/fixtures/seed.ts, the README's table of matrix-scale's own worker counts, and the rules
 * docs/sizing.md states:
 *   - synchrotrons and generic workers autoscale, "maximum = ⌈1.5 × base⌉";
 *   - cp_max is the seed's main value for main, the seed's worker value for synchrotrons, generic
 *     workers and event persisters, and 5 for the light types (senders, media, background, stream
 *     writers, pushers);
 *   - autoscaled Deployments roll "one extra pod at a time", and "as many old pods still draining":
 *     two more pods of each autoscaled type hold connections mid-rollout;
 *   - "every process at maximum autoscale during a rollout × its cp_max must stay below 85% of max_connections";
 *     max_connections is the seed's unless the budget needs more, "then it is raised in steps of 50".
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { POOLS_9_2, TIER_USERS, TIERS, WORKERS_9_1 } from "../fixtures/seed";

export const ROOT = join(__dirname, "..", "..");
export const README = readFileSync(join(ROOT, "README.md"), "utf8");
export const SIZING_DOC = readFileSync(join(ROOT, "docs", "sizing.md"), "utf8");
export const SYNAPSE_DOC = readFileSync(join(ROOT, "docs", "synapse.md"), "utf8");

export type Type =
  | "main"
  | "synchrotron"
  | "generic"
  | "eventPersister"
  | "federationSender"
  | "mediaRepository"
  | "background"
  | "streamWriter"
  | "pusher";
export const TYPES: readonly Type[] = ["main", "synchrotron", "generic", "eventPersister", "federationSender", "mediaRepository", "background", "streamWriter", "pusher"];
const AUTOSCALED: readonly Type[] = ["synchrotron", "generic"];
const HEAVY: readonly Type[] = ["synchrotron", "generic", "eventPersister"];
/** docs/sizing.md: "5 for the light types". */
export const LIGHT_CP_MAX = 5;
/** docs/sizing.md: "maximum = ⌈1.5 × base⌉". */
export const hpaMaximum = (base: number) => Math.ceil((base * 3) / 2);
/** docs/sizing.md: one surge pod and one draining pod per autoscaled type while it rolls. */
export const ROLLOUT_EXTRA_PODS = 2;

/** A row of the README's "matrix-scale's own numbers" table: replicas per tier, in tier order. */
export function readmeReplicas(label: string): number[] {
  const line = README.split("\n").find((l) => l.startsWith(`| ${label} |`));
  if (!line) throw new Error(`README has no "${label}" row`);
  const cell = line.split("|")[2]!.trim();
  const values = cell.split("/").map((v) => Number(v.trim()));
  // "background worker | 1 |": one value for every tier.
  return values.length === 1 ? TIERS.map(() => values[0]!) : values;
}

const ADDED: Record<"mediaRepository" | "background" | "streamWriter" | "pusher", number[]> = {
  mediaRepository: readmeReplicas("media repository"),
  background: readmeReplicas("background worker"),
  streamWriter: readmeReplicas("stream writers"),
  pusher: readmeReplicas("pushers"),
};

export interface WorkerOverride {
  replicas?: number;
  maxReplicas?: number;
  cpMax?: number;
}

export interface ModelWorker {
  replicas: number;
  maxReplicas: number;
  cpMax: number;
}

export interface ModelFleet {
  workers: Record<Type, ModelWorker>;
  processes: number;
  processesAtMaxScale: number;
  connections: number;
  connectionsAtMaxScale: number;
  connectionsInRollout: number;
}

/** The smallest tier serving `ccu` (docs/sizing.md: "smallest tier ≥ ccu"). */
export function tierFor(ccu: number): string {
  return TIERS.find((t) => TIER_USERS[t]! >= ccu)!;
}

export function modelFleet(tier: string, federation = true, overrides: Partial<Record<Type, WorkerOverride>> = {}): ModelFleet {
  const i = TIERS.indexOf(tier);
  const [sync, generic, persisters, senders] = WORKERS_9_1[tier]!;
  const [mainCpMax, workerCpMax] = POOLS_9_2[tier]!;
  const table: Record<Type, number> = {
    main: 1,
    synchrotron: sync,
    generic,
    eventPersister: persisters,
    federationSender: federation ? senders : 0,
    mediaRepository: ADDED.mediaRepository[i]!,
    background: ADDED.background[i]!,
    streamWriter: ADDED.streamWriter[i]!,
    pusher: ADDED.pusher[i]!,
  };
  const workers = {} as Record<Type, ModelWorker>;
  for (const type of TYPES) {
    const o = overrides[type] ?? {};
    const replicas = o.replicas ?? table[type];
    const maxReplicas = AUTOSCALED.includes(type) ? (o.maxReplicas ?? hpaMaximum(replicas)) : replicas;
    const cpMax = o.cpMax ?? (type === "main" ? mainCpMax : HEAVY.includes(type) ? workerCpMax : LIGHT_CP_MAX);
    workers[type] = { replicas, maxReplicas, cpMax };
  }
  const all = Object.values(workers);
  let processes = 0;
  let processesAtMaxScale = 0;
  let connections = 0;
  let connectionsAtMaxScale = 0;
  let connectionsInRollout = 0;
  for (const type of AUTOSCALED) connectionsInRollout += ROLLOUT_EXTRA_PODS * workers[type].cpMax;
  for (const w of all) {
    processes += w.replicas;
    processesAtMaxScale += w.maxReplicas;
    connections += w.replicas * w.cpMax;
    connectionsAtMaxScale += w.maxReplicas * w.cpMax;
  }
  connectionsInRollout += connectionsAtMaxScale;
  return { workers, processes, processesAtMaxScale, connections, connectionsAtMaxScale, connectionsInRollout };
}

/** Whether `connections` stays below 85% of `maxConnections`, in integers (no float rounding). */
export const withinBudget = (connections: number, maxConnections: number) => connections * 100 < maxConnections * 85;

/** The seed's max_connections, or the smallest step of 50 above it that keeps the budget. */
export function modelMaxConnections(tier: string, connectionsInRollout: number): number {
  const seed = POOLS_9_2[tier]![3];
  if (withinBudget(connectionsInRollout, seed)) return seed;
  let value = 50;
  while (!withinBudget(connectionsInRollout, value)) value += 50;
  return value;
}
