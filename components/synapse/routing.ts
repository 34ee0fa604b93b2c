/**
 * HTTP routing for the Synapse fleet: the endpoint table (the worker docs' patterns, each to the
 * worker type or stream writer that must serve it) and the HAProxy configuration rendered from it.
 * Pure: plan + where servers are in, text out.
 */
import type { WorkerType } from "../../sizing/settings";
import { WORKER_NAMES } from "../../sizing/synapse";
import { routableServiceName } from "../../sizing/edge";
import type { EdgePlan, Plan, SynapsePlan, SynapseStream } from "../../sizing/types";

export type BackendId =
  | "main"
  | "sync"
  | "sync_initial"
  | "client"
  | "client_room"
  | "federation"
  | "federation_send"
  | "media"
  | "media_upload"
  | `stream_${SynapseStream}`;

/** A condition beyond the path: the request's method or query decides the backend. */
export type RouteCondition = "initial_sync" | "incremental_sync" | "initial_events" | "get";

/** Each condition as OR-ed groups of AND-ed ACLs. Initial sync: no `since`, or full_state=true. */
const CONDITION_ACLS: Record<RouteCondition, string[][]> = {
  initial_sync: [["!has_since"], ["full_state"]],
  incremental_sync: [["has_since", "!full_state"]],
  initial_events: [["!has_from"]],
  get: [["is_get"]],
};

export interface Route {
  id: string;
  backend: BackendId;
  patterns: string[];
  when?: RouteCondition;
}

const C = "^/_matrix/client";
const ANY = "(api/v1|r0|v3|unstable)";
const R0 = "(r0|v3|unstable)";

/** Endpoints owned by a stream: routed to that stream's writer (seed: synapse-workers-current). */
export const STREAM_ROUTES: Readonly<Partial<Record<SynapseStream, string[]>>> = {
  typing: [`${C}/${ANY}/rooms/.*/typing`],
  to_device: [`${C}/${R0}/sendToDevice/`],
  account_data: [`${C}/${R0}/.*/tags`, `${C}/${R0}/.*/account_data`],
  receipts: [`${C}/${R0}/rooms/.*/receipt`, `${C}/${R0}/rooms/.*/read_markers`],
  presence: [`${C}/${ANY}/presence/`],
  push_rules: [`${C}/${ANY}/pushrules/`],
  device_lists: [`${C}/${R0}/keys/upload`, `${C}/${R0}/keys/device_signing/upload`, `${C}/${R0}/keys/signatures/upload`],
};

const SYNC = [`${C}/(r0|v3)/sync$`];
/** Sliding sync (MSC3575 as Synapse serves it on every worker; Element X uses it). */
const SLIDING_SYNC = [`${C}/unstable/org.matrix.simplified_msc3575/sync$`];
const EVENTS_STREAM = [`${C}/(api/v1|r0|v3)/events$`];
const INITIAL_SYNC = [`${C}/(api/v1|r0|v3)/initialSync$`, `${C}/(api/v1|r0|v3)/rooms/[^/]+/initialSync$`];

/** SSO must reach one process: main. */
const SSO = [
  `${C}/${ANY}/login/sso/redirect`,
  "^/_synapse/client/pick_idp$",
  "^/_synapse/client/pick_username",
  "^/_synapse/client/new_user_consent$",
  "^/_synapse/client/sso_register$",
  "^/_synapse/client/oidc/callback$",
  "^/_synapse/client/saml2/authn_response$",
  `${C}/${ANY}/login/cas/ticket$`,
];

/** Uploads (with a body, or to an mxc created before): at most the plan's uploads in flight per media worker. */
const MEDIA_UPLOAD = ["^/_matrix/media/(r0|v1|v3)/upload"];

const MEDIA = [
  "^/_matrix/media/",
  "^/_matrix/client/v1/media/",
  "^/_matrix/federation/v1/media/",
  "^/_synapse/admin/v1/purge_media_cache$",
  "^/_synapse/admin/v1/room/.*/media.*$",
  "^/_synapse/admin/v1/user/.*/media.*$",
  "^/_synapse/admin/v1/media/.*$",
  "^/_synapse/admin/v1/quarantine_media/.*$",
  "^/_synapse/admin/v1/users/.*/media$",
];

const FEDERATION_SEND = ["^/_matrix/federation/v1/send/"];
/**
 * The OpenID user-info endpoint: the call service (lk-jwt-service) checks a caller's OpenID token
 * here, found through /.well-known/matrix/server like any federation request. Open whether or not
 * the deployment federates; main answers it (topology.ts: httpResources).
 */
