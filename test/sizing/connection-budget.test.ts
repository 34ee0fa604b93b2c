/**
 * The connection budget with expected values that do not come from the plan: numbers worked out
 * by hand from the seed's tables and the documented rule, pinned as literals, and a second
 * computation from the documentation (fleet-model.ts) that must agree with both.
 *
 * Hand computation, per tier (seed 9.1 worker counts, seed 9.2 cp_max, the README's own worker
 * counts, HPA maximum ⌈1.5 × base⌉ for synchrotrons and generic workers, cp_max 5 for the light
 * types; mid-rollout, 2 more synchrotrons and 2 more generic workers: one surging, one draining):
 *   100: main 1×10; sync 2 (max 3), generic 2 (max 3), persisters 2, all ×8; light 2+2+1+2+2 = 9 ×5
 *        base 10 + 6×8 + 45 = 103; max 10 + 8×8 + 45 = 119; rollout 119 + 4×8 = 151 < 0.85 × 200 = 170 → 200 (seed)
 *   1k:  main 15; sync 4 (6), generic 2 (3), persisters 2, ×12; light 2+2+1+2+2 = 9 ×5
 *        base 15 + 8×12 + 45 = 156; max 15 + 11×12 + 45 = 192; rollout 192 + 4×12 = 240 < 255 → 300 (seed)
 *   5k:  main 18; sync 6 (9), generic 4 (6), persisters 2, ×12; light 4+2+1+2+2 = 11 ×5
 *        base 18 + 12×12 + 55 = 217; max 18 + 17×12 + 55 = 277; rollout 277 + 4×12 = 325 < 340 → 400 (seed)
 *   10k: main 20; sync 8 (12), generic 4 (6), persisters 2, ×15; light 4+3+1+3+2 = 13 ×5
 *        base 20 + 14×15 + 65 = 295; max 20 + 20×15 + 65 = 385; rollout 385 + 4×15 = 445 ≥ 0.85 × 500 = 425
 *        → raised: 500 × 0.85 = 425 ≤ 445 < 550 × 0.85 = 467.5 → 550
 *   20k: main 25; sync 18 (27), generic 8 (12), persisters 4, ×12; light 8+4+1+4+3 = 20 ×5
 *        base 25 + 30×12 + 100 = 485; max 25 + 43×12 + 100 = 641; rollout 641 + 4×12 = 689 ≥ 0.85 × 600 = 510
 *        → raised: 800 × 0.85 = 680 ≤ 689 < 850 × 0.85 = 722.5 → 850
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runs } from "./runs";
import { parseSettings, plan, PlanError } from "../../sizing";
import { POOLS_9_2, TIERS } from "../fixtures/seed";
import { planFor, planForTier, SERVER_NAME } from "../helpers";
import { hpaMaximum, modelFleet, modelMaxConnections, README, SIZING_DOC, SYNAPSE_DOC, TYPES, withinBudget, type Type } from "./fleet-model";

interface Budget {
  processes: number;
  processesAtMaxScale: number;
  connections: number;
  connectionsAtMaxScale: number;
  connectionsInRollout: number;
  maxConnections: number;
  source: "seed" | "raised for the connection budget";
}

/** Worked out by hand (header comment); never computed by the code under test. */
const BUDGET: Record<string, Budget> = {
  "100": { processes: 16, processesAtMaxScale: 18, connections: 103, connectionsAtMaxScale: 119, connectionsInRollout: 151, maxConnections: 200, source: "seed" },
  "1k": { processes: 18, processesAtMaxScale: 21, connections: 156, connectionsAtMaxScale: 192, connectionsInRollout: 240, maxConnections: 300, source: "seed" },
  "5k": { processes: 24, processesAtMaxScale: 29, connections: 217, connectionsAtMaxScale: 277, connectionsInRollout: 325, maxConnections: 400, source: "seed" },
  "10k": { processes: 28, processesAtMaxScale: 34, connections: 295, connectionsAtMaxScale: 385, connectionsInRollout: 445, maxConnections: 550, source: "raised for the connection budget" },
  "20k": { processes: 51, processesAtMaxScale: 64, connections: 485, connectionsAtMaxScale: 641, connectionsInRollout: 689, maxConnections: 850, source: "raised for the connection budget" },
};

