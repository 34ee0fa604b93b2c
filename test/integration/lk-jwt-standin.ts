/**
 * TEST-ONLY stand-in for lk-jwt-service, the service that turns a Matrix OpenID token into a LiveKit
 * token for Element Call. It is never deployed: the deployment runs the pinned image
 * (components/versions.json, lkJwtServiceImage).
 *
 * Why a stand-in: no registry this machine reaches serves the service. The Go module proxy refuses
 * every version of github.com/element-hq/lk-jwt-service (403 "not available", checked 2026-12-01),
 * and its current releases are written in Rust and published only as images and GitHub release
 * binaries. The stand-in speaks the service's standalone protocol as its source documents it
 * (element-hq/lk-jwt-service: requests.go, handler.go, helper.go), and nothing else:
 * - `GET /healthz`;
 * - `POST /sfu/get` with `{room, openid_token: {access_token, matrix_server_name, …}, device_id}`:
 *   the OpenID token is checked at the token's own server, found through server discovery
 *   (`/.well-known/matrix/server`, then `/_matrix/federation/v1/openid/userinfo`), and the user id
 *   it returns must belong to that server (gomatrixserverlib's LookupUserInfo); a caller whose
 *   server is in LIVEKIT_FULL_ACCESS_HOMESERVERS has the LiveKit room created (RoomService
 *   CreateRoom, 5-minute empty timeout); every caller gets a one-hour token for the room
 *   `base64(sha256(JSON [room, "m.call#ROOM"]))` with identity `<user id>:<device id>`, allowed to
 *   join, publish and subscribe, and the LiveKit URL clients connect to.
 * It reads the environment the program renders for the Deployment (lkJwtServiceEnv) plus the key
 * and secret. What the Element Call test proves with it is the deployment's side: Synapse issues
 * and checks the OpenID token through HAProxy's routes, and the real LiveKit with the rendered
 * configuration accepts the token for the room and refuses the others. It proves nothing about the
 * real service's own code.
 */
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";

export interface StandInOptions {
  /** The Deployment's environment: LIVEKIT_URL, LIVEKIT_JWT_PORT, LIVEKIT_FULL_ACCESS_HOMESERVERS. */
  env: Record<string, string>;
  apiKey: string;
  apiSecret: string;
  /** Where LiveKit's API answers (the test reaches it over plain HTTP on loopback). */
  livekitApi: string;
  /** The test's name resolution (loopback addresses) and the CA its certificates come from. */
  resolve: Record<string, string>;
  ca: Buffer;
  bind: string;
}

export interface StandIn {
  port: number;
  /** Paths the stand-in was asked for, in order (the proxy's prefix removed). */
  seen: string[];
  /** Why each refused request was refused, in order. */
  refusals: string[];
  close(): Promise<void>;
}

const SLOT = "m.call#ROOM";
const TOKEN_SECONDS = 3600;
const EMPTY_TIMEOUT_SECONDS = 300;

/** An HS256 LiveKit access token: the API key as issuer, the identity as subject, a video grant. */
export function livekitToken(apiKey: string, secret: string, identity: string, video: Record<string, unknown>, validSeconds = TOKEN_SECONDS): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ iss: apiKey, sub: identity, nbf: now, exp: now + validSeconds, video })}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

export function liveKitRoomAlias(matrixRoom: string): string {
  return createHash("sha256").update(JSON.stringify([matrixRoom, SLOT])).digest("base64").replace(/=+$/, "");
}

class Refusal extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string, readonly reason = message) {
    super(message);
  }
}
const UNAUTHORISED = "The request could not be authorised.";

