/** Stack config validation: every bad value rejected with one line naming the key. */
import { describe, expect, it } from "vitest";
import { parseSettings, plan, PlanError, SettingsError } from "../../sizing";
import type { RawSettings } from "../../sizing/settings";
import { BAD, BREAKS_INVARIANT, ok } from "../fixtures/bad-settings";

/**
 * The case with its named key taken away: a key `ok` has (ccu, serverName) gets ok's value, any
 * other key is deleted, and objects the deletion leaves empty are deleted too. If the case was
 * refused for that key and nothing else, what remains is valid.
 */
function withoutKey(raw: RawSettings, key: string): RawSettings {
  const copy = structuredClone(raw) as Record<string, unknown>;
  if (key in ok) return { ...copy, [key]: ok[key as keyof typeof ok] };
  const path = key.split(".");
  const chain: Record<string, unknown>[] = [copy];
  for (const part of path.slice(0, -1)) {
    const next = chain.at(-1)![part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) break;
    chain.push(next as Record<string, unknown>);
  }
  if (chain.length === path.length) delete chain.at(-1)![path.at(-1)!];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]!).length > 0) break;
    delete chain[i - 1]![path[i - 1]!];
  }
  return copy;
}

describe("bad settings are rejected with one line naming the key", () => {
  it("the corpus has at least 25 cases", () => expect(BAD.length).toBeGreaterThanOrEqual(25));

  it("case names are unique", () => expect(new Set(BAD.map(([what]) => what)).size).toBe(BAD.length));

  it.each(BAD)("%s", (_what, raw, key, text) => {
    let error: unknown;
    try {
      parseSettings(raw);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as SettingsError).message;
    expect(message).not.toContain("\n");
    // Exactly the key: the message opens with it (not a longer or shorter key that contains it).
    expect(message.startsWith(`matrix-scale:${key} `), message).toBe(true);
    expect(message).toMatch(text);
    expect((error as SettingsError).key).toBe(key);
  });

  it.each(BAD)("%s: refused for that key only (without it the settings are valid)", (_what, raw, key) => {
    expect(() => parseSettings(withoutKey(raw, key))).not.toThrow();
  });
});

describe("valid settings that break an invariant fail with the rule, the numbers and the fix", () => {
  it.each(BREAKS_INVARIANT)("%s", (_what, raw, key, rule) => {
    let error: unknown;
    try {
      plan(parseSettings(raw));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanError);
    const message = (error as PlanError).message;
    expect(message).toMatch(rule);
    expect(message).toMatch(/\d/);
    expect(message).toContain("fix:");
    // Exactly the key, which closes the message.
    expect((error as PlanError).key).toBe(key);
    expect(message.endsWith(`(matrix-scale:${key})`), message).toBe(true);
  });

  it.each(BREAKS_INVARIANT)("%s: refused for that key only (without it the plan is made)", (_what, raw, key) => {
    expect(() => plan(parseSettings(withoutKey(raw, key)))).not.toThrow();
  });
});

describe("valid settings", () => {
  it("a larger worker pool raises max_connections to fit the budget, within what memory affords", () => {
    const p = plan(parseSettings({ ...ok, overrides: { synapse: { synchrotron: { cpMax: 40 } } } }));
    expect(p.postgres.maxConnections).toBeGreaterThan(200);
    expect(p.postgres.maxConnectionsSource).toBe("raised for the connection budget");
    expect(p.synapse.connectionsAtMaxScale).toBeLessThan(p.postgres.maxConnections * 0.85);
  });

  it("fills documented defaults", () => {
    const s = parseSettings({ ccu: "800", serverName: "matrix.example.com" });
    expect(s).toMatchObject({ ccu: 800, target: "kubernetes", federation: true, overrides: {}, kubernetes: { namespace: "matrix" } });
  });

  it("accepts stack-file strings for booleans and tiers given as numbers", () => {
    expect(parseSettings({ ...ok, federation: "false", tier: 100 })).toMatchObject({ federation: false, tier: "100" });
  });

  it("the seed's '800 CCU on 1K: 6 sync workers' override is valid and re-checked", () => {
    const p = plan(parseSettings({ ccu: 800, serverName: "m.example.com", overrides: { synapse: { synchrotron: { replicas: 6 } } } }));
    expect(p.tier).toBe("1k");
    expect(p.synapse.workers.synchrotron.replicas).toBe(6);
    expect(p.synapse.connectionsAtMaxScale).toBeLessThan(p.synapse.connectionLimit);
    expect(p.warnings.join()).toMatch(/80% of the 1k tier: plan the move to 5k/);
  });

  it("federation off: no federation senders, fewer processes", () => {
    const on = plan(parseSettings(ok));
    const off = plan(parseSettings({ ...ok, federation: false }));
    expect(off.synapse.workers.federationSender.replicas).toBe(0);
    expect(off.synapse.federationSenderInstances).toEqual([]);
    expect(off.synapse.processes).toBe(on.synapse.processes - on.synapse.workers.federationSender.replicas);
  });
});