/** [replicas, maxReplicas, cpMax] per type, by hand from the same sources. */
const WORKERS: Record<string, Record<Type, [number, number, number]>> = {
  "100": { main: [1, 1, 10], synchrotron: [2, 3, 8], generic: [2, 3, 8], eventPersister: [2, 2, 8], federationSender: [2, 2, 5], mediaRepository: [2, 2, 5], background: [1, 1, 5], streamWriter: [2, 2, 5], pusher: [2, 2, 5] },
  "1k": { main: [1, 1, 15], synchrotron: [4, 6, 12], generic: [2, 3, 12], eventPersister: [2, 2, 12], federationSender: [2, 2, 5], mediaRepository: [2, 2, 5], background: [1, 1, 5], streamWriter: [2, 2, 5], pusher: [2, 2, 5] },
  "5k": { main: [1, 1, 18], synchrotron: [6, 9, 12], generic: [4, 6, 12], eventPersister: [2, 2, 12], federationSender: [4, 4, 5], mediaRepository: [2, 2, 5], background: [1, 1, 5], streamWriter: [2, 2, 5], pusher: [2, 2, 5] },
  "10k": { main: [1, 1, 20], synchrotron: [8, 12, 15], generic: [4, 6, 15], eventPersister: [2, 2, 15], federationSender: [4, 4, 5], mediaRepository: [3, 3, 5], background: [1, 1, 5], streamWriter: [3, 3, 5], pusher: [2, 2, 5] },
  "20k": { main: [1, 1, 25], synchrotron: [18, 27, 12], generic: [8, 12, 12], eventPersister: [4, 4, 12], federationSender: [8, 8, 5], mediaRepository: [4, 4, 5], background: [1, 1, 5], streamWriter: [4, 4, 5], pusher: [3, 3, 5] },
};

describe("connection budget: per-tier totals pinned by hand", () => {
  it.each(TIERS)("tier %s: processes, connections at base and at maximum autoscale, max_connections", (tier) => {
    const p = planForTier(tier);
    const b = BUDGET[tier]!;
    expect({
      processes: p.synapse.processes,
      processesAtMaxScale: p.synapse.processesAtMaxScale,
      connections: p.synapse.connections,
      connectionsAtMaxScale: p.synapse.connectionsAtMaxScale,
      connectionsInRollout: p.synapse.connectionsInRollout,
      maxConnections: p.postgres.maxConnections,
      source: p.postgres.maxConnectionsSource,
    }).toEqual(b);
    expect(p.postgres.parameters.max_connections).toBe(String(b.maxConnections));
    // The limit the plan reports is 85% of max_connections (exact for these values).
    expect(p.synapse.connectionLimit).toBe((b.maxConnections * 85) / 100);
    expect(withinBudget(b.connectionsInRollout, b.maxConnections)).toBe(true);
  });

  it.each(TIERS)("tier %s: every worker type's replicas, HPA maximum and cp_max", (tier) => {
    const p = planForTier(tier);
    for (const type of TYPES) {
      const w = p.synapse.workers[type];
      expect([w.replicas, w.maxReplicas, w.cpMax], `${tier}/${type}`).toEqual(WORKERS[tier]![type]);
      // Seed 3.3 ff.: cp_min 5 (never above cp_max).
      expect(w.cpMin, `${tier}/${type}`).toBe(Math.min(5, w.cpMax));
    }
  });

  it("the hand numbers are what the documented rule gives (second computation from the docs)", () => {
    for (const tier of TIERS) {
      const m = modelFleet(tier);
      const b = BUDGET[tier]!;
      expect([m.processes, m.processesAtMaxScale, m.connections, m.connectionsAtMaxScale, m.connectionsInRollout]).toEqual([b.processes, b.processesAtMaxScale, b.connections, b.connectionsAtMaxScale, b.connectionsInRollout]);
      expect(modelMaxConnections(tier, m.connectionsInRollout)).toBe(b.maxConnections);
      for (const type of TYPES) expect([m.workers[type].replicas, m.workers[type].maxReplicas, m.workers[type].cpMax]).toEqual(WORKERS[tier]![type]);
    }
  });

  it("10k and 20k need more than the seed's max_connections once a rollout is counted (seed 9.2's 500 and 600)", () => {
    for (const tier of TIERS) {
      const seedMax = POOLS_9_2[tier]![3];
      expect(withinBudget(BUDGET[tier]!.connectionsInRollout, seedMax), tier).toBe(tier !== "10k" && tier !== "20k");
      // Without the rollout, only 20k would.
      expect(withinBudget(BUDGET[tier]!.connectionsAtMaxScale, seedMax), tier).toBe(tier !== "20k");
    }
    expect([withinBudget(689, 800), withinBudget(689, 850)]).toEqual([false, true]);
    expect([withinBudget(445, 500), withinBudget(445, 550)]).toEqual([false, true]);
  });

  it.each(TIERS)("tier %s without federation: no senders, their connections gone", (tier) => {
    const p = planForTier(tier, { federation: false });
    const b = BUDGET[tier]!;
    const [senders, , cpMax] = WORKERS[tier]!.federationSender;
    expect(p.synapse.workers.federationSender.replicas).toBe(0);
    expect(p.synapse.workers.federationSender.maxReplicas).toBe(0);
    expect(p.synapse.processes).toBe(b.processes - senders);
    expect(p.synapse.connections).toBe(b.connections - senders * cpMax);
    expect(p.synapse.connectionsAtMaxScale).toBe(b.connectionsAtMaxScale - senders * cpMax);
    expect(p.synapse.connectionsInRollout).toBe(b.connectionsInRollout - senders * cpMax);
  });
});

