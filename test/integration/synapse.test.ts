/**
 * The rendered Synapse configuration booted for real: PostgreSQL, Redis, main and every worker
 * from the rendered files, HAProxy with the rendered routing, driven by a Matrix client (nio).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSettings, plan } from "../../sizing";
import type { WorkerType } from "../../sizing/settings";
import { assignDuties } from "../../sizing/synapse";
import type { Plan, WorkerPlan } from "../../sizing/types";
import { MEDIA_BUCKET } from "../../components/naming";
import { waitFor } from "./harness";
import { bootFleet, runScenario, type Fleet, type ProxiedRequest } from "./synapse-fleet";

const BOOT_TIMEOUT = 600_000;

function tierPlan(ccu: number): Plan {
  return plan(parseSettings({ ccu, serverName: "matrix.test" }));
}

/** A larger tier's configuration with one process per type (the test machine has two cores). */
function oneReplicaPerType(p: Plan): Plan {
  const workers = Object.fromEntries(
    Object.entries(p.synapse.workers).map(([type, w]) => {
      const replicas = Math.min(w.replicas, 1);
      return [type, { ...w, replicas, maxReplicas: replicas, instances: w.instances.slice(0, replicas) }];
    }),
  ) as Plan["synapse"]["workers"];
  return { ...p, synapse: { ...p.synapse, workers, ...assignDuties(workers) } };
}

