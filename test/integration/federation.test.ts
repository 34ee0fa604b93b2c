/**
 * Two deployments federate: two server names, each with its own fleet booted from the program's
 * rendered files (PostgreSQL, Redis, MinIO, main and one process of every worker type, HAProxy with
 * the rendered routing and TLS), both certificates issued by one test CA. A user on A creates a
 * public room, a user on B joins it over federation, messages go both ways, and the logs witness
 * the path: each side's federation sender sent the transactions, the other side's HAProxy routed
 * them to a generic worker that logged receiving them, and every server found the other through
 * `/.well-known/matrix/server` served by the other side's HAProxy.
 *
 * Loopback only: A's HAProxy listens on 127.0.0.11:443 and B's on 127.0.0.12:443; the names resolve
 * through a hosts file of the test's own, bind-mounted over /etc/hosts in a private mount
 * namespace of each Synapse process (nothing on the machine is changed).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseSettings, plan } from "../../sizing";
import type { Plan } from "../../sizing/types";
import { MEDIA_BUCKET } from "../../components/naming";
import { renderRemoteMediaSweep, SWEEP_BATCH, SWEEP_REFUSED } from "../../components/synapse/remote-media";
import { PYTHON, waitFor } from "./harness";
import { bootFleet, clientCall, makeTestCa, reducedTier, registerUser, type Fleet, type TestCa } from "./synapse-fleet";

const BOOT_TIMEOUT = 1_200_000;
/** The admin API (shared-secret registration) answers only from here (edge.adminCidrs). */
const ADMIN_FROM = "127.0.0.1";
const PASSWORD = "correct horse battery staple";
const ROUNDS = 3;
/** A round trip (A → B, then B → A) on two shared cores under a parallel test: generous. */
const ROUND_TRIP_BOUND_MS = 30_000;
/** A made-up origin whose objects cross the sweep's listing pages and deletion batches (SWEEP_BATCH each). */
const SYNTHETIC_ORIGIN = "c.matrix.test";
/** Every fifth recorded: 2,000 unrecorded, two full deletion batches. */
const SYNTHETIC = 2 * SWEEP_BATCH + SWEEP_BATCH / 2;

interface Side {
  key: "A" | "B";
  serverName: string;
  address: string;
  localpart: string;
}

const A: Side = { key: "A", serverName: "a.matrix.test", address: "127.0.0.11", localpart: "alice" };
const B: Side = { key: "B", serverName: "b.matrix.test", address: "127.0.0.12", localpart: "bob" };
const SIDES = [A, B] as const;
const other = (side: Side) => (side === A ? B : A);
const mxid = (side: Side) => `@${side.localpart}:${side.serverName}`;

/** The 100-CCU tier's configuration for one server name, one process of each type (two cores). */
function sidePlan(side: Side): Plan {
  return reducedTier(plan(parseSettings({ ccu: 100, serverName: side.serverName, edge: { adminCidrs: [`${ADMIN_FROM}/32`] } })), {});
}

/**
 * Test-only Synapse settings (merged into the shared homeserver config), for federating on
 * loopback with a test CA; none of them is rendered by the program.
 */
function testOnlyFederationSettings(ca: TestCa): Record<string, unknown> {
  return {
    // Trust the test CA (and only it) for federation, the .well-known fetch included.
    federation_custom_ca_list: [ca.certificate],
    // Certificates are verified (Synapse's default, stated so a reader need not look it up).
    federation_verify_certificates: true,
    // Synapse refuses loopback destinations by default (ip_range_blacklist); the servers are on 127.0.0.11/12.
    ip_range_whitelist: ["127.0.0.0/8"],
    // Fetch each server's signing keys from that server, not from matrix.org (the default notary).
    trusted_key_servers: [],
  };
}

/**
 * Runs a Synapse process in a private mount namespace in which /etc/hosts is the test's file.
 * bootFleet runs `prefix[0] prefix[1..] PYTHON args…`: `sh -c` gets PYTHON as $0, its args as $@.
 */
