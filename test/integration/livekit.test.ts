/**
 * LiveKit server (built from the Go module proxy) with the rendered livekit.yaml, against Redis
 * with Sentinel on loopback: it registers its node in Redis and answers its API to a token signed
 * with the generated key; a token signed with another secret is refused.
 */
import { createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planFor } from "../helpers";
import { Services, waitFor } from "./harness";
import { startLivekit } from "./livekit-server";
import type { SentinelRedis } from "./redis-cluster";

const PASSWORD = "livekit-redis-password";
const API_KEY = "APIintegration";
const API_SECRET = randomBytes(24).toString("hex");
const thePlan = planFor(1000);

/** A LiveKit access token: HS256 JWT with the key as issuer and a video grant. */
function token(secret: string, grant: Record<string, unknown>): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ iss: API_KEY, sub: "matrix-scale-test", nbf: now - 5, exp: now + 300, video: grant })}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

describe("LiveKit with the rendered configuration and Redis Sentinel", () => {
  const services = new Services("livekit");
  let redis: SentinelRedis;
  let port: number;
  let config: string;

  const call = (method: string, body: object, secret = API_SECRET) =>
    fetch(`http://127.0.0.1:${port}/twirp/livekit.RoomService/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token(secret, { roomCreate: true, roomList: true, roomAdmin: true })}` },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    ({ port, config, redis } = await startLivekit(services, thePlan, PASSWORD, API_KEY, API_SECRET));
  }, 120_000);
  afterAll(() => services.stopAll(), 30_000);

  it("uses the plan's RTC port range and reaches Redis through the Sentinels", () => {
    expect(config).toContain(`port_range_start: ${thePlan.livekit.ports.min}`);
    expect(config).toContain(`port_range_end: ${thePlan.livekit.ports.max}`);
    expect(config).toContain("sentinel_master_name: mymaster");
    expect(services.log("livekit")).toMatch(/sentinel|redis/i);
  });

  it("registers its node in Redis", async () => {
    const nodes = await waitFor("a node in Redis", async () => {
      const keys = redis.cli(redis.data[0]!, "HKEYS", "nodes");
      return keys ? keys.split("\n") : undefined;
    }, 20_000);
    expect(nodes.length).toBe(1);
  });

  it("answers the room API to a token signed with the generated key, and stores the room in Redis", async () => {
    const created = await call("CreateRoom", { name: "matrix-scale-room" });
    expect(created.status).toBe(200);
    expect(((await created.json()) as { name: string }).name).toBe("matrix-scale-room");
    const listed = (await (await call("ListRooms", {})).json()) as { rooms: { name: string }[] };
    expect(listed.rooms.map((r) => r.name)).toContain("matrix-scale-room");
    expect(redis.cli(redis.data[0]!, "HKEYS", "rooms")).toContain("matrix-scale-room");
  });

  it("refuses a token signed with any other secret", async () => {
    const refused = await call("ListRooms", {}, "not-the-secret");
    expect(refused.status).toBe(401);
  });
});
