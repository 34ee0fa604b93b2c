/** Stack config validation: every bad value rejected with one line naming the key. */
import { describe, expect, it } from "vitest";
import { parseSettings, plan, PlanError, SettingsError } from "../../sizing";
import { BAD, BREAKS_INVARIANT, ok } from "../fixtures/bad-settings";

describe("bad settings are rejected with one line naming the key", () => {
  it("the corpus has at least 25 cases", () => expect(BAD.length).toBeGreaterThanOrEqual(25));

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
    expect(message).toContain(`matrix-scale:${key}`);
    expect(message).toMatch(text);
    expect((error as SettingsError).key).toBe(key);
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
    expect(message).toContain(`matrix-scale:${key}`);
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