export async function startLkJwtStandIn(options: StandInOptions): Promise<StandIn> {
  const fullAccess = options.env.LIVEKIT_FULL_ACCESS_HOMESERVERS!.split(",").filter(Boolean);
  const lookup: LookupFunction = (hostname, opts, callback) => {
    const address = options.resolve[hostname];
    if (!address) return callback(Object.assign(new Error(`no test address for ${hostname}`), { code: "ENOTFOUND" }), "", 4);
    if ((opts as { all?: boolean }).all) return (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family: 4 }]);
    callback(null, address, 4);
  };

  const getJson = (host: string, port: number, path: string) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = httpsRequest({ host, port, path, method: "GET", servername: host, ca: options.ca, lookup, timeout: 10_000 }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
          } catch (e) {
            reject(e as Error);
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error(`timeout: ${host}${path}`)));
      req.on("error", reject);
      req.end();
    });

  /** Server discovery (the well-known's m.server, default port 8448) then the user-info lookup. */
  const userInfo = async (serverName: string, accessToken: string): Promise<string> => {
    const wellKnown = await getJson(serverName, 443, "/.well-known/matrix/server").catch(() => undefined);
    const delegated = (wellKnown?.status === 200 && (wellKnown.body as { "m.server"?: string })["m.server"]) || `${serverName}:8448`;
    const [host, port] = delegated.split(":") as [string, string | undefined];
    const info = await getJson(host, Number(port ?? 8448), `/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(accessToken)}`);
    const sub = (info.body as { sub?: string }).sub;
    if (info.status !== 200 || !sub) throw new Refusal(401, "M_UNAUTHORIZED", UNAUTHORISED, `user-info at ${host}:${port ?? 8448} answered ${info.status}`);
    if (sub.slice(sub.indexOf(":") + 1) !== serverName) throw new Refusal(401, "M_UNAUTHORIZED", UNAUTHORISED, `user-info named ${sub}, not a user of ${serverName}`);
    return sub;
  };

  const createRoom = async (room: string) => {
    const admin = livekitToken(options.apiKey, options.apiSecret, "lk-jwt-standin", { roomCreate: true });
    const r = await fetch(`${options.livekitApi}/twirp/livekit.RoomService/CreateRoom`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${admin}` },
      body: JSON.stringify({ name: room, empty_timeout: EMPTY_TIMEOUT_SECONDS }),
    });
    if (r.status !== 200) throw new Refusal(500, "M_UNKNOWN", `Unable to create room on SFU: ${r.status}`);
  };

  const sfuGet = async (body: { room?: string; device_id?: string; openid_token?: { access_token?: string; matrix_server_name?: string } }) => {
    const token = body.openid_token ?? {};
    if (!body.room) throw new Refusal(400, "M_BAD_JSON", "Missing room parameter");
    if (!token.access_token || !token.matrix_server_name) throw new Refusal(400, "M_BAD_JSON", "Missing OpenID token parameters");
    const matrixId = await userInfo(token.matrix_server_name, token.access_token);
    const room = liveKitRoomAlias(body.room);
    if (fullAccess.includes(token.matrix_server_name)) await createRoom(room);
    const jwt = livekitToken(options.apiKey, options.apiSecret, `${matrixId}:${body.device_id ?? ""}`, { roomJoin: true, roomCreate: false, canPublish: true, canSubscribe: true, room });
    return { url: options.env.LIVEKIT_URL, jwt };
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => resolve(text));
    });

  const seen: string[] = [];
  const refusals: string[] = [];
  const server: Server = createServer(async (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === "GET" && req.url === "/healthz") return reply(200, {});
      if (req.method === "POST" && req.url === "/sfu/get") return reply(200, await sfuGet(JSON.parse((await readBody(req)) || "{}")));
      reply(404, { errcode: "M_NOT_FOUND", error: "Not found" });
    } catch (e) {
      refusals.push(e instanceof Refusal ? e.reason : `${(e as Error).message}`);
      if (e instanceof Refusal) return reply(e.status, { errcode: e.errcode, error: e.message });
      reply(401, { errcode: "M_UNAUTHORIZED", error: UNAUTHORISED });
    }
  });
  const port = Number(options.env.LIVEKIT_JWT_PORT);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, options.bind, () => resolve());
  });
  return { port, seen, refusals, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