export const OPENID_USERINFO = "/_matrix/federation/v1/openid/userinfo";
const FEDERATION = [
  "^/_matrix/federation/v1/event/",
  "^/_matrix/federation/v1/state/",
  "^/_matrix/federation/v1/state_ids/",
  "^/_matrix/federation/v1/backfill/",
  "^/_matrix/federation/v1/get_missing_events/",
  "^/_matrix/federation/v1/publicRooms",
  "^/_matrix/federation/v1/query/",
  "^/_matrix/federation/v1/make_join/",
  "^/_matrix/federation/v1/make_leave/",
  "^/_matrix/federation/(v1|v2)/send_join/",
  "^/_matrix/federation/(v1|v2)/send_leave/",
  "^/_matrix/federation/v1/make_knock/",
  "^/_matrix/federation/v1/send_knock/",
  "^/_matrix/federation/(v1|v2)/invite/",
  "^/_matrix/federation/v1/event_auth/",
  "^/_matrix/federation/v1/timestamp_to_event/",
  "^/_matrix/federation/v1/exchange_third_party_invite/",
  "^/_matrix/federation/v1/user/devices/",
  "^/_matrix/key/v2/query",
  "^/_matrix/federation/v1/hierarchy/",
];

/** Event sending and pagination, balanced (pinned) by room id. */
const ROOM_PINNED = [
  `${C}/${ANY}/rooms/.*/redact`,
  `${C}/${ANY}/rooms/.*/send`,
  `${C}/${ANY}/rooms/.*/state/`,
  `${C}/${ANY}/rooms/.*/(join|invite|leave|ban|unban|kick)$`,
  `${C}/${ANY}/join/`,
  `${C}/${ANY}/knock/`,
  `${C}/${ANY}/rooms/.*/messages$`,
];

const CLIENT = [
  `${C}/${ANY}/createRoom$`,
  `${C}/${ANY}/publicRooms$`,
  `${C}/${ANY}/rooms/.*/joined_members$`,
  `${C}/${ANY}/rooms/.*/context/.*$`,
  `${C}/${ANY}/rooms/.*/members$`,
  `${C}/${ANY}/rooms/.*/state$`,
  `${C}/v1/rooms/.*/hierarchy$`,
  `${C}/(v1|unstable)/rooms/.*/relations/`,
  `${C}/v1/rooms/.*/threads$`,
  `${C}/unstable/im.nheko.summary/summary/.*$`,
  `${C}/${R0}/account/3pid$`,
  `${C}/${R0}/account/whoami$`,
  `${C}/${R0}/devices$`,
  `${C}/versions$`,
  `${C}/${ANY}/voip/turnServer$`,
  `${C}/${ANY}/rooms/.*/event/`,
  `${C}/${ANY}/joined_rooms$`,
  `${C}/v1/rooms/.*/timestamp_to_event$`,
  `${C}/(api/v1|r0|v3|unstable/.*)/rooms/.*/aliases`,
  `${C}/${ANY}/search$`,
  `${C}/${R0}/user/.*/filter(/|$)`,
  `${C}/${ANY}/directory/room/.*$`,
  `${C}/${R0}/capabilities$`,
  `${C}/${R0}/notifications$`,
  `${C}/${R0}/keys/query$`,
  `${C}/${R0}/keys/changes$`,
  `${C}/${R0}/keys/claim$`,
  `${C}/${R0}/room_keys/`,
  `${C}/${ANY}/login$`,
  `${C}/${R0}/register$`,
  `${C}/${R0}/register/available$`,
  `${C}/v1/register/m.login.registration_token/validity$`,
  `${C}/${R0}/password_policy$`,
  `${C}/${ANY}/profile/`,
  `${C}/${R0}/user_directory/search$`,
];
const CLIENT_GET_ONLY = [`${C}/unstable/org.matrix.msc4140/delayed_events`];
/**
 * A call member's heartbeat (MSC4140 restart, every few seconds per participant): the pinned
 * release registers it on workers (rest/client/delayed_events.py), though the worker documentation
 * lists only the GET requests; cancel and send stay on main, where Synapse registers them.
 */
const DELAYED_EVENT_RESTART = [`${C}/unstable/org.matrix.msc4140/delayed_events/[^/]+/restart$`];

