/**
 * PostgreSQL started with the rendered parameter set of every tier (memory parameters scaled to
 * this machine, everything else as rendered): it starts, reports the values, admits the plan's
 * whole connection budget, and creates Synapse's database with the rendered encoding and locale.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterSpec, DATABASE_LOCALE } from "../../components/postgres/cluster";
import type { Plan } from "../../sizing/types";
import { pgMemoryGiB } from "../../sizing/units";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { planFor } from "../helpers";
import { PYTHON, scaledForThisMachine, Services, startPostgres, type Postgres } from "./harness";

/** SHOW output and config values in comparable form: memory in kB, times in seconds. */
function normalise(value: string): string {
  const memory = /^(\d+(?:\.\d+)?)\s*(kB|MB|GB|TB)$/.exec(value);
  if (memory) return `${Math.round(pgMemoryGiB(value) * 1024 * 1024)}kB`;
  const time = /^(\d+)\s*(ms|s|min|h)$/.exec(value);
  if (time) return `${Number(time[1]) * { ms: 0.001, s: 1, min: 60, h: 3600 }[time[2] as "ms" | "s" | "min" | "h"]}s`;
  return String(Number(value));
}

describe.each(TIERS)("PostgreSQL with the %s tier's parameters", (tier) => {
  const services = new Services(`pg-${tier}`);
  let thePlan: Plan;
  let pg: Postgres;
  let rendered: Record<string, string>;
  let spec: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    thePlan = planFor(TIER_USERS[tier]!);
    spec = clusterSpec(thePlan.postgres, { image: "x", storageClass: "x", ownerSecret: "x", backup: { endpoint: "x", bucket: "x", credentialsSecret: "x" } });
    rendered = scaledForThisMachine(spec.postgresql.parameters);
    pg = await startPostgres(services, rendered);
  }, 60_000);
  afterAll(() => services.stopAll(), 30_000);

  it("starts and reports every rendered value", () => {
    for (const [name, value] of Object.entries(rendered)) expect(normalise(pg.psql(`SHOW ${name}`)), name).toBe(normalise(value));
    expect(pg.psql("SHOW max_connections")).toBe(String(thePlan.postgres.maxConnections));
  });

  it("admits the plan's connection budget: every Synapse process at maximum autoscale mid-rollout, each with its full pool", () => {
    pg.psql("CREATE ROLE budget LOGIN PASSWORD 'budget-check'");
    const budget = thePlan.synapse.connectionsInRollout;
    const r = spawnSync(PYTHON, [join(__dirname, "client", "pgconnect.py"), "127.0.0.1", String(pg.port), "budget", "budget-check", "postgres", String(budget)], { encoding: "utf8", timeout: 120_000 });
    const result = JSON.parse(r.stdout) as { opened: number; seenByServer: number; error: string | null };
    expect(result).toEqual({ opened: budget, seenByServer: budget, error: null });
  }, 120_000);

  it("creates Synapse's database UTF8 with C collation and ctype, as the Cluster bootstraps it", () => {
    const init = spec.bootstrap.initdb;
    expect([init.encoding, init.localeCollate, init.localeCType]).toEqual(["UTF8", "C", "C"]);
    pg.psql(`CREATE ROLE ${init.owner} LOGIN`);
    pg.psql(`CREATE DATABASE ${init.database} OWNER ${init.owner} ENCODING '${init.encoding}' LC_COLLATE '${init.localeCollate}' LC_CTYPE '${init.localeCType}' TEMPLATE template0`);
    const row = pg.psql(`SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = '${init.database}'`);
    expect(row.split("|")).toEqual([DATABASE_LOCALE.encoding, DATABASE_LOCALE.localeCollate, DATABASE_LOCALE.localeCType]);
  });
});
