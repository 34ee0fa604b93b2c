/**
 * Element Call end to end on loopback, as a client does it: the real Synapse fleet from the rendered
 * files (federation off, the case where only the OpenID user-info endpoint may answer), HAProxy with
 * the rendered routing and TLS, the real LiveKit with the rendered livekit.yaml over Redis Sentinel,
 * and a test-only stand-in for lk-jwt-service (lk-jwt-standin.ts says why and what it does).
 *
 * The client finds the focus in /.well-known/matrix/client and in Synapse's RTC transports, joins
 * the call with a delayed leave event (MSC4140) it keeps alive, gets an OpenID token from Synapse,
 * exchanges it at the JWT service (through HAProxy's /livekit/jwt route; the service checks the
 * token back at Synapse through /.well-known/matrix/server and the user-info endpoint), and LiveKit
 * accepts the LiveKit token for the call's room. Refused: a forged OpenID token (Synapse says no), a
 * real token claimed for another server, a LiveKit token signed by another deployment, and a token
 * for a room nobody of this deployment opened (LiveKit does not create rooms on join).
 *
 * The server name resolves to HAProxy's loopback address only inside the stand-in (its own lookup
 * table); nothing on the machine is changed.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lkJwtServiceEnv } from "../../components/calls/config";
import { LK_JWT } from "../../components/naming";
import { OPENID_USERINFO } from "../../components/synapse/routing";
import { parseSettings, plan } from "../../sizing";
import type { Plan } from "../../sizing/types";
import { freePort, Services, waitFor } from "./harness";
import { startLivekit } from "./livekit-server";
import { liveKitRoomAlias, livekitToken, startLkJwtStandIn, type StandIn } from "./lk-jwt-standin";
import { bootFleet, clientCall, reducedTier, registerUser, type Fleet } from "./synapse-fleet";

const BOOT_TIMEOUT = 900_000;
const SERVER_NAME = "call.matrix.test";
const OTHER_SERVER = "elsewhere.matrix.test";
/** HAProxy's address: the server name resolves here for the JWT service. */
const ADDRESS = "127.0.0.13";
const ADMIN_FROM = "127.0.0.1";
const API_KEY = "APIelementcall";
const API_SECRET = randomBytes(24).toString("hex");
const REDIS_PASSWORD = "element-call-redis";
const DEVICE = "CALLDEVICE";
const MEMBER_TYPE = "org.matrix.msc3401.call.member";

interface Focus {
  type: string;
  livekit_service_url: string;
}

/** The 100-CCU tier without federation, one process of each type. */
function callPlan(): Plan {
  return reducedTier(plan(parseSettings({ ccu: 100, serverName: SERVER_NAME, federation: false, edge: { adminCidrs: [`${ADMIN_FROM}/32`] } })), {});
}

const decodeJwt = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as { sub: string; exp: number; nbf: number; video: Record<string, unknown> };