/**
 * The routing table, first match wins. Stream-owned endpoints come first (they are the most
 * specific), then sync, SSO, media, federation, room-pinned sends, other client reads; anything
 * else reaches main.
 */
export function routes(synapse: SynapsePlan): Route[] {
  const out: Route[] = [];
  for (const [stream, patterns] of Object.entries(STREAM_ROUTES) as [SynapseStream, string[]][]) {
    if (synapse.streamWriters[stream]?.length) out.push({ id: `stream_${stream}`, backend: `stream_${stream}`, patterns });
  }
  out.push(
    { id: "sync_initial", backend: "sync_initial", patterns: SYNC, when: "initial_sync" },
    { id: "sync", backend: "sync", patterns: SYNC, when: "incremental_sync" },
    { id: "sliding_sync", backend: "sync", patterns: SLIDING_SYNC },
    { id: "events_initial", backend: "sync_initial", patterns: EVENTS_STREAM, when: "initial_events" },
    { id: "events", backend: "sync", patterns: EVENTS_STREAM },
    { id: "initial_sync", backend: "sync_initial", patterns: INITIAL_SYNC },
    { id: "sso", backend: "main", patterns: SSO },
    { id: "media_upload", backend: "media_upload", patterns: MEDIA_UPLOAD },
    { id: "media", backend: "media", patterns: MEDIA },
  );
  if (synapse.federation) {
    out.push({ id: "federation_send", backend: "federation_send", patterns: FEDERATION_SEND }, { id: "federation", backend: "federation", patterns: FEDERATION });
  }
  out.push(
    { id: "openid", backend: "main", patterns: [`^${OPENID_USERINFO}$`] },
    { id: "room_pinned", backend: "client_room", patterns: ROOM_PINNED },
    { id: "client", backend: "client", patterns: [...CLIENT, ...DELAYED_EVENT_RESTART] },
    { id: "client_get", backend: "client", patterns: CLIENT_GET_ONLY, when: "get" },
  );
  return out;
}

/** Which processes serve a backend: a worker type, or the named writers of a stream. */
export function backendMembers(backend: BackendId, synapse: SynapsePlan): { type: WorkerType; instances?: string[] } {
  if (backend.startsWith("stream_")) {
    const stream = backend.slice("stream_".length) as SynapseStream;
    return { type: "streamWriter", instances: synapse.streamWriters[stream] ?? [] };
  }
  const types: Record<string, WorkerType> = {
    main: "main",
    sync: "synchrotron",
    sync_initial: "synchrotron",
    client: "generic",
    client_room: "generic",
    federation: "generic",
    federation_send: "generic",
    media: "mediaRepository",
    media_upload: "mediaRepository",
  };
  return { type: types[backend]! };
}

/** The process types HAProxy sends requests to (each route's backend, and main, which takes the rest). */
export function routedTypes(synapse: SynapsePlan): Set<WorkerType> {
  return new Set<WorkerType>(["main", ...routes(synapse).map((r) => backendMembers(r.backend, synapse).type)]);
}

export type HaproxyServer =
  | { kind: "server"; name: string; host: string; port: number }
  /** DNS-discovered pods of a Deployment: up to `count` slots filled from the Service's records. */
  | { kind: "template"; prefix: string; count: number; fqdn: string; port: number };

/** Where the servers of a backend are; Kubernetes and loopback each provide one. */
export type ServerSource = (type: WorkerType, instances?: readonly string[]) => HaproxyServer[];

export interface HaproxyOptions {
  bind: string;
  /** HTTPS (client and federation), the HTTP port that only redirects to HTTPS, and metrics. */
  ports: { https: number; http: number; stats: number };
  /** The certificate HAProxy serves when TLS ends at HAProxy (`tls.crt`; its key `tls.key` beside it). */
  certificate?: string;
  /** DNS resolution for Kubernetes names (parse /etc/resolv.conf); off for loopback addresses. */
  dnsResolvers: boolean;
  /** Element Call: serve /.well-known/matrix/client with the RTC focus and route the JWT service. */
  rtc?: { wellKnownClient: Record<string, unknown>; jwtServer: HaproxyServer; jwtPathPrefix: string };
}

/** The LiveKit focus clients use for calls (MSC4143): the JWT service under the homeserver's name. */
export function rtcFoci(serverName: string, jwtPathPrefix: string): Record<string, unknown>[] {
  return [{ type: "livekit", livekit_service_url: `https://${serverName}${jwtPathPrefix}` }];
}