describe("the documents state the numbers the tests pin", () => {
  it("README: 10k and 20k hold 445 and 689 connections mid-rollout and need max_connections 550 and 850", () => {
    for (const [tier, connections, needed] of [["10k", 445, 550], ["20k", 689, 850]] as const) {
      const m = new RegExp(`${tier}: (\\d+) connections need \`max_connections\` (\\d+), not (\\d+)`).exec(README);
      expect(m, `README seed-deviation row for 9.2 (${tier})`).not.toBeNull();
      expect(m!.slice(1).map(Number)).toEqual([connections, needed, POOLS_9_2[tier]![3]]);
      const p = planForTier(tier);
      expect([p.synapse.connectionsInRollout, p.postgres.maxConnections]).toEqual([connections, needed]);
    }
  });

  it("docs/sizing.md: the HPA maximum rule ⌈1.5 × base⌉, and the plan follows it at every tier", () => {
    expect(SIZING_DOC).toContain("maximum = ⌈1.5 × base⌉");
    expect(SYNAPSE_DOC).toMatch(/as many slots as the HPA maximum/);
    // Pinned: ⌈1.5 × 2⌉ = 3, ⌈1.5 × 4⌉ = 6, ⌈1.5 × 6⌉ = 9, ⌈1.5 × 8⌉ = 12, ⌈1.5 × 18⌉ = 27; odd bases round up.
    expect([2, 3, 4, 5, 6, 8, 18].map(hpaMaximum)).toEqual([3, 5, 6, 8, 9, 12, 27]);
    for (const tier of TIERS) {
      const p = planForTier(tier);
      for (const type of ["synchrotron", "generic"] as const) {
        const w = p.synapse.workers[type];
        expect(w.autoscaled).toBe(true);
        expect(w.maxReplicas, `${tier}/${type}`).toBe(hpaMaximum(w.replicas));
      }
      for (const type of TYPES.filter((t) => t !== "synchrotron" && t !== "generic")) expect(p.synapse.workers[type].autoscaled, type).toBe(false);
    }
    // An odd base rounds up: 5 synchrotrons scale to 8, not 7.
    expect(planFor(1000, { overrides: { synapse: { synchrotron: { replicas: 5 } } } }).synapse.workers.synchrotron.maxReplicas).toBe(8);
  });

  it("docs/sizing.md: the budget rule (every process at maximum autoscale during a rollout × cp_max below 85%, light types 5, steps of 50)", () => {
    const text = SIZING_DOC.replace(/\s+/g, " ");
    expect(text).toContain("every process at maximum autoscale during a rollout × its `cp_max` must stay below 85% of `max_connections`");
    expect(text).toContain("one extra pod at a time");
    expect(text).toContain("as many old pods still draining");
    expect(text).toContain("5 for the light types (senders, media, background, stream writers, pushers)");
    expect(text).toContain("raised in steps of 50");
  });
});