const privateHosts = (hostsFile: string) => ["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount --bind '${hostsFile}' /etc/hosts && exec "$0" "$@"`];

interface Account {
  side: Side;
  fleet: Fleet;
  userId: string;
  token: string;
  since?: string;
}

interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  content: { body?: string; membership?: string };
}

const call = <T = Record<string, unknown>>(fleet: Fleet, method: string, path: string, token?: string, body?: unknown) => clientCall<T>(fleet, method, path, { from: ADMIN_FROM, token, body });

async function register(side: Side, fleet: Fleet): Promise<Account> {
  return { side, fleet, ...(await registerUser(fleet, side.localpart, PASSWORD, ADMIN_FROM)) };
}

const SYNC_FILTER = encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 50 } }, presence: { types: [] }, account_data: { types: [] } }));

/** One /sync (long-polling `timeoutMs` once there is a since token); the timeline events of `room`. */
async function sync(account: Account, room: string, timeoutMs: number): Promise<RoomEvent[]> {
  const since = account.since ? `&since=${encodeURIComponent(account.since)}` : "";
  const r = await call<{ next_batch: string; rooms?: { join?: Record<string, { timeline?: { events?: RoomEvent[] } }> } }>(
    account.fleet,
    "GET",
    `/_matrix/client/v3/sync?filter=${SYNC_FILTER}&timeout=${timeoutMs}${since}`,
    account.token,
  );
  account.since = r.next_batch;
  return r.rooms?.join?.[room]?.timeline?.events ?? [];
}

/** Long-polls /sync until the room's timeline shows an event `match` accepts; resolves with it and when it was seen. */
async function watchFor(account: Account, room: string, what: string, match: (e: RoomEvent) => boolean, timeoutMs: number): Promise<{ event: RoomEvent; at: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = (await sync(account, room, 10_000)).find(match);
    if (found) return { event: found, at: performance.now() };
  }
  throw new Error(`${account.userId} did not see ${what} within ${timeoutMs} ms`);
}

