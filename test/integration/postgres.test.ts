/**
 * PostgreSQL started with the rendered parameter set of every tier (memory parameters scaled to
 * this machine, everything else as rendered): it starts, reports the values, admits the plan's
 * whole connection budget, and creates Synapse's database with the rendered encoding and locale.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOT_STANDBY_SENSITIVE, PARAMETER_CONTEXT } from "../../bin/postgres-parameters";
import { clusterSpec, DATABASE_LOCALE } from "../../components/postgres/cluster";
import type { Plan } from "../../sizing/types";
import { pgMemoryGiB } from "../../sizing/units";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { planFor } from "../helpers";
import { asPostgres, ownedByPostgres, PYTHON, runPostgres, scaledForThisMachine, Services, startPostgres, waitFor, type Postgres } from "./harness";

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
    spec = clusterSpec(thePlan.postgres, { image: "x", storageClass: "x", ownerSecret: "x", backup: { kind: "minio", endpoint: "x", bucket: "x", credentialsSecret: "x" } });
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

/**
 * The tier diff's PostgreSQL rules (bin/consequences.ts) against a real server: which parameters
 * need a restart is what pg_settings reports, and a standby below its primary's max_connections
 * does not serve, which is why lowering it must restart the primary first.
 */
describe("the tier diff's PostgreSQL rules, on a real primary and standby", () => {
  const primaryServices = new Services("pg-primary");
  const standbyServices = new Services("pg-standby");
  const PRIMARY_CONNECTIONS = 200;
  let primary: Postgres;

  beforeAll(async () => {
    primary = await startPostgres(primaryServices, { max_connections: String(PRIMARY_CONNECTIONS) });
  }, 60_000);
  afterAll(async () => {
    await standbyServices.stopAll();
    await primaryServices.stopAll();
  }, 30_000);

  it("every parameter a tier sets needs a restart, a reload or nothing exactly as pg_settings.context says", () => {
    const names = [...new Set(TIERS.flatMap((t) => Object.keys(planFor(TIER_USERS[t]!).postgres.parameters)))].sort();
    const rows = primary.psql(`SELECT name, context FROM pg_settings WHERE name IN (${names.map((n) => `'${n}'`).join(", ")}) ORDER BY name`);
    const reported = Object.fromEntries(rows.split("\n").map((line) => line.split("|") as [string, string]));
    expect(Object.fromEntries(names.map((n) => [n, PARAMETER_CONTEXT[n]]))).toEqual(reported);
    const sensitive = primary.psql(`SELECT string_agg(context, ',') FROM pg_settings WHERE name IN (${HOT_STANDBY_SENSITIVE.map((n) => `'${n}'`).join(", ")})`);
    expect(sensitive.split(",")).toEqual(HOT_STANDBY_SENSITIVE.map(() => "postmaster"));
  });

  it("a standby below its primary's max_connections does not serve; at the primary's value it does", async () => {
    const data = join(standbyServices.dir, "pgdata");
    mkdirSync(data, { recursive: true });
    ownedByPostgres(standbyServices.dir, data);
    const [cmd, ...args] = asPostgres("pg_basebackup", ["-h", primary.socketDir, "-p", String(primary.port), "-U", "postgres", "-D", data, "-R", "-X", "stream"]);
    const backup = spawnSync(cmd!, args, { encoding: "utf8", timeout: 60_000 });
    expect(backup.status, backup.stderr).toBe(0);

    const lower = runPostgres(standbyServices, data, { max_connections: String(PRIMARY_CONNECTIONS / 2) }, "SELECT 1", 8_000).then(() => "served", () => "did not serve");
    await waitFor("the standby to refuse its settings", async () => (standbyServices.log("postgres").includes("insufficient parameter settings") ? true : undefined), 20_000);
    expect(standbyServices.log("postgres")).toMatch(new RegExp(`max_connections = ${PRIMARY_CONNECTIONS / 2} is a lower setting than on the primary server, where its value was ${PRIMARY_CONNECTIONS}`));
    await standbyServices.stop("postgres");
    expect(await lower).toBe("did not serve");

    const equal = await runPostgres(standbyServices, data, { max_connections: String(PRIMARY_CONNECTIONS) }, "SELECT pg_is_in_recovery()");
    expect(equal.psql("SELECT pg_is_in_recovery()")).toBe("t");
  }, 90_000);
});