describe("the budget's edges", () => {
  const at100 = (overrides: object) => plan(parseSettings({ ccu: 100, serverName: SERVER_NAME, overrides }));

  it("exactly 85% is not below 85%: 151 connections mid-rollout need max_connections above 177.6", () => {
    // 0.85 × 180 = 153 holds 151; 0.85 × 177 = 150.45 does not: refused, naming max_connections.
    let error: unknown;
    try {
      at100({ postgres: { maxConnections: 177 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanError);
    expect((error as PlanError).key).toBe("overrides.postgres.maxConnections");
    expect((error as PlanError).message).toMatch(/151 connections.*during a rollout.*max_connections 177 \(150\.45\)/);
    const p = at100({ postgres: { maxConnections: 178 } });
    expect(p.postgres.maxConnections).toBe(178);
    expect(p.postgres.maxConnectionsSource).toBe("override");
    expect(p.synapse.connectionLimit).toBe(151.3);
  });

  it("a fleet at exactly 85% of the seed's value gets the next step: main cp_max 29 makes 170 = 0.85 × 200 → 250", () => {
    // 151 − 10 + 29 = 170 mid-rollout; 0.85 × 200 = 170 is not below, 0.85 × 250 = 212.5 is.
    const raised = at100({ synapse: { main: { cpMax: 29 } } });
    expect(raised.synapse.connectionsInRollout).toBe(170);
    expect([raised.postgres.maxConnections, raised.postgres.maxConnectionsSource]).toEqual([250, "raised for the connection budget"]);
    const kept = at100({ synapse: { main: { cpMax: 28 } } });
    expect(kept.synapse.connectionsInRollout).toBe(169);
    expect([kept.postgres.maxConnections, kept.postgres.maxConnectionsSource]).toEqual([200, "seed"]);
    // 1k: 240 − 15 + 100 = 325 connections; 325 / 0.85 = 382.4 → the step of 50 above is 400 (340 > 325).
    const big = planFor(1000, { overrides: { synapse: { main: { cpMax: 100 } } } });
    expect([big.synapse.connectionsInRollout, big.postgres.maxConnections]).toEqual([325, 400]);
  });

  it("over random worker overrides, the plan's connections and max_connections equal the documented rule's", () => {
    const ov = fc.record({ replicas: fc.integer({ min: 2, max: 12 }), maxReplicas: fc.integer({ min: 18, max: 40 }), cpMax: fc.integer({ min: 1, max: 30 }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.constantFrom(...TIERS), fc.boolean(), fc.record({ main: fc.record({ cpMax: fc.integer({ min: 1, max: 60 }) }), synchrotron: ov, generic: ov }, { requiredKeys: [] }), (tier, federation, synapse) => {
        const model = modelFleet(tier, federation, synapse);
        const expectedMax = modelMaxConnections(tier, model.connectionsInRollout);
        let p;
        try {
          p = planForTier(tier, { federation, overrides: { synapse } });
        } catch (e) {
          // Only the capacity rule (replicas below ceil(ccu/1250) etc.) or PostgreSQL memory may refuse.
          expect((e as Error).message).toMatch(/HA minimum|affords/);
          return;
        }
        expect([p.synapse.processes, p.synapse.processesAtMaxScale, p.synapse.connections, p.synapse.connectionsAtMaxScale, p.synapse.connectionsInRollout]).toEqual([
          model.processes,
          model.processesAtMaxScale,
          model.connections,
          model.connectionsAtMaxScale,
          model.connectionsInRollout,
        ]);
        expect(p.postgres.maxConnections).toBe(expectedMax);
        expect(p.postgres.maxConnectionsSource).toBe(expectedMax === POOLS_9_2[tier]![3] ? "seed" : "raised for the connection budget");
      }),
      runs(150),
    );
  });
});