describe("Element Call through the deployment: OpenID token, JWT service, LiveKit", () => {
  const services = new Services("element-call");
  const thePlan = callPlan();
  let fleet: Fleet;
  let standIn: StandIn;
  let livekitPort: number;
  let alice: { userId: string; token: string };
  let roomId: string;

  const livekit = (path: string) => fetch(`http://127.0.0.1:${livekitPort}${path}`);
  const validate = (jwt: string) => livekit(`/rtc/validate?access_token=${encodeURIComponent(jwt)}`);
  const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => clientCall<T>(fleet, method, path, { from: ADMIN_FROM, token: alice.token, body });
  const sfuGet = (body: unknown) => fleet.request("POST", `${LK_JWT.pathPrefix}/sfu/get`, { from: ADMIN_FROM, body });
  const openIdToken = () => call<{ access_token: string; token_type: string; matrix_server_name: string; expires_in: number }>("POST", `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/openid/request_token`, {});

  beforeAll(async () => {
    livekitPort = (await startLivekit(services, thePlan, REDIS_PASSWORD, API_KEY, API_SECRET)).port;

    // The Deployment's environment, with LiveKit and the port on loopback.
    const env = lkJwtServiceEnv({ livekitUrl: `ws://127.0.0.1:${livekitPort}`, port: await freePort(), fullAccessHomeservers: [SERVER_NAME] });
    // The CA exists once the fleet boots; the stand-in reads it lazily through this holder.
    const caHolder: { ca?: Buffer } = {};
    standIn = await startLkJwtStandIn({
      env,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      livekitApi: `http://127.0.0.1:${livekitPort}`,
      resolve: { [SERVER_NAME]: ADDRESS, [OTHER_SERVER]: ADDRESS },
      get ca() {
        return caHolder.ca!;
      },
      bind: "127.0.0.1",
    });
    fleet = await bootFleet(thePlan, () => 1, "element-call-fleet", {
      address: ADDRESS,
      httpsPort: 443,
      // "Another server" resolves to this HAProxy too, with a valid certificate: its user-info is reached.
      certificateNames: [OTHER_SERVER],
      rtc: { jwtServer: { host: "127.0.0.1", port: standIn.port } },
    });
    caHolder.ca = readFileSync(fleet.ca.certificate);
    alice = await registerUser(fleet, "alice", "correct horse battery staple", ADMIN_FROM);
    roomId = (await call<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat", name: "call" })).room_id;
  }, BOOT_TIMEOUT);

  afterAll(async () => {
    await standIn?.close();
    await fleet?.stop();
    await services.stopAll();
  }, 120_000);

  it("announces one LiveKit focus, the JWT service under the server name, in the well-known and in Synapse's RTC transports", async () => {
    const wellKnown = JSON.parse((await fleet.request("GET", "/.well-known/matrix/client", { from: ADMIN_FROM })).body) as { "org.matrix.msc4143.rtc_foci": Focus[] };
    const transports = await call<{ rtc_transports: Focus[] }>("GET", "/_matrix/client/unstable/org.matrix.msc4143/rtc/transports");
    expect(wellKnown["org.matrix.msc4143.rtc_foci"]).toEqual([{ type: "livekit", livekit_service_url: `https://${SERVER_NAME}${LK_JWT.pathPrefix}` }]);
    expect(transports.rtc_transports).toEqual(wellKnown["org.matrix.msc4143.rtc_foci"]);
  });

  it("keeps a call membership alive with a delayed leave event and sends the leave when the heartbeats stop", async () => {
    const stateKey = `_${alice.userId}_${DEVICE}`;
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${MEMBER_TYPE}/${encodeURIComponent(stateKey)}`;
    await call("PUT", path, { application: "m.call", call_id: "", device_id: DEVICE, scope: "m.room", focus_active: { type: "livekit", focus_selection: "oldest_membership" }, foci_preferred: [] });
    // Long enough that a loaded machine's stall between two heartbeats does not let the leave through.
    const delayMs = 10_000;
    const { delay_id } = await call<{ delay_id: string }>("PUT", `${path}?org.matrix.msc4140.delay=${delayMs}`, {});
    // Heartbeats: each restart pushes the leave back by the full delay.
    const heartbeatsUntil = Date.now() + 2 * delayMs;
    while (Date.now() < heartbeatsUntil) {
      await call("POST", `/_matrix/client/unstable/org.matrix.msc4140/delayed_events/${encodeURIComponent(delay_id)}/restart`, {});
      const current = await call<Record<string, unknown>>("GET", path);
      expect(current.application, "still a member while the heartbeats last").toBe("m.call");
      await new Promise((r) => setTimeout(r, delayMs / 4));
    }
    const left = await waitFor("the delayed leave to be sent", async () => {
      const current = await call<Record<string, unknown>>("GET", path);
      return Object.keys(current).length === 0 ? current : undefined;
    }, 4 * delayMs, 250);
    expect(left).toEqual({});
    // The sends and heartbeats went to the generic workers (room-pinned and client routes), the way HAProxy routes them.
    const routed = fleet.requests().filter((r) => r.path.includes("msc4140") || r.query.includes("msc4140"));
    expect(new Set(routed.map((r) => r.backend))).toEqual(new Set(["client", "client_room"]));
    expect(routed.every((r) => r.status === 200)).toBe(true);
  }, 120_000);

  it("refuses a delay beyond the plan's maximum", async () => {
    const tooLong = 25 * 3600 * 1000;
    const r = await fleet.request("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/late1?org.matrix.msc4140.delay=${tooLong}`, {
      from: ADMIN_FROM,
      headers: { Authorization: `Bearer ${alice.token}` },
      body: { msgtype: "m.text", body: "late" },
    });
    expect(thePlan.synapse.config.matrixRtc.maxEventDelay).toBe("24h");
    expect(r.status).toBe(400);
    // The pinned release names the refusal with its unstable code (synapse/api/errors.py: DELAY_TOO_LARGE).
    expect(JSON.parse(r.body).errcode).toBe("ORG.MATRIX.MSC4140_DELAY_TOO_LARGE");
  });

  it("exchanges Synapse's OpenID token for a LiveKit token that LiveKit accepts for the call's room", async () => {
    const openid = await openIdToken();
    expect(openid.matrix_server_name).toBe(SERVER_NAME);
    const r = await sfuGet({ room: roomId, device_id: DEVICE, openid_token: openid });
    expect(r.status, r.body).toBe(200);
    const { url, jwt } = JSON.parse(r.body) as { url: string; jwt: string };
    expect(url).toBe(`ws://127.0.0.1:${livekitPort}`);
    const claims = decodeJwt(jwt);
    expect(claims.sub).toBe(`${alice.userId}:${DEVICE}`);
    expect(claims.video).toMatchObject({ roomJoin: true, canPublish: true, canSubscribe: true, room: liveKitRoomAlias(roomId) });

    const accepted = await validate(jwt);
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    expect(await accepted.text()).toBe("success");

    // The JWT service was reached through HAProxy's route (prefix removed) and checked the token at
    // the user-info endpoint, which main answered although the deployment does not federate.
    expect(standIn.seen).toContain("POST /sfu/get");
    const checks = fleet.requests().filter((q) => q.path === OPENID_USERINFO);
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((q) => q.backend === "main" && q.status === 200)).toBe(true);
    expect(fleet.requests().some((q) => q.path === "/.well-known/matrix/server" && q.status === 200)).toBe(true);
  });

  it("keeps every other federation endpoint closed when the deployment does not federate", async () => {
    for (const path of ["/_matrix/federation/v1/version", "/_matrix/key/v2/server", "/_matrix/federation/v1/openid/userinfo/x"]) {
      const r = await fleet.request("GET", path, { from: ADMIN_FROM });
      expect(r.status, path).toBe(403);
    }
  });

  it("refuses a forged OpenID token: Synapse does not know it, so no LiveKit token is issued", async () => {
    const forged = { access_token: randomBytes(16).toString("hex"), token_type: "Bearer", matrix_server_name: SERVER_NAME, expires_in: 3600 };
    const direct = await fleet.request("GET", `${OPENID_USERINFO}?access_token=${forged.access_token}`, { from: ADMIN_FROM });
    expect(direct.status).toBe(401);
    const before = standIn.refusals.length;
    const r = await sfuGet({ room: roomId, device_id: DEVICE, openid_token: forged });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).errcode).toBe("M_UNAUTHORIZED");
    expect(standIn.refusals.slice(before)).toEqual([`user-info at ${SERVER_NAME}:443 answered 401`]);
  });

  it("refuses a real OpenID token claimed for another server: that server's user-info names a user of this one", async () => {
    const openid = await openIdToken();
    const before = standIn.refusals.length;
    const r = await sfuGet({ room: roomId, device_id: DEVICE, openid_token: { ...openid, matrix_server_name: OTHER_SERVER } });
    expect(r.status).toBe(401);
    expect(standIn.refusals.slice(before)).toEqual([`user-info named ${alice.userId}, not a user of ${OTHER_SERVER}`]);
  });

  it("LiveKit refuses a token signed by another deployment and a token for a room nobody here opened", async () => {
    const room = liveKitRoomAlias(roomId);
    const grant = { roomJoin: true, canPublish: true, canSubscribe: true };
    const foreign = livekitToken(API_KEY, randomBytes(24).toString("hex"), `${alice.userId}:${DEVICE}`, { ...grant, room });
    expect((await validate(foreign)).status).toBe(401);
    const unopened = livekitToken(API_KEY, API_SECRET, `@mallory:${OTHER_SERVER}:X`, { ...grant, room: liveKitRoomAlias(`!never-opened:${OTHER_SERVER}`) });
    expect((await validate(unopened)).status).toBe(404);
  });
});