let txn = 0;
async function send(account: Account, room: string, body: string): Promise<string> {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/fed${Date.now()}-${txn++}`;
  return (await call<{ event_id: string }>(account.fleet, "PUT", path, account.token, { msgtype: "m.text", body })).event_id;
}

/** A message sent by `from`, timed until `to`'s client sees it (a long-poll /sync already waiting). */
async function deliver(from: Account, to: Account, room: string, body: string): Promise<{ eventId: string; seenId: string; sender: string; ms: number }> {
  const start = performance.now();
  const seen = watchFor(to, room, `"${body}"`, (e) => e.type === "m.room.message" && e.content.body === body, 60_000);
  const [eventId, { event, at }] = await Promise.all([send(from, room, body), seen]);
  return { eventId, seenId: event.event_id, sender: event.sender, ms: at - start };
}

/** `TX [<destination>] {<txn>} Sending transaction [<txn>], (PDUs: n, EDUs: m)` (TransactionManager.send_new_transaction). */
const SENDING = /TX \[([^\]]+)\] \{(\d+)\} Sending transaction \[(\d+)\], \(PDUs: (\d+), EDUs: (\d+)\)/;
/** `TX [<destination>] {<txn>} got 200 response`. */
const SENT = /TX \[([^\]]+)\] \{(\d+)\} got 200 response/;

interface Transaction {
  destination: string;
  id: string;
  pdus: number;
  edus: number;
}

function transactionsIn(log: string): { sending: Transaction[]; ok: Set<string> } {
  const lines = log.split("\n");
  const sending = lines.map((l) => SENDING.exec(l)).filter((m): m is RegExpExecArray => m !== null).map(([, destination, , id, pdus, edus]) => ({ destination: destination!, id: id!, pdus: Number(pdus), edus: Number(edus) }));
  const ok = new Set(lines.map((l) => SENT.exec(l)).filter((m): m is RegExpExecArray => m !== null).map(([, destination, id]) => `${destination} ${id}`));
  return { sending, ok };
}

const SEND_PATH = /^\/_matrix\/federation\/v1\/send\/([^/]+)\/?$/;

describe("Two deployments federate (a.matrix.test ⇄ b.matrix.test on loopback, TLS from one test CA)", () => {
  const work = mkdtempSync(join(tmpdir(), "federation-"));
  const hostsFile = join(work, "hosts");
  const fleets = new Map<Side, Fleet>();
  const accounts = new Map<Side, Account>();
  const fleetOf = (side: Side) => fleets.get(side)!;
  let room: string;
  let joined: string;
  const pings: Awaited<ReturnType<typeof deliver>>[] = [];
  const pongs: Awaited<ReturnType<typeof deliver>>[] = [];
  let failed = false;

  beforeAll(async () => {
    chmodSync(work, 0o755);
    writeFileSync(hostsFile, ["127.0.0.1 localhost", ...SIDES.map((s) => `${s.address} ${s.serverName}`), ""].join("\n"), { mode: 0o644 });
    const ca = makeTestCa(join(work, "ca"));
    const started = Date.now();
    try {
      // One after the other: each boot alone keeps the two cores busy.
      for (const side of SIDES) {
        fleets.set(
          side,
          await bootFleet(sidePlan(side), (w) => w.replicas, `federation-${side.key.toLowerCase()}`, {
            address: side.address,
            httpsPort: 443,
            ca,
            sharedOverlay: testOnlyFederationSettings(ca),
            prefix: privateHosts(hostsFile),
          }),
        );
      }
      const booted = Date.now();
      for (const side of SIDES) accounts.set(side, await register(side, fleetOf(side)));
      const alice = accounts.get(A)!;
      const bob = accounts.get(B)!;
      room = (await call<{ room_id: string }>(fleetOf(A), "POST", "/_matrix/client/v3/createRoom", alice.token, { preset: "public_chat", name: "federation" })).room_id;
      // Room version 12 ids carry no server name: B's server is told where to join through (server_name).
      joined = (
        await call<{ room_id: string }>(fleetOf(B), "POST", `/_matrix/client/v3/join/${encodeURIComponent(room)}?server_name=${A.serverName}`, bob.token, {})
      ).room_id;
      // Since tokens for both clients (initial syncs), then the timed exchanges.
      for (const account of [alice, bob]) await sync(account, room, 0);
      for (let i = 0; i < ROUNDS; i++) {
        pings.push(await deliver(alice, bob, room, `ping ${i} ${randomBytes(4).toString("hex")}`));
        pongs.push(await deliver(bob, alice, room, `pong ${i} ${randomBytes(4).toString("hex")}`));
      }
      const ms = (xs: { ms: number }[]) => xs.map((x) => x.ms.toFixed(0)).join(", ");
      console.log(
        `federation: two fleets (${SIDES.map((s) => `${s.serverName}: ${fleetOf(s).processes.length} Synapse processes`).join("; ")}) booted in ${((booted - started) / 1000).toFixed(1)} s; ` +
          `A→B delivery ${ms(pings)} ms; B→A delivery ${ms(pongs)} ms; round trips ${pings.map((p, i) => (p.ms + pongs[i]!.ms).toFixed(0)).join(", ")} ms`,
      );
    } catch (error) {
      failed = true;
      const logs = [...fleets.entries()].flatMap(([side, fleet]) =>
        fleet.processes.filter((p) => ["main", "generic", "federationSender"].includes(p.type)).map((p) => `--- ${side.key} ${p.name}\n${fleet.services.log(p.name!).slice(-2500)}`),
      );
      throw new Error(`${(error as Error).message}\nlogs kept in ${[...fleets.values()].map((f) => f.services.dir).join(", ")}\n${logs.join("\n")}`);
    }
  }, BOOT_TIMEOUT);

  afterEach(({ task }) => {
    if (task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    if (failed) console.log(`federation: logs kept in ${[...fleets.values()].map((f) => f.services.dir).join(", ")}`);
    for (const fleet of fleets.values()) await fleet.services.stopAll({ keepDir: failed });
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("each side is its own deployment: own fleet, own database, own HAProxy on its own address at 443", async () => {
    for (const side of SIDES) {
      const fleet = fleetOf(side);
      expect(fleet.baseUrl).toBe(`https://${side.address}:443`);
      for (const p of fleet.processes) expect(fleet.services.running(p.name!), `${side.key} ${p.name}`).toBe(true);
      const types = new Set(fleet.processes.map((p) => p.type));
      expect(types.has("federationSender") && types.has("generic") && types.has("main"), side.key).toBe(true);
      // Each database knows its own server's user only: the other user is remote to it.
      expect(fleet.sql("SELECT name FROM users")).toBe(mxid(side));
    }
  });

  it("a user on B joined A's room over federation: make_join and send_join reached A's federation backend (a generic worker), both sides list both members", async () => {
    expect(joined).toBe(room);
    // B's client asked B (room-pinned like any join by room id); B's server went to A for it.
    const joins = fleetOf(B).requests().filter((r) => r.method === "POST" && r.path.startsWith("/_matrix/client/v3/join/"));
    expect(joins.map((r) => [decodeURIComponent(r.path.split("/").pop()!), r.query, r.backend, r.status])).toEqual([[room, `server_name=${A.serverName}`, "client_room", 200]]);
    const federation = fleetOf(A).requests().filter((r) => /^\/_matrix\/federation\/v[12]\/(make_join|send_join)\//.test(r.path));
    const generic = fleetOf(A).processes.filter((p) => p.type === "generic").map((p) => p.name!);
    expect(federation.map((r) => r.path.split("/")[4]).sort()).toEqual(["make_join", "send_join"]);
    for (const r of federation) {
      expect([r.backend, r.status], r.path).toEqual(["federation", 200]);
      expect(generic).toContain(r.server);
      // The worker's own request line: the requester is B's server (the X-Matrix origin it verified).
      const line = fleetOf(A).accessLog(r.server).find((l) => l.port === fleetOf(A).httpPort(r.server) && l.uri.split("?")[0] === r.path);
      expect([line?.requester, line?.status], r.path).toEqual([B.serverName, "200"]);
    }
    for (const side of SIDES) {
      const members = await call<{ joined: Record<string, unknown> }>(fleetOf(side), "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/joined_members`, accounts.get(side)!.token);
      expect(Object.keys(members.joined).sort(), side.key).toEqual([mxid(A), mxid(B)].sort());
    }
  });

  it("messages flow both ways: each is seen by the other server's client, with the same event id and sender", async () => {
    expect(pings).toHaveLength(ROUNDS);
    expect(pongs).toHaveLength(ROUNDS);
    for (const p of pings) expect([p.seenId, p.sender]).toEqual([p.eventId, mxid(A)]);
    for (const p of pongs) expect([p.seenId, p.sender]).toEqual([p.eventId, mxid(B)]);
    // Both servers hold the same history, in the same order.
    const history = async (side: Side) => {
      const r = await call<{ chunk: RoomEvent[] }>(fleetOf(side), "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=50`, accounts.get(side)!.token);
      return r.chunk.filter((e) => e.type === "m.room.message").map((e) => e.event_id);
    };
    const expected = pings.flatMap((p, i) => [p.eventId, pongs[i]!.eventId]).reverse();
    expect(await history(A)).toEqual(expected);
    expect(await history(B)).toEqual(expected);
  });

  it(`the federation round trip (sent on A until B's client sees it, and back) is under ${ROUND_TRIP_BOUND_MS / 1000} s`, () => {
    for (let i = 0; i < ROUNDS; i++) expect(pings[i]!.ms + pongs[i]!.ms, `round ${i}`).toBeLessThan(ROUND_TRIP_BOUND_MS);
  });

  it.each([
    ["A", "B"],
    ["B", "A"],
  ] as const)("%s's federation sender sent, %s's HAProxy routed each transaction to a generic worker that logged receiving it", async (fromKey, toKey) => {
    const from = fromKey === "A" ? A : B;
    const to = other(from);
    expect(to.key).toBe(toKey);
    const sender = fleetOf(from);
    const receiver = fleetOf(to);
    // Only the federation sender sends transactions (send_federation is off everywhere else).
    for (const p of sender.processes.filter((x) => x.type !== "federationSender")) expect(transactionsIn(sender.services.log(p.name!)).sending, `${from.key} ${p.name}`).toEqual([]);
    const senders = sender.processes.filter((p) => p.type === "federationSender");
    const sentSoFar = () =>
      senders.flatMap((p) => {
        const { sending, ok } = transactionsIn(sender.services.log(p.name!));
        return sending.filter((t) => t.destination === to.serverName && ok.has(`${t.destination} ${t.id}`));
      });
    const pdus = (ts: ReturnType<typeof sentSoFar>) => ts.reduce((n, t) => n + t.pdus, 0);
    // The messages travelled in these transactions (other PDUs may too, and EDUs such as presence). The
    // receiver can show a message before the sender has logged its transaction's answer: wait for the log.
    const sent = await waitFor(`${from.key}'s federation sender to log ${ROUNDS} PDUs answered`, async () => {
      const ts = sentSoFar();
      return pdus(ts) >= ROUNDS ? ts : undefined;
    }, 15_000).catch(() => sentSoFar());
    expect(pdus(sent)).toBeGreaterThanOrEqual(ROUNDS);
    const ids = new Set(sent.map((t) => t.id));
    // HAProxy writes its log asynchronously: wait until every transaction is there.
    const routed = await waitFor(`${to.key}'s HAProxy to log ${ids.size} transactions`, async () => {
      const puts = receiver.requests().filter((r) => r.method === "PUT" && SEND_PATH.test(r.path));
      return [...ids].every((id) => puts.some((r) => SEND_PATH.exec(r.path)![1] === id)) ? puts : undefined;
    }, 15_000);
    const generic = receiver.processes.filter((p) => p.type === "generic").map((p) => p.name!);
    for (const r of routed) {
      expect([r.backend, r.status], r.path).toEqual(["federation_send", 200]);
      expect(generic).toContain(r.server);
    }
    for (const id of ids) {
      const r = routed.find((x) => SEND_PATH.exec(x.path)![1] === id)!;
      const lines = receiver.accessLog(r.server).filter((l) => l.port === receiver.httpPort(r.server) && l.method === "PUT" && l.uri.split("?")[0] === r.path);
      expect(lines.map((l) => [l.requester, l.status]), `${to.key} ${r.server} ${r.path}`).toEqual([[from.serverName, "200"]]);
    }
  });

  it.each([
    ["A", "B"],
    ["B", "A"],
  ] as const)("%s found %s through its /.well-known/matrix/server: every fetch its processes logged is a GET in the other HAProxy's log", async (fromKey, toKey) => {
    const from = fromKey === "A" ? A : B;
    const to = other(from);
    expect(to.key).toBe(toKey);
    const fetching = `Fetching https://${to.serverName}/.well-known/matrix/server`;
    const fetchers = () => fleetOf(from).processes.map((p) => ({ name: p.name!, type: p.type, fetches: fleetOf(from).services.log(p.name!).split("\n").filter((l) => l.includes(fetching)).length }));
    // The federation sender resolved the destination before its first transaction; the answer was the delegation to 443.
    expect(fetchers().find((f) => f.type === "federationSender")!.fetches, "federation sender").toBeGreaterThan(0);
    const answers = fleetOf(from).processes.flatMap((p) => fleetOf(from).services.log(p.name!).split("\n").filter((l) => l.includes("Response from .well-known:")));
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) expect(a).toContain(`{'m.server': '${to.serverName}:443'}`);
    // The test's clients have not asked for it yet: every GET in the other HAProxy's log is one of those fetches.
    const wellKnownGets = () => fleetOf(to).requests().filter((r) => r.method === "GET" && r.path === "/.well-known/matrix/server");
    const fetchCount = () => fetchers().reduce((n, f) => n + f.fetches, 0);
    const gets = await waitFor(`${to.key}'s HAProxy to log every well-known GET`, async () => (wellKnownGets().length === fetchCount() ? wellKnownGets() : undefined), 15_000).catch(() => wellKnownGets());
    expect(gets.length, fetchers().map((f) => `${f.name}: ${f.fetches}`).join(", ")).toBe(fetchCount());
    for (const r of gets) expect(r.status).toBe(200);
    // And the document the other side served is the delegation to 443.
    const served = await fleetOf(to).request("GET", "/.well-known/matrix/server", { from: ADMIN_FROM });
    expect([served.status, JSON.parse(served.body)]).toEqual([200, { "m.server": `${to.serverName}:443` }]);
  });

  /*
   * Other servers' media in B's bucket after Synapse's remote-media retention: the program's daily
   * sweep (components/synapse/remote-media.ts, rendered from the plan) run as its Job runs it, in
   * Synapse's Python with the media user's keys and Synapse's database role, against B's real MinIO
   * and PostgreSQL. Every key and row is the real Synapse's: B fetched A's media over federation, its
   * media worker stored them through the S3 provider, and the admin API's purge of the remote media
   * cache (the code Synapse's retention runs) dropped their rows.
   */
  /** A PNG of its own colour, made by Pillow (Synapse's thumbnailer): B makes thumbnails of it. */
  const png = (seed: number) => {
    const r = spawnSync(PYTHON, ["-c", `import io, sys\nfrom PIL import Image\nb = io.BytesIO()\nImage.new("RGB", (96, 64), (${seed % 256}, 90, 160)).save(b, "PNG")\nsys.stdout.buffer.write(b.getvalue())`], { timeout: 30_000 });
    if (r.status !== 0) throw new Error(`Pillow: ${r.stderr.toString()}`);
    return r.stdout;
  };
  const upload = async (side: Side, token: string, data: Buffer): Promise<string> => {
    const r = await fleetOf(side).request("POST", "/_matrix/media/v3/upload?filename=picture.png", { from: ADMIN_FROM, raw: data, headers: { Authorization: `Bearer ${token}`, "Content-Type": "image/png" } });
    if (r.status !== 200) throw new Error(`upload on ${side.key}: ${r.status} ${r.body}`);
    return (JSON.parse(r.body) as { content_uri: string }).content_uri.split("/").pop()!;
  };
  /** Bob on B downloads a medium of A's (B fetches it over federation when it has no copy). */
  const onB = (path: string) => fleetOf(B).request("GET", path, { from: ADMIN_FROM, headers: { Authorization: `Bearer ${accounts.get(B)!.token}` } });
  const fetchOnB = (mediaId: string) => onB(`/_matrix/client/v1/media/download/${A.serverName}/${mediaId}`);
  const thumbnailOnB = (mediaId: string) => onB(`/_matrix/client/v1/media/thumbnail/${A.serverName}/${mediaId}?width=32&height=32&method=scale`);
  const bucketKeys = () => fleetOf(B).minio.s3("list", MEDIA_BUCKET).split("\n").filter(Boolean).map((l) => l.split(" ")[0]!).sort();
  const fileIdOf = (mediaId: string) => fleetOf(B).sql(`SELECT filesystem_id FROM remote_media_cache WHERE media_origin = '${A.serverName}' AND media_id = '${mediaId}'`);
  /** Synapse's layout (docs/media_repository.md "Remote Media"): the content, and the directory of its thumbnails. */
  const keysOf = (fileId: string) => {
    const dir = `${A.serverName}/${fileId.slice(0, 2)}/${fileId.slice(2, 4)}/${fileId.slice(4)}`;
    return { content: `remote_content/${dir}`, thumbnails: `remote_thumbnail/${dir}/` };
  };
  const sweep = (graceMinutes: number, serverName = B.serverName, side: Side = B) => {
    const b = fleetOf(side);
    const script = renderRemoteMediaSweep({ ...sidePlan(B).synapse.remoteMediaSweep, graceMinutes });
    const r = spawnSync(PYTHON, ["-c", script, b.database.uri, b.media.objectStore.bucket, b.media.objectStore.endpoint, b.media.objectStore.region, serverName], {
      env: { PATH: process.env.PATH, HOME: work, ...b.media.env, PGPASSWORD: b.database.password },
      encoding: "utf8",
      timeout: 120_000,
    });
    const lines = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { log: string; level: string; namespace: string });
    return { status: r.status, stderr: r.stderr, lines };
  };

  it("Synapse's retention drops the rows of A's medium on B but leaves its objects; the remote-media sweep deletes exactly those objects, after its grace, and the medium is fetched again when asked", async () => {
    const alice = accounts.get(A)!.token;
    const bob = accounts.get(B)!.token;
    const bobAdmin = (await registerUser(fleetOf(B), "admin", PASSWORD, ADMIN_FROM, true)).token;
    const first = png(1);
    const kept = png(2);
    const firstId = await upload(A, alice, first);
    const own = await upload(B, bob, png(3));

    const fetched = await fetchOnB(firstId);
    expect([fetched.status, fetched.bytes.equals(first)]).toEqual([200, true]);
    expect((await thumbnailOnB(firstId)).status).toBe(200);
    const firstFile = fileIdOf(firstId);
    expect(firstFile).toMatch(/^[A-Za-z]{24}$/);
    const firstKeys = keysOf(firstFile);
    const objectsOfFirst = () => bucketKeys().filter((k) => k === firstKeys.content || k.startsWith(firstKeys.thumbnails));
    // The provider stored the fetched file and the thumbnails B made of it.
    expect(objectsOfFirst()).toContain(firstKeys.content);
    expect(objectsOfFirst().length).toBeGreaterThan(1);
    const ownKeys = bucketKeys().filter((k) => k.startsWith(`local_content/${own.slice(0, 2)}/${own.slice(2, 4)}/${own.slice(4)}`));
    expect(ownKeys).toHaveLength(1);

    // The admin API's purge is what media_retention runs (delete_old_remote_media): the rows go, the objects stay.
    await new Promise((r) => setTimeout(r, 50));
    const purged = await clientCall<{ deleted: number }>(fleetOf(B), "POST", `/_synapse/admin/v1/purge_media_cache?before_ts=${Date.now()}`, { from: ADMIN_FROM, token: bobAdmin, body: {} });
    expect(purged.deleted).toBe(1);
    expect(fileIdOf(firstId)).toBe("");
    const orphans = objectsOfFirst();
    expect(orphans).toContain(firstKeys.content);

    // A medium fetched after the purge is still recorded: its objects must stay.
    const keptId = await upload(A, alice, kept);
    expect((await fetchOnB(keptId)).status).toBe(200);
    const keptKeys = keysOf(fileIdOf(keptId));
    expect(bucketKeys()).toContain(keptKeys.content);

    // Past one listing page and one deletion batch: a made-up origin (in Synapse's layout) of
    // SYNTHETIC objects, every fifth recorded in the database, the rest not.
    const synthetic = fleetOf(B).minio.s3("fill", MEDIA_BUCKET, `remote_content/${SYNTHETIC_ORIGIN}/ab/cd/synthetic`, String(SYNTHETIC), "16").split("\n").filter(Boolean).map((l) => l.split(" ")[0]!);
    expect(synthetic).toHaveLength(SYNTHETIC);
    const recordedSynthetic = synthetic.filter((_, i) => i % 5 === 0);
    fleetOf(B).sql(
      `INSERT INTO remote_media_cache (media_origin, media_id, filesystem_id, created_ts, last_access_ts) VALUES ${recordedSynthetic.map((k, i) => `('${SYNTHETIC_ORIGIN}', 'm${i}', 'abcd${k.split("/").pop()}', 0, ${Date.now()})`).join(", ")}`,
    );
    const unrecorded = [...orphans, ...synthetic.filter((k) => !recordedSynthetic.includes(k))];

    // Within the plan's grace nothing goes: a fetched file is stored before Synapse records it.
    const before = bucketKeys();
    const young = sweep(sidePlan(B).synapse.remoteMediaSweep.graceMinutes);
    expect([young.status, young.stderr]).toEqual([0, ""]);
    expect(young.lines.at(-1)!.log).toMatch(/^0 objects of media no longer recorded deleted/);
    expect(bucketKeys()).toEqual(before);

    // Against another server's database (a name it has no user of), nothing goes.
    const foreign = sweep(0, "other.matrix.test");
    expect(foreign.status).toBe(SWEEP_REFUSED);
    expect(foreign.lines.at(-1)).toMatchObject({ level: "ERROR", log: "refused: the database has no user of other.matrix.test: not this server's Synapse database" });
    expect(bucketKeys()).toEqual(before);

    // Past the grace (0 here), exactly the objects of media no longer recorded go: the purged medium's and the made-up unrecorded ones.
    const sweepStarted = performance.now();
    const run = sweep(0);
    console.log(`remote-media sweep: ${run.lines.at(-1)?.log} (${(performance.now() - sweepStarted).toFixed(0)} ms, Python start included)`);
    expect([run.status, run.stderr]).toEqual([0, ""]);
    expect(run.lines.every((l) => l.namespace === "remote-media-sweep")).toBe(true);
    // A request per full batch of one origin's content or thumbnails, and one for each rest.
    const requests = Math.floor((SYNTHETIC - recordedSynthetic.length) / SWEEP_BATCH) + new Set(orphans.map((k) => k.split("/")[0])).size;
    expect(run.lines.at(-1)!.log).toMatch(new RegExp(`^${unrecorded.length} objects of media no longer recorded deleted in ${requests} requests .*, 0 failed`));
    expect(bucketKeys()).toEqual(before.filter((k) => !unrecorded.includes(k)));
    expect(bucketKeys()).toContain(keptKeys.content);
    expect(bucketKeys()).toEqual(expect.arrayContaining(recordedSynthetic));
    expect(bucketKeys()).toEqual(expect.arrayContaining(ownKeys));

    // Asked for again, the medium comes from A again, under a new file id.
    const again = await fetchOnB(firstId);
    expect([again.status, again.bytes.equals(first)]).toEqual([200, true]);
    const refetched = fileIdOf(firstId);
    expect(refetched).toMatch(/^[A-Za-z]{24}$/);
    expect(refetched).not.toBe(firstFile);
    expect(bucketKeys()).toContain(keysOf(refetched).content);
    const fromA = fleetOf(A).requests().filter((r) => r.method === "GET" && r.path === `/_matrix/federation/v1/media/download/${firstId}`);
    expect(fromA.map((r) => [r.backend, r.status])).toEqual([
      ["media", 200],
      ["media", 200],
    ]);

    // Keys the listing returns out of file-id order ('-' sorts before '/'): that origin is refused, nothing of it deleted.
    const disordered = [`remote_content/d.matrix.test/ab/cd/x-y`, `remote_content/d.matrix.test/ab/cd/x/t`];
    const file = join(work, "object");
    writeFileSync(file, "x");
    for (const key of disordered) fleetOf(B).minio.s3("put", MEDIA_BUCKET, key, file);
    const refused = sweep(0);
    expect(refused.status).toBe(SWEEP_REFUSED);
    expect(refused.lines.find((l) => l.level === "ERROR")!.log).toMatch(/^remote_content\/d\.matrix\.test: remote_content\/d\.matrix\.test\/ab\/cd\/x\/t listed after a key of file id abcdx-y; nothing more deleted there$/);
    expect(bucketKeys()).toEqual(expect.arrayContaining(disordered));

    // A database that records no remote media while the bucket holds some is refused before anything goes.
    const left = bucketKeys();
    fleetOf(B).sql("DELETE FROM remote_media_cache");
    const empty = sweep(0);
    expect(empty.status).toBe(SWEEP_REFUSED);
    expect(empty.lines.at(-1)!.log).toBe("refused: the database records no remote media while the bucket holds some: nothing is deleted against an empty table");
    expect(bucketKeys()).toEqual(left);

    // A bucket without remote objects (A fetched nothing) has nothing to judge: no check refuses, even a name without users.
    const nothing = sweep(0, "new.matrix.test", A);
    expect([nothing.status, nothing.lines.at(-1)!.log]).toEqual([0, "0 objects of media no longer recorded deleted in 0 requests (0 MiB), 0 failed; kept 0 recorded, 0 younger than 0 min, 0 not in Synapse's layout"]);
  }, 300_000);
});