/** The client well-known document: the homeserver and the LiveKit focus clients use for calls. */
export function wellKnownClient(serverName: string, jwtPathPrefix?: string): Record<string, unknown> {
  return {
    "m.homeserver": { base_url: `https://${serverName}` },
    ...(jwtPathPrefix ? { "org.matrix.msc4143.rtc_foci": rtcFoci(serverName, jwtPathPrefix) } : {}),
  };
}

/**
 * The server well-known document: federation reaches this deployment on port 443, not 8448. Served
 * without federation too: the call service finds the OpenID user-info endpoint through it.
 */
export function wellKnownServer(serverName: string): Record<string, unknown> {
  return { "m.server": `${serverName}:443` };
}

/** Serves a JSON document at a path, from HAProxy itself. */
function serveJson(path: string, document: Record<string, unknown>): string {
  return `  http-request return status 200 content-type application/json hdr Access-Control-Allow-Origin "*" string '${JSON.stringify(document)}' if { path ${path} }`;
}

/**
 * The rules that refuse paths look at the decoded path: Synapse matches the raw path (it answers
 * `/_synapse/%61dmin` with 404), but anything in front that decodes must not open a way round.
 */
const DECODED_PATH = "path,url_dec";

/**
 * /sync stickiness: the user part of `syt_<user>_<random>_<crc>` tokens (Synapse), so every device
 * of a user lands together; any other token (`mat_…` from Matrix Authentication Service, older
 * macaroons) by the first 8 bytes of its SHA-256 (upper-case hex), so the token itself is never
 * stored or logged.
 */
const STICKINESS_KEY = [
  `  http-request set-var(txn.token) 'req.fhdr(authorization),regsub("^Bearer +","")' if { req.fhdr(authorization) -m beg "Bearer " }`,
  "  http-request set-var(txn.token) url_param(access_token) if !{ var(txn.token) -m found } { url_param(access_token) -m found }",
  "  http-request set-var(txn.mxid) var(txn.token),field(2,_) if { var(txn.token) -m beg syt_ }",
  "  http-request set-var(txn.mxid) var(txn.token),sha2(256),bytes(0,8),hex if !{ var(txn.mxid) -m found } { var(txn.token) -m found }",
  "  http-request unset-var(txn.token)",
];

/**
 * Query parameters that carry a secret somewhere in Synapse's API (access and login tokens, the
 * 3PID `client_secret`/`sid`/`token`, registration tokens, SSO `code`/`state`): their values are
 * logged as `redacted`, names matched in any case. Synapse decodes parameter names, so a query
 * with a percent-encoded name (`access%5Ftoken`) is logged as `redacted` whole.
 */
const SECRET_PARAMETERS = ["access_token", "logintoken", "client_secret", "sid", "token", "code", "state"];

/** The request target as logged: the path, and the query with every secret redacted. */
const LOGGED_TARGET = [
  "  acl encoded_name query -m reg (^|&)[^=&]*%",
  `  http-request set-var(txn.logq) 'query,regsub("(^|&)(${SECRET_PARAMETERS.join("|")})=[^&]*","\\1\\2=redacted",gi)' if { query -m found } !encoded_name`,
  "  http-request set-var(txn.logq) str(redacted) if encoded_name",
  "  http-request set-var(txn.logpath) path,concat(?,txn.logq,) if { var(txn.logq) -m found }",
  "  http-request set-var(txn.logpath) path unless { var(txn.logq) -m found }",
];

type Balance = { kind: "roundrobin" } | { kind: "hash"; key: "user" | "room" | "origin" };

const BALANCE: Record<string, Balance> = {
  sync: { kind: "hash", key: "user" },
  sync_initial: { kind: "hash", key: "user" },
  client_room: { kind: "hash", key: "room" },
  federation_send: { kind: "hash", key: "origin" },
  stream_receipts: { kind: "hash", key: "room" },
  stream_device_lists: { kind: "hash", key: "user" },
};

const HASH_VAR = { user: "txn.mxid", room: "txn.room", origin: "txn.origin" } as const;

/** Backends that must not fall back to main when empty (main does not serve them). */
const NO_FALLBACK: ReadonlySet<BackendId> = new Set(["media", "media_upload"]);

function aclName(route: Route): string {
  return `r_${route.id}`;
}

function useBackend(route: Route): string {
  const fallback = NO_FALLBACK.has(route.backend) ? "" : ` { nbsrv(${route.backend}) gt 0 }`;
  const groups = route.when ? CONDITION_ACLS[route.when] : [[]];
  const condition = groups.map((group) => [aclName(route), ...group].join(" ") + fallback).join(" || ");
  return `  use_backend ${route.backend} if ${condition}`;
}

