/**
 * The rendered Synapse configuration booted for real: PostgreSQL, Redis, main and every worker
 * from the rendered files, HAProxy with the rendered routing, driven by a Matrix client (nio).
 * Each fleet runs at least two of every balanced or sharded type (synchrotrons, generic workers,
 * event persisters, stream writers, media repositories), so stickiness and per-writer routing
 * are checked where a wrong balance or a wrong writer would show.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSettings, plan } from "../../sizing";
import type { WorkerType } from "../../sizing/settings";
import type { Plan, SynapseStream, WorkerPlan } from "../../sizing/types";
import { MEDIA_BUCKET } from "../../components/naming";
import { STREAM_ROUTES } from "../../components/synapse/routing";
import { waitFor } from "./harness";
import { bootFleet, parseJsonLog, persisterOf, reducedTier, runScenario, type AccessLine, type Fleet, type ProxiedRequest } from "./synapse-fleet";

const BOOT_TIMEOUT = 900_000;
const SERVER_NAME = "matrix.test";

/** The client scenario registers users through the admin API: it is allowed from 127.0.0.1 only. */
const ADMIN_FROM = "127.0.0.1";
const ELSEWHERE = "127.0.0.2";

function tierPlan(ccu: number): Plan {
  return plan(parseSettings({ ccu, serverName: SERVER_NAME, edge: { adminCidrs: [`${ADMIN_FROM}/32`] } }));
}

/** Types HAProxy balances over (by user, by room, round robin) or Synapse shards a stream over. */
const BALANCED_OR_SHARDED: WorkerType[] = ["synchrotron", "generic", "eventPersister", "streamWriter", "mediaRepository"];
const TWO_OF_EACH = Object.fromEntries(BALANCED_OR_SHARDED.map((t) => [t, 2]));

/** Client users: enough that the user hash spreads them over two synchrotrons and two device-list writers. */
const USERS = ["alice", "bob", "carol", "dave"];