/** What each client request must reach: [method, path, backend, worker type]. */
const EXPECTED: [string, RegExp, string, WorkerType][] = [
  ["POST", /^\/_synapse\/admin\/v1\/register$/, "main", "main"],
  ["POST", /^\/_matrix\/client\/v3\/login$/, "client", "generic"],
  ["POST", /^\/_matrix\/client\/v3\/createRoom$/, "client", "generic"],
  ["POST", /^\/_matrix\/client\/v3\/join\//, "client_room", "generic"],
  ["PUT", /\/rooms\/[^/]+\/send\/m\.room\.message\//, "client_room", "generic"],
  ["PUT", /\/rooms\/[^/]+\/typing\//, "stream_typing", "streamWriter"],
  ["POST", /\/rooms\/[^/]+\/receipt\//, "stream_receipts", "streamWriter"],
  ["POST", /^\/_matrix\/media\/v3\/upload$/, "media", "mediaRepository"],
  ["GET", /^\/_matrix\/client\/v1\/media\/download\//, "media", "mediaRepository"],
  ["POST", /^\/_matrix\/client\/v3\/keys\/upload$/, "stream_device_lists", "streamWriter"],
  ["POST", /^\/_matrix\/client\/v3\/keys\/query$/, "client", "generic"],
  ["GET", /\/rooms\/[^/]+\/joined_members$/, "client", "generic"],
];

describe.each([
  ["100-CCU tier, every replica", () => tierPlan(100), (w: WorkerPlan) => w.replicas],
  ["20K-CCU tier, one replica per type", () => oneReplicaPerType(tierPlan(20_000)), () => 1],
])("Synapse fleet: %s", (_label, makePlan, copies) => {
  const thePlan = makePlan();
  let fleet: Fleet;
  let scenario: Record<string, unknown>;
  let requests: ProxiedRequest[];
  const typeOf = (server: string) => fleet.processes.find((p) => p.name === server)?.type;

  beforeAll(async () => {
    const started = Date.now();
    fleet = await bootFleet(thePlan, copies, "synapse-fleet");
    const booted = Date.now();
    scenario = runScenario(fleet);
    // HAProxy writes its log asynchronously: wait for the scenario's last request.
    requests = await waitFor("HAProxy to log the last request", async () => {
      const logged = fleet.requests();
      return logged.some((r) => r.path.startsWith("/_synapse/replication")) ? logged : undefined;
    }, 10_000);
    console.log(`${_label}: ${fleet.processes.length} Synapse processes booted in ${((booted - started) / 1000).toFixed(1)} s; client session ${((Date.now() - booted) / 1000).toFixed(1)} s; ${requests.length} proxied requests`);
  }, BOOT_TIMEOUT);

  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  it("boots main and every worker of the plan from the rendered files", () => {
    const expected = Object.values(thePlan.synapse.workers).reduce((n, w) => n + (w.autoscaled ? copies(w) : w.replicas), 0);
    expect(fleet.processes).toHaveLength(expected);
    for (const p of fleet.processes) expect(fleet.services.running(p.name!), p.name).toBe(true);
    const types = new Set(fleet.processes.map((p) => p.type));
    for (const w of Object.values(thePlan.synapse.workers)) if (w.replicas > 0) expect(types.has(w.type), w.type).toBe(true);
  });

  it("the rendered HAProxy config passes haproxy -c", () => {
    const check = spawnSync("haproxy", ["-c", "-f", join(fleet.configDir, "haproxy.cfg")], { encoding: "utf8" });
    expect(check.status, check.stderr).toBe(0);
  });

  it("the client session works end to end: messages reach the other user, media round-trips", () => {
    expect(scenario.bobSaw).toEqual(expect.arrayContaining(["hello 0", "hello 1", "hello 2"]));
    expect(scenario.members).toEqual(["@alice:matrix.test", "@bob:matrix.test"]);
    expect((scenario.media as { roundTrip: boolean }).roundTrip).toBe(true);
    expect([scenario.keysUpload, scenario.keysQuery]).toEqual([200, 200]);
    expect(scenario.typing).toBe("RoomTypingResponse");
    expect(scenario.receipt).toBe("UpdateReceiptMarkerResponse");
  });

  it("uploaded media is stored in the object store by the S3 storage provider before the upload returns", () => {
    const mediaId = (scenario.media as { uri: string }).uri.split("/").pop()!;
    const objects = fleet.minio.s3("list", MEDIA_BUCKET);
    expect(objects).toMatch(new RegExp(`local_content/\\w+/\\w+/${mediaId.slice(4)} 1600`));
  });

  it.each(EXPECTED)("%s %s → backend %s on a %s process", (method, path, backend, type) => {
    const matching = requests.filter((r) => r.method === method && path.test(r.path));
    expect(matching.length, `${method} ${path} was never proxied`).toBeGreaterThan(0);
    for (const r of matching) {
      expect(r.backend).toBe(backend);
      expect(typeOf(r.server), r.server).toBe(type);
      expect(r.status).toBe(200);
    }
  });

  it("stream-writer endpoints reach the instance the plan names as that stream's writer", () => {
    const writerOf = (stream: string) => thePlan.synapse.streamWriters[stream as keyof typeof thePlan.synapse.streamWriters]!;
    for (const r of requests.filter((x) => x.backend.startsWith("stream_"))) {
      expect(writerOf(r.backend.slice("stream_".length)), r.path).toContain(r.server);
    }
  });

  it("each proxied request is in the access log of the process HAProxy chose", () => {
    for (const r of requests.filter((x) => x.status === 200 && x.server !== "main" && typeOf(x.server))) {
      expect(fleet.services.log(r.server), `${r.method} ${r.path} on ${r.server}`).toContain(`${r.method} ${r.path}`);
    }
  });

  it("sync: initial syncs (no since) go to the initial-sync backend, incremental ones stick to one synchrotron per user", () => {
    const syncs = requests.filter((r) => r.path === "/_matrix/client/v3/sync");
    const initial = syncs.filter((r) => !/(^|&)since=/.test(r.query));
    const incremental = syncs.filter((r) => /(^|&)since=/.test(r.query));
    expect(initial.length).toBeGreaterThanOrEqual(2);
    expect(incremental.length).toBeGreaterThanOrEqual(4);
    for (const r of initial) expect([r.backend, typeOf(r.server)]).toEqual(["sync_initial", "synchrotron"]);
    for (const r of incremental) expect([r.backend, typeOf(r.server)]).toEqual(["sync", "synchrotron"]);
    const tokens = scenario.tokens as Record<string, string>;
    for (const [who, token] of Object.entries(tokens)) {
      const userPart = token.split("_")[1]!;
      const servers = new Set(incremental.filter((r) => r.user === userPart).map((r) => r.server));
      expect(servers.size, `${who}'s syncs went to ${[...servers].join(", ")}`).toBe(1);
    }
  });

  it("the replication listener is not reachable through the proxy", () => {
    expect(scenario.replicationStatus).toBe(404);
    const replication = requests.filter((r) => r.path.startsWith("/_synapse/replication"));
    expect(replication.every((r) => r.server === "<NOSRV>" && r.status === 404)).toBe(true);
  });
});