function serverLines(servers: HaproxyServer[], dns: boolean): string[] {
  const resolve = dns ? " resolvers kubernetes resolve-prefer ipv4 init-addr none" : "";
  return servers.map((s) =>
    s.kind === "server" ? `  server ${s.name} ${s.host}:${s.port}${resolve}` : `  server-template ${s.prefix} ${s.count} ${s.fqdn}:${s.port}${resolve}`,
  );
}

export function renderHaproxyConfig(plan: Pick<Plan, "synapse" | "routing" | "serverName">, source: ServerSource, options: HaproxyOptions): string {
  const { synapse, routing } = plan;
  const { edge } = routing;
  const t = routing.timeouts;
  const check = `inter ${edge.healthCheck.intervalSeconds}s fall ${edge.healthCheck.fall} rise ${edge.healthCheck.rise} check`;
  if (edge.tls.terminatesAt === "haproxy" && !options.certificate) throw new Error("HAProxy terminates TLS: a certificate path is needed");
  const proxy = edge.proxyProtocol ? " accept-proxy" : "";
  const tls = edge.tls.terminatesAt === "haproxy" ? ` ssl crt ${options.certificate} alpn h2,http/1.1` : "";
  const table = routes(synapse);
  const backends = [...new Set<BackendId>(["main", ...table.map((r) => r.backend)])];
  const lines: string[] = [
    "# Generated by matrix-scale from the sizing plan. Do not edit: change the stack config.",
    "global",
    "  log stdout format raw local0",
    // `crt …/tls.crt` finds its key in `…/tls.key`, as a kubernetes.io/tls Secret mounts them.
    "  ssl-load-extra-del-ext",
    "  ssl-default-bind-options ssl-min-ver TLSv1.2",
    "",
    "defaults",
    "  mode http",
    "  log global",
    // user = the token's user part that /sync stickiness hashes on, so stickiness can be audited.
    // No token reaches the log: the query is logged with tokens redacted, the stickiness key is a user part or a hash.
    '  log-format "%ci %HM %[var(txn.logpath)] backend=%b server=%s status=%ST time=%Ta user=%[var(txn.mxid)]"',
    "  option http-server-close",
    // A server that refuses a connection (a pod stopping) costs a retry on another, not an error.
    "  retries 3",
    "  option redispatch 1",
    `  timeout connect ${t.connectSeconds}s`,
    `  timeout client ${t.clientSeconds}s`,
    `  timeout server ${t.serverSeconds}s`,
    `  timeout queue ${t.queueSeconds}s`,
    "  timeout http-request 30s",
    "  option httpchk GET /health",
    "  http-check expect status 200",
    `  timeout check ${edge.healthCheck.timeoutSeconds}s`,
    `  default-server ${check}`,
    "",
  ];
  if (options.dnsResolvers) {
    const d = edge.dns;
    lines.push(
      "resolvers kubernetes",
      "  parse-resolv-conf",
      `  accepted_payload_size ${d.payloadBytes}`,
      `  timeout resolve ${d.resolveSeconds}s`,
      `  hold valid ${d.resolveSeconds}s`,
      `  hold obsolete ${d.holdSeconds}s`,
      `  hold nx ${d.holdSeconds}s`,
      "",
    );
  }
  const adminFrom = edge.adminCidrs.length ? ` !{ src ${edge.adminCidrs.join(" ")} }` : "";
  lines.push(
    "frontend matrix",
    `  bind ${options.bind}:${options.ports.https}${tls}${proxy}`,
    // The client's address as HAProxy saw it (or as the load balancer's PROXY header gave it), never one the client sent.
    "  http-request set-header X-Forwarded-For %[src]",
    "  http-request set-header X-Forwarded-Proto https",
    // After-response: HAProxy's own answers (well-knowns, refusals) carry it too.
    `  http-after-response set-header Strict-Transport-Security "max-age=${edge.hstsMaxAgeSeconds}"`,
    ...LOGGED_TARGET,
    // The replication listener is internal: never reachable through the proxy.
    `  http-request deny deny_status 404 if { ${DECODED_PATH} -m beg /_synapse/replication }`,
    `  http-request deny deny_status 403 if { ${DECODED_PATH} -m beg /_synapse/admin }${adminFrom}`,
    serveJson("/.well-known/matrix/server", wellKnownServer(plan.serverName)),
    ...(synapse.federation
      ? []
      : [`  http-request deny deny_status 403 if { ${DECODED_PATH} -m beg /_matrix/federation/ /_matrix/key/ } !{ ${DECODED_PATH} -m str ${OPENID_USERINFO} }`]),
    ...STICKINESS_KEY,
    // Room pinning: the room id (or alias) of /rooms/<id>/…, /join/<id> and /knock/<id>, decoded so
    // `!room` and `%21room` hash alike.
    `  http-request set-var(txn.room) 'path,regsub("^.*/(rooms|join|knock)/([^/]+).*$","\\2"),url_dec' if { path_reg /rooms/[^/]+/ } || { path_reg /(join|knock)/[^/]+$ }`,
    `  http-request set-var(txn.origin) 'req.fhdr(authorization),regsub("^.*origin=\\"?([^\\",]+).*$","\\1")' if { req.fhdr(authorization) -m beg "X-Matrix" }`,
    serveJson("/.well-known/matrix/client", options.rtc?.wellKnownClient ?? wellKnownClient(plan.serverName)),
    ...(options.rtc
      ? [
          `  http-request set-var(txn.lk_jwt) bool(true) if { path_beg ${options.rtc.jwtPathPrefix}/ }`,
          `  http-request replace-path ${options.rtc.jwtPathPrefix}(/.*) \\1 if { var(txn.lk_jwt) -m bool }`,
          "  use_backend lk_jwt if { var(txn.lk_jwt) -m bool }",
        ]
      : []),
    "  acl is_get method GET HEAD",
    "  acl has_since url_param(since) -m found",
    "  acl has_from url_param(from) -m found",
    "  acl full_state url_param(full_state) -m str true",
  );
  for (const route of table) lines.push(`  acl ${aclName(route)} path_reg ${route.patterns.join(" ")}`);
  for (const route of table) lines.push(useBackend(route));
  lines.push("  default_backend main", "");

  for (const backend of backends) {
    const members = backendMembers(backend, synapse);
    const balance = BALANCE[backend] ?? { kind: "roundrobin" };
    lines.push(`backend ${backend}`);
    if (balance.kind === "hash") lines.push(`  balance hash var(${HASH_VAR[balance.key]})`, "  hash-type consistent");
    else lines.push("  balance roundrobin");
    if (backend === "sync_initial") {
      lines.push(`  timeout server ${t.initialSyncSeconds}s`, `  default-server ${check} maxconn ${routing.initialSyncsPerSynchrotron}`);
    }
    // Each upload in flight spools into the worker's /tmp and its local store: the plan sizes both for this many.
    // A queued upload waits as long as HAProxy waits for a client.
    if (backend === "media_upload") lines.push(`  timeout queue ${t.clientSeconds}s`, `  default-server ${check} maxconn ${synapse.scratch.uploadsInFlight}`);
    lines.push(...serverLines(source(members.type, members.instances), options.dnsResolvers), "");
  }

  if (options.rtc) {
    lines.push("backend lk_jwt", "  option httpchk GET /healthz", ...serverLines([options.rtc.jwtServer], options.dnsResolvers), "");
  }
  lines.push(
    "frontend http_redirect",
    `  bind ${options.bind}:${options.ports.http}${proxy}`,
    "  http-request redirect scheme https code 301",
    "",
  );
  lines.push("frontend stats", `  bind ${options.bind}:${options.ports.stats}`, "  http-request use-service prometheus-exporter if { path /metrics }", "  monitor-uri /healthz", "");
  return lines.join("\n");
}

/**
 * Kubernetes: named pods by their stable DNS names; Deployment pods discovered from their Service
 * of ready pods, a slot for each pod the HPA maximum and a rollout's surge can run.
 */
export function kubernetesServers(synapse: SynapsePlan, edge: EdgePlan, namespace: string, port: number): ServerSource {
  return (type, instances) => {
    const worker = synapse.workers[type];
    const service = WORKER_NAMES[type];
    if (worker.autoscaled) {
      return [{ kind: "template", prefix: type, count: edge.dns.slots[type]!, fqdn: `${routableServiceName(service)}.${namespace}.svc.cluster.local`, port }];
    }
    const names = instances ?? (type === "main" ? [`${service}-0`] : worker.instances);
    return names.map((name) => ({ kind: "server", name, host: `${name}.${service}.${namespace}.svc.cluster.local`, port }));
  };
}