/** What each client request must reach: [method, path, backend, worker type]. */
const EXPECTED: [string, RegExp, string, WorkerType][] = [
  ["POST", /^\/_synapse\/admin\/v1\/register$/, "main", "main"],
  ["POST", /^\/_matrix\/client\/v3\/login$/, "client", "generic"],
  ["POST", /^\/_matrix\/client\/v3\/createRoom$/, "client", "generic"],
  ["POST", /^\/_matrix\/client\/v3\/join\//, "client_room", "generic"],
  ["PUT", /\/rooms\/[^/]+\/send\/m\.room\.message\//, "client_room", "generic"],
  ["PUT", /\/rooms\/[^/]+\/state\/m\.room\.topic/, "client_room", "generic"],
  ["GET", /\/rooms\/[^/]+\/messages$/, "client_room", "generic"],
  ["PUT", /\/rooms\/[^/]+\/typing\//, "stream_typing", "streamWriter"],
  ["POST", /\/rooms\/[^/]+\/receipt\//, "stream_receipts", "streamWriter"],
  ["POST", /\/rooms\/[^/]+\/read_markers$/, "stream_receipts", "streamWriter"],
  ["PUT", /^\/_matrix\/client\/v3\/sendToDevice\//, "stream_to_device", "streamWriter"],
  ["PUT", /^\/_matrix\/client\/v3\/user\/[^/]+\/account_data\//, "stream_account_data", "streamWriter"],
  ["PUT", /^\/_matrix\/client\/v3\/user\/[^/]+\/rooms\/[^/]+\/tags\//, "stream_account_data", "streamWriter"],
  ["PUT", /^\/_matrix\/client\/v3\/presence\/[^/]+\/status$/, "stream_presence", "streamWriter"],
  ["GET", /^\/_matrix\/client\/v3\/pushrules\/$/, "stream_push_rules", "streamWriter"],
  ["POST", /^\/_matrix\/media\/v3\/upload$/, "media_upload", "mediaRepository"],
  ["GET", /^\/_matrix\/client\/v1\/media\/download\//, "media", "mediaRepository"],
  ["POST", /^\/_synapse\/admin\/v1\/media\/quarantine\//, "media", "mediaRepository"],
  ["POST", /^\/_matrix\/client\/v3\/keys\/upload$/, "stream_device_lists", "streamWriter"],
  ["POST", /^\/_matrix\/client\/v3\/keys\/query$/, "client", "generic"],
  ["GET", /\/rooms\/[^/]+\/joined_members$/, "client", "generic"],
];

const isInitialSync = (r: ProxiedRequest) => !/(^|&)since=/.test(r.query) || /(^|&)full_state=true(&|$)/.test(r.query);
/** The room id HAProxy hashes on: the path segment after /rooms/, decoded. */
const roomOf = (r: ProxiedRequest) => {
  const m = /\/rooms\/([^/]+)\//.exec(r.path);
  return m ? decodeURIComponent(m[1]!) : undefined;
};
/** The user HAProxy hashes on: the localpart in the access token (base64). */
const userOf = (r: ProxiedRequest) => (r.user === "-" ? undefined : Buffer.from(r.user, "base64").toString("utf8"));

/** `key → servers` of the requests that have a key. */
function serversByKey(rs: ProxiedRequest[], key: (r: ProxiedRequest) => string | undefined): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of rs) {
    const k = key(r);
    if (k !== undefined) out.set(k, (out.get(k) ?? new Set()).add(r.server));
  }
  return out;
}

/** The longest run of back-to-back requests (in HAProxy's order) with the same key, per key. */
function longestRuns(rs: ProxiedRequest[], key: (r: ProxiedRequest) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  let previous: string | undefined;
  let run = 0;
  for (const r of rs) {
    const k = key(r);
    run = k !== undefined && k === previous ? run + 1 : 1;
    previous = k;
    if (k !== undefined) out.set(k, Math.max(out.get(k) ?? 0, run));
  }
  return out;
}

const mxid = (localpart: string) => `@${localpart}:${SERVER_NAME}`;
/** The request target as Synapse logs it (SynapseRequest.get_redacted_uri). */
const redactedUri = (r: ProxiedRequest) => r.path + (r.query ? `?${r.query.replace(/(^|&)(access_token|client_secret)=[^&]*/g, "$1$2=<redacted>")}` : "");

describe.each([
  ["100-CCU tier, every replica", () => tierPlan(100)],
  ["20K-CCU tier, two of each balanced or sharded type, one of the rest", () => reducedTier(tierPlan(20_000), TWO_OF_EACH)],
])("Synapse fleet: %s", (label, makePlan) => {
  const thePlan = makePlan();
  const copies = (w: WorkerPlan) => w.replicas;
  const writersOf = (stream: SynapseStream) => thePlan.synapse.streamWriters[stream] ?? [];
  let fleet: Fleet;
  let scenario: Record<string, unknown>;
  let requests: ProxiedRequest[];
  const typeOf = (server: string) => fleet.processes.find((p) => p.name === server)?.type;
  const namesOf = (type: WorkerType) => fleet.processes.filter((p) => p.type === type).map((p) => p.name!);
  const onBackend = (backend: string) => requests.filter((r) => r.backend === backend);
  const metricsOf = async (name: string) => (await fetch(`http://127.0.0.1:${fleet.metricsPort(name)}/_synapse/metrics`)).text();

  beforeAll(async () => {
    const started = Date.now();
    fleet = await bootFleet(thePlan, copies, "synapse-fleet");
    const booted = Date.now();
    scenario = await runScenario(fleet, {
      users: USERS,
      spread: { client_room: namesOf("generic").length, stream_receipts: writersOf("receipts").length, media: namesOf("mediaRepository").length },
      eventPersisters: writersOf("events").length,
      maxRooms: 16,
    });
    // HAProxy writes its log asynchronously: wait for the scenario's last request.
    requests = await waitFor("HAProxy to log the last request", async () => {
      const logged = fleet.requests();
      return logged.some((r) => r.path.startsWith("/_synapse/replication")) ? logged : undefined;
    }, 10_000);
    console.log(
      `${label}: ${fleet.processes.length} Synapse processes booted in ${((booted - started) / 1000).toFixed(1)} s; client session ${((Date.now() - booted) / 1000).toFixed(1)} s; ` +
        `${requests.length} proxied requests, ${(scenario.rooms as string[]).length} rooms`,
    );
  }, BOOT_TIMEOUT);

  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  it("boots main and every worker of the plan from the rendered files, at least two of each balanced or sharded type", () => {
    const expected = Object.values(thePlan.synapse.workers).reduce((n, w) => n + (w.autoscaled ? copies(w) : w.replicas), 0);
    expect(fleet.processes).toHaveLength(expected);
    for (const p of fleet.processes) expect(fleet.services.running(p.name!), p.name).toBe(true);
    const types = new Set(fleet.processes.map((p) => p.type));
    for (const w of Object.values(thePlan.synapse.workers)) if (w.replicas > 0) expect(types.has(w.type), w.type).toBe(true);
    for (const type of BALANCED_OR_SHARDED) expect(namesOf(type).length, type).toBeGreaterThanOrEqual(2);
    for (const stream of ["events", "receipts", "device_lists", "quarantined_media_changes"] as const) expect(writersOf(stream).length, stream).toBeGreaterThanOrEqual(2);
  });

  it("the rendered HAProxy config passes haproxy -c", () => {
    const check = spawnSync("haproxy", ["-c", "-f", join(fleet.configDir, "haproxy.cfg")], { encoding: "utf8" });
    expect(check.status, check.stderr).toBe(0);
  });

  it("the client session works end to end: messages reach the other users, media round-trips", () => {
    expect(scenario.bobSaw).toEqual(expect.arrayContaining(["hello 0", "hello 1", "hello 2"]));
    expect(scenario.members).toEqual(USERS.map(mxid).sort());
    expect((scenario.media as { roundTrip: boolean }).roundTrip).toBe(true);
    expect([scenario.keysUpload, scenario.keysQuery]).toEqual([[200], 200]);
    expect(scenario.typing).toBe("RoomTypingResponse");
    expect(scenario.receipt).toBe("UpdateReceiptMarkerResponse");
    expect([scenario.toDevice, scenario.accountData, scenario.tags, scenario.presence, scenario.pushRules]).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(Object.values(scenario.quarantined as Record<string, number>))).toEqual(new Set([200]));
  });

  it("every process logs one JSON object per line (log, namespace, level, time), at the plan's level, requests tagged", () => {
    for (const p of fleet.processes) {
      const { records, other } = parseJsonLog(fleet.services.log(p.name!));
      expect(other, `${p.name}: lines that are not JSON`).toEqual([]);
      expect(records.length, p.name).toBeGreaterThan(10);
      for (const r of records) {
        expect(typeof r.namespace).toBe("string");
        expect(typeof r.time).toBe("number");
      }
      const levels = new Set(records.map((r) => r.level));
      const level = thePlan.synapse.workers[p.type].logLevel;
      expect(level).toBe("INFO");
      expect(levels.has("DEBUG"), `${p.name} logs below ${level}`).toBe(false);
      expect(levels.has("INFO"), p.name).toBe(true);
    }
    // A request's lines carry its id (the LoggingContextFilter).
    const main = parseJsonLog(fleet.services.log(namesOf("main")[0]!)).records;
    expect(main.some((r) => r.namespace.startsWith("synapse.access.http.") && /^(GET|POST|PUT)-\d+$/.test(r.request ?? ""))).toBe(true);
  });

  it("each process sizes its caches with its own factor: a cache's limit over main's is the ratio of their factors", async () => {
    const limits = async (name: string) => {
      const text = await metricsOf(name);
      return new Map([...text.matchAll(/^synapse_util_caches_cache_max_size\{name="([^"]+)"[^}]*\} ([\d.e+]+)$/gm)].map(([, cache, size]) => [cache!, Number(size)]));
    };
    const main = await limits(namesOf("main")[0]!);
    const mainFactor = thePlan.synapse.workers.main.cacheFactor;
    const checked: string[] = [];
    for (const p of fleet.processes.filter((x) => x.type !== "main")) {
      const own = await limits(p.name!);
      const shared = [...own.keys()].filter((c) => main.has(c));
      // Caches that scale with the factor: their limits keep the ratio of the two processes' factors.
      const ratio = thePlan.synapse.workers[p.type].cacheFactor / mainFactor;
      const scaled = shared.filter((c) => Math.abs(own.get(c)! / main.get(c)! - ratio) < 0.02);
      expect(scaled.length, `${p.name}: factor ${thePlan.synapse.workers[p.type].cacheFactor} against main's ${mainFactor}`).toBeGreaterThan(shared.length / 2);
      checked.push(`${p.type} ${thePlan.synapse.workers[p.type].cacheFactor}: ${scaled.length}/${shared.length}`);
    }
    console.log(`${label}: cache limits over main's (factor ${mainFactor}) per process: ${checked.join("; ")}`);
  });

  it("every process runs on jemalloc, which cache autotuning reads, and is below the plan's eviction threshold", async () => {
    for (const p of fleet.processes) {
      const text = await metricsOf(p.name!);
      const allocated = /^jemalloc_stats_app_memory_bytes\{type="allocated"\} ([\d.e+]+)$/m.exec(text);
      expect(allocated, `${p.name}: no jemalloc statistics`).not.toBeNull();
      expect(Number(allocated![1]) / 2 ** 20, p.name).toBeLessThan(thePlan.synapse.workers[p.type].cacheMemory.maxMiB);
    }
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

  it("each stream's endpoints reach only that stream's writers, and every writer of the stream is reached", () => {
    const streams = Object.keys(STREAM_ROUTES) as SynapseStream[];
    for (const stream of streams) {
      const patterns = STREAM_ROUTES[stream]!.map((p) => new RegExp(p));
      const owned = requests.filter((r) => patterns.some((p) => p.test(r.path)));
      expect(owned.length, `no ${stream} request`).toBeGreaterThan(0);
      for (const r of owned) {
        expect(r.backend, `${r.method} ${r.path}`).toBe(`stream_${stream}`);
        expect(writersOf(stream), `${r.method} ${r.path} on ${r.server}`).toContain(r.server);
      }
      expect(new Set(owned.map((r) => r.server)), stream).toEqual(new Set(writersOf(stream)));
    }
  });

  /** Hash-balanced backends: [backend, what it hashes on, the key of a request, the processes it balances over]. */
  const HASHED: [string, string, (r: ProxiedRequest) => string | undefined, () => string[]][] = [
    ["sync", "user", userOf, () => namesOf("synchrotron")],
    ["sync_initial", "user", userOf, () => namesOf("synchrotron")],
    ["client_room", "room", roomOf, () => namesOf("generic")],
    ["stream_receipts", "room", roomOf, () => writersOf("receipts")],
    ["stream_device_lists", "user", userOf, () => writersOf("device_lists")],
  ];

  it.each(HASHED)("%s: each %s sticks to one server (back-to-back requests included), and the keys spread over every server", (backend, _key, keyOf, members) => {
    const servers = members();
    expect(servers.length).toBeGreaterThanOrEqual(2);
    const rs = onBackend(backend);
    const byKey = serversByKey(rs, keyOf);
    expect(byKey.size, `${backend} keys`).toBeGreaterThanOrEqual(2);
    // Traffic a non-sticky balance would split: every key has a run of back-to-back requests
    // at least as long as the server list (round robin would give each a different server).
    const runs = longestRuns(rs, keyOf);
    for (const [k, run] of runs) expect(run, `${backend} ${k}: longest back-to-back run`).toBeGreaterThanOrEqual(servers.length);
    for (const [k, on] of byKey) expect([...on], `${backend} ${k}`).toHaveLength(1);
    const used = new Set([...byKey.values()].flatMap((s) => [...s]));
    expect(used, `${backend} servers used`).toEqual(new Set(servers));
  });

  it("client_room: joins by room id (/join/{roomId}, room-pinned in the routing table) reach the worker the room's other requests are pinned to", () => {
    const pinned = serversByKey(onBackend("client_room"), roomOf);
    const joins = serversByKey(onBackend("client_room").filter((r) => /\/join\/[^/]+$/.test(r.path)), (r) => decodeURIComponent(r.path.split("/").pop()!));
    expect(joins.size).toBeGreaterThanOrEqual(2);
    for (const [room, servers] of joins) expect([...servers], `joins of ${room}`).toEqual([...(pinned.get(room) ?? [])]);
  });

  it("sync: initial syncs (no since, or full_state) go to the initial-sync backend, incremental ones to the sync backend, both on synchrotrons", () => {
    const syncs = requests.filter((r) => r.path === "/_matrix/client/v3/sync");
    const initial = syncs.filter(isInitialSync);
    const incremental = syncs.filter((r) => !isInitialSync(r));
    expect(initial.length).toBeGreaterThanOrEqual(2 * USERS.length);
    expect(incremental.length).toBeGreaterThanOrEqual(3 * USERS.length);
    for (const r of initial) expect([r.backend, typeOf(r.server)]).toEqual(["sync_initial", "synchrotron"]);
    for (const r of incremental) expect([r.backend, typeOf(r.server)]).toEqual(["sync", "synchrotron"]);
    // The stickiness key is each user's own: every user's syncs carry their token's localpart.
    expect(new Set(syncs.map(userOf))).toEqual(new Set(USERS));
  });

  it("events are persisted by the event persister Synapse shards each room to (the events table's instance_name), and every persister persists some", () => {
    // The writers as the processes read them: the rendered shared config's stream_writers, each in instance_map.
    const shared = parseYaml(readFileSync(join(fleet.configDir, "shared.yaml"), "utf8")) as { stream_writers: Record<string, string[]>; instance_map: Record<string, unknown> };
    const persisters = shared.stream_writers.events!;
    expect(persisters).toEqual(writersOf("events"));
    for (const p of persisters) expect(Object.keys(shared.instance_map), p).toContain(p);
    const rows = fleet.sql("SELECT room_id, instance_name, count(*) FROM events GROUP BY room_id, instance_name").split("\n").map((l) => l.split("|"));
    const rooms = scenario.rooms as string[];
    for (const room of rooms) expect(rows.some(([r]) => r === room), `no events in ${room}`).toBe(true);
    for (const [room, instance] of rows) expect(instance, `events of ${room}`).toBe(persisterOf(room!, persisters));
    expect(new Set(rows.map(([, instance]) => instance))).toEqual(new Set(persisters));
  });

  it("receipts are written by the receipts writer HAProxy sent the room's receipts to (receipts_linearized.instance_name)", () => {
    const chosen = serversByKey(onBackend("stream_receipts"), roomOf);
    const rows = fleet.sql("SELECT room_id, user_id, instance_name FROM receipts_linearized").split("\n").map((l) => l.split("|"));
    expect(new Set(rows.map(([room]) => room))).toEqual(new Set(scenario.rooms as string[]));
    for (const [room, user, instance] of rows) expect([instance], `${user}'s receipt in ${room}`).toEqual([...chosen.get(room!)!]);
  });

  it("quarantine changes are written by the media repository HAProxy sent each quarantine to (quarantined_media_changes.instance_name), every media writer some", () => {
    const quarantined = Object.keys(scenario.quarantined as Record<string, number>);
    const chosen = new Map(onBackend("media").filter((r) => r.path.includes("/media/quarantine/")).map((r) => [r.path.split("/").pop()!, r.server]));
    const rows = fleet.sql("SELECT media_id, instance_name FROM quarantined_media_changes WHERE quarantined").split("\n").map((l) => l.split("|"));
    expect(rows.map(([media]) => media).sort()).toEqual([...quarantined].sort());
    for (const [media, instance] of rows) expect(instance, media).toBe(chosen.get(media!));
    expect(new Set(rows.map(([, instance]) => instance))).toEqual(new Set(writersOf("quarantined_media_changes")));
  });

  it("each proxied request is a request line in the log of the process HAProxy chose, with HAProxy's status and the token's user", () => {
    const proxied = requests.filter((r) => r.status > 0 && typeOf(r.server));
    expect(proxied.length).toBeGreaterThan(50);
    const key = (method: string, uri: string, status: string) => `${method} ${uri} ${status}`;
    for (const server of new Set(proxied.map((r) => r.server))) {
      // The public listener's request lines only (replication traffic between processes is logged too).
      const lines = fleet.accessLog(server).filter((l) => l.port === fleet.httpPort(server));
      const logged = new Map<string, AccessLine[]>();
      for (const l of lines) logged.set(key(l.method, l.uri, l.status), [...(logged.get(key(l.method, l.uri, l.status)) ?? []), l]);
      const wanted = new Map<string, ProxiedRequest[]>();
      for (const r of proxied.filter((x) => x.server === server)) {
        const k = key(r.method, redactedUri(r), String(r.status));
        wanted.set(k, [...(wanted.get(k) ?? []), r]);
      }
      for (const [k, rs] of wanted) {
        const found = logged.get(k) ?? [];
        expect(found.length, `${k} on ${server}: request lines`).toBe(rs.length);
        const users = rs.map(userOf).filter((u) => u !== undefined);
        for (const u of new Set(users)) expect(found.filter((l) => l.requester === mxid(u)).length, `${k} on ${server} by ${u}`).toBe(users.filter((x) => x === u).length);
      }
    }
  });

  /** HAProxy's log from `since` on, once it holds a request for `path`. */
  const loggedAfter = (since: number, path: RegExp, count: number) =>
    waitFor(`HAProxy to log ${count} × ${path}`, async () => {
      const logged = fleet.requests().slice(since).filter((r) => path.test(r.path));
      return logged.length >= count ? logged : undefined;
    }, 10_000);

  it("the edge: HTTP only redirects to HTTPS; HTTPS with the test CA's certificate and HSTS; both well-known documents", async () => {
    const redirect = await fleet.request("GET", "/_matrix/client/versions", { plain: true });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toMatch(/^https:\/\/[^/]+\/_matrix\/client\/versions$/);
    const versions = await fleet.request("GET", "/_matrix/client/versions");
    expect(versions.status).toBe(200);
    expect((JSON.parse(versions.body) as { versions: string[] }).versions).toContain("v1.11");
    expect(versions.headers["strict-transport-security"]).toBe("max-age=31536000");
    // Federation finds this server on 443 through the server well-known (spec: server discovery).
    const server = await fleet.request("GET", "/.well-known/matrix/server");
    expect([server.status, JSON.parse(server.body)]).toEqual([200, { "m.server": `${SERVER_NAME}:443` }]);
    // HSTS on HAProxy's own answers too (the well-known and a refusal).
    expect(server.headers["strict-transport-security"]).toBe("max-age=31536000");
    expect((await fleet.request("GET", "/_synapse/admin/v1/server_version", { from: ELSEWHERE })).headers["strict-transport-security"]).toBe("max-age=31536000");
    const client = await fleet.request("GET", "/.well-known/matrix/client");
    expect((JSON.parse(client.body) as Record<string, { base_url: string }>)["m.homeserver"]!.base_url).toBe(`https://${SERVER_NAME}`);
    // A client that does not trust the test CA cannot connect.
    await expect(fetch(`${fleet.baseUrl}/_matrix/client/versions`)).rejects.toThrow();
  });

  it("a forged X-Forwarded-For is replaced: Synapse records the address the client really connected from", async () => {
    const probe = `probe=${randomBytes(6).toString("hex")}`;
    const response = await fleet.request("GET", `/_matrix/client/versions?${probe}`, { from: "127.0.0.3", headers: { "X-Forwarded-For": "203.0.113.9" } });
    expect(response.status).toBe(200);
    const lines = await waitFor("Synapse to log the probe", async () => {
      const found = fleet.processes.flatMap((p) => fleet.accessLog(p.name!)).filter((l) => l.uri.endsWith(probe));
      return found.length ? found : undefined;
    }, 10_000);
    expect(lines.map((l) => l.ip)).toEqual(["127.0.0.3"]);
  });

  it("the admin API answers only from edge.adminCidrs, however its path is spelled or whatever X-Forwarded-For says", async () => {
    const version = "/_synapse/admin/v1/server_version";
    const encoded = "/_synapse/%61dmin/v1/server_version";
    expect((await fleet.request("GET", version, { from: ADMIN_FROM })).status).toBe(200);
    // Synapse matches the raw path (the encoded spelling is not its admin API); HAProxy refuses it anyway.
    expect((await fleet.request("GET", encoded, { from: ADMIN_FROM })).status).toBe(404);
    expect((await fleet.request("GET", version, { from: ELSEWHERE })).status).toBe(403);
    expect((await fleet.request("GET", encoded, { from: ELSEWHERE })).status).toBe(403);
    expect((await fleet.request("GET", version, { from: ELSEWHERE, headers: { "X-Forwarded-For": ADMIN_FROM } })).status).toBe(403);
  });

  it("sliding sync (Element X) lands on a synchrotron, the user's own /sync synchrotron every time", async () => {
    const since = fleet.requests().length;
    const slidingSync = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";
    for (const user of USERS) {
      const login = await fleet.request("POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password: "correct horse battery staple" },
      });
      expect(login.status, login.body).toBe(200);
      const token = (JSON.parse(login.body) as { access_token: string }).access_token;
      for (let i = 0; i < 3; i++) {
        const r = await fleet.request("POST", `${slidingSync}?timeout=0`, { headers: { Authorization: `Bearer ${token}` }, body: { lists: { all: { ranges: [[0, 5]], required_state: [], timeline_limit: 1 } } } });
        expect(r.status, r.body).toBe(200);
      }
    }
    const sliding = await loggedAfter(since, /simplified_msc3575\/sync$/, 3 * USERS.length);
    expect(sliding).toHaveLength(3 * USERS.length);
    for (const r of sliding) expect([r.backend, typeOf(r.server)]).toEqual(["sync", "synchrotron"]);
    const syncServer = serversByKey(onBackend("sync"), userOf);
    for (const [user, servers] of serversByKey(sliding, userOf)) expect([...servers], user).toEqual([...syncServer.get(user)!]);
  });

  it("tokens never reach HAProxy's log: other token formats stick by a hash of the token, query tokens are redacted", async () => {
    const since = fleet.requests().length;
    const token = `mat_${randomBytes(16).toString("hex")}`;
    for (let i = 0; i < 3; i++) expect((await fleet.request("GET", "/_matrix/client/v3/sync?since=s0_0&timeout=0", { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await fleet.request("GET", `/_matrix/client/v3/sync?timeout=0&access_token=${token}`)).status).toBe(401);
    const logged = await loggedAfter(since, /^\/_matrix\/client\/v3\/sync$/, 4);
    expect(logged).toHaveLength(4);
    const key = createHash("sha256").update(token).digest("hex").slice(0, 16).toUpperCase();
    expect(new Set(logged.map((r) => r.user))).toEqual(new Set([key]));
    const incremental = logged.filter((r) => r.backend === "sync");
    expect(incremental).toHaveLength(3);
    expect(new Set(incremental.map((r) => r.server)).size).toBe(1);
    expect(logged.at(-1)!.query).toBe("timeout=0&access_token=redacted");
    // The other secrets Synapse takes in a query (3PID validation, registration tokens), and a name Synapse would decode.
    const secrets = { client: randomBytes(8).toString("hex"), sid: randomBytes(8).toString("hex"), token: randomBytes(8).toString("hex") };
    await fleet.request("GET", `/_synapse/client/password_reset/email/submit_token?token=${secrets.token}&client_secret=${secrets.client}&sid=${secrets.sid}`);
    await fleet.request("GET", `/_matrix/client/v3/sync?timeout=0&access%5Ftoken=${token}`);
    const later = await loggedAfter(since, /^\/_synapse\/client\/password_reset\/email\/submit_token$|^\/_matrix\/client\/v3\/sync$/, 6);
    expect(later.find((r) => r.path.includes("password_reset"))!.query).toBe("token=redacted&client_secret=redacted&sid=redacted");
    expect(later.at(-1)!.query).toBe("redacted");
    const raw = readFileSync(fleet.haproxyLogPath, "utf8");
    for (const secret of [token, ...Object.values(secrets)]) expect(raw).not.toContain(secret);
    expect(raw).not.toMatch(/syt_[A-Za-z0-9]+_[A-Za-z0-9]+/);
  });

  it("the replication listener is not reachable through the proxy", () => {
    expect(scenario.replicationStatus).toBe(404);
    const replication = requests.filter((r) => r.path.startsWith("/_synapse/replication"));
    expect(replication.every((r) => r.server === "<NOSRV>" && r.status === 404)).toBe(true);
  });
});
