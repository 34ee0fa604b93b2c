/**
 * A shard change with the real Synapse fleet on loopback: a fleet of two event persisters with
 * messages in a dozen rooms, then the coordinated restart the Kubernetes Job and gates perform
 * (every process stops, every process of the new plan starts at once with three persisters).
 * What must hold, from Synapse's own tables: every event sent after the restart is persisted
 * exactly once, by the persister Synapse's sharding rule assigns the room among the new three,
 * whichever generic worker created it. A process still on the old map would send a room whose
 * shard moved to its old persister. The control-plane side is test/integration/synapse-restart.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSettings, plan as planOf } from "../../sizing";
import type { Plan, WorkerPlan } from "../../sizing/types";
import { bootFleet, clientCall, persisterOf, reducedTier, registerUser, type Fleet } from "./synapse-fleet";

const ADMIN_FROM = "127.0.0.1";
const ROOMS = 12;
const MAX_ROOMS = 40;
const shape = (persisters: number): Plan =>
  reducedTier(planOf(parseSettings({ ccu: 20_000, serverName: "matrix.test", edge: { adminCidrs: [`${ADMIN_FROM}/32`] } })), { eventPersister: persisters, generic: 2 });

describe("a shard change on the real Synapse fleet: 2 → 3 event persisters, every process restarted together", () => {
  const before = shape(2);
  const after = shape(3);
  let fleet: Fleet;
  let token = "";
  const rooms: string[] = [];
  let txn = 0;
  const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => clientCall<T>(fleet, method, path, { token, body, from: ADMIN_FROM });
  const send = (room: string, body: string) => call<{ event_id: string }>("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/t${txn++}`, { msgtype: "m.text", body });
  /** room → persister of each message whose body starts with `prefix`, as Synapse recorded it. */
  const persisted = (prefix: string) =>
    fleet
      .sql(`SELECT e.room_id, e.instance_name, j.json::json->'content'->>'body' FROM events e JOIN event_json j USING (event_id) WHERE e.type = 'm.room.message' AND j.json::json->'content'->>'body' LIKE '${prefix}%'`)
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("|") as [string, string, string]);
  let window = { stoppedMs: 0, healthyMs: 0, firstEventMs: 0 };

  beforeAll(async () => {
    fleet = await bootFleet(before, (w: WorkerPlan) => w.replicas, "synapse-shard-change");
    ({ token } = await registerUser(fleet, "alice", "correct horse battery staple", ADMIN_FROM));
    // Room ids are random: at least ROOMS rooms, and more until the new three persisters each own one and
    // some room's shard moves (12 random rooms miss a persister about one run in forty).
    const owners = (map: string[]) => new Set(rooms.map((r) => persisterOf(r, map)));
    const covered = () =>
      owners(after.synapse.streamWriters.events!).size === 3 && rooms.some((r) => persisterOf(r, after.synapse.streamWriters.events!) !== persisterOf(r, before.synapse.streamWriters.events!));
    while (rooms.length < ROOMS || (!covered() && rooms.length < MAX_ROOMS)) rooms.push((await call<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", { name: `room ${rooms.length}` })).room_id);
    for (const room of rooms) await send(room, `before ${room}`);
  }, 900_000);
  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it("before the change, each room's events go to its persister among the two", () => {
    const persisters = before.synapse.streamWriters.events!;
    expect(persisters).toHaveLength(2);
    const rows = persisted("before");
    for (const [room, instance] of rows) expect(instance, room).toBe(persisterOf(room, persisters));
    // The check tells the maps apart: rows written on the old map do not all match the new one.
    expect(rows.filter(([room, instance]) => instance !== persisterOf(room, after.synapse.streamWriters.events!)).length).toBeGreaterThan(0);
  });

  it("after the restart every message is persisted once, by the room's persister among the three, whichever generic worker sent it", async () => {
    const persisters = after.synapse.streamWriters.events!;
    expect(persisters).toHaveLength(3);
    // Rooms whose shard moves: the old map would send them elsewhere.
    const moved = rooms.filter((r) => persisterOf(r, persisters) !== persisterOf(r, before.synapse.streamWriters.events!));
    expect(moved.length, "rooms whose persister changes").toBeGreaterThan(0);

    const processesBefore = fleet.processes.length;
    const started = Date.now();
    const { stoppedMs, healthyMs } = await fleet.restartWith(after);
    await send(rooms[0]!, `after ${rooms[0]} first`);
    window = { stoppedMs, healthyMs, firstEventMs: Date.now() - started };
    for (const room of rooms) for (let k = 0; k < 3; k++) await send(room, `after ${room} ${k}`);

    const rows = persisted("after");
    expect(rows).toHaveLength(rooms.length * 3 + 1);
    expect(new Set(rows.map(([, , body]) => body)).size, "each message once").toBe(rows.length);
    for (const [room, instance] of rows) expect(instance, room).toBe(persisterOf(room, persisters));
    expect(new Set(rows.map(([, instance]) => instance))).toEqual(new Set(persisters));
    // The sends went through every generic worker HAProxy pins rooms to (its log starts with the restart).
    const senders = new Set(fleet.requests().filter((r) => /\/send\/m\.room\.message\//.test(r.path)).map((r) => r.server));
    expect(senders).toEqual(new Set(fleet.processes.filter((p) => p.type === "generic").map((p) => p.name!)));
    console.log(
      `Synapse shard change (${processesBefore} → ${fleet.processes.length} processes, 2 → 3 event persisters): every process stopped in ${(stoppedMs / 1000).toFixed(1)} s; ` +
        `all healthy on the new map and HAProxy up ${(healthyMs / 1000).toFixed(1)} s after the stop began; first event persisted at ${(window.firstEventMs / 1000).toFixed(1)} s; ` +
        `${moved.length} of ${rooms.length} rooms changed persister`,
    );
  }, 900_000);
});
