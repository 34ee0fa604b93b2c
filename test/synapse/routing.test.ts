/** The routing table against the worker documentation, and first-match routing of sample requests. */
import { describe, expect, it } from "vitest";
import { renderHaproxyConfig, routes, wellKnownClient, type Route, type ServerSource } from "../../components/synapse/routing";
import { GENERIC_WORKER_PATTERNS, MEDIA_PATTERNS, STREAM_WRITER_PATTERNS } from "../fixtures/worker-endpoints";
import { planFor } from "../helpers";

// Computed inside each test, never at collection time (see docs/mutation.md: static mutants).
const table = () => routes(planFor(100).synapse);
/** Documented patterns matrix-scale writes differently, with the reason. */
const REWRITTEN: Record<string, string> = {
  // The docs' trailing slash never matches the spec's /keys/upload; device-list writers own it.
  "^/_matrix/client/(r0|v3|unstable)/keys/upload/": "^/_matrix/client/(r0|v3|unstable)/keys/upload",
};

/**
 * The worker documentation's SSO endpoints ("Ensure that all SSO logins go to a single process"),
 * transcribed from ../shared/seeds/synapse-workers-current.md.
 */
const SSO_PATTERNS = [
  "^/_matrix/client/(api/v1|r0|v3|unstable)/login/sso/redirect",
  "^/_synapse/client/pick_idp$",
  "^/_synapse/client/pick_username",
  "^/_synapse/client/new_user_consent$",
  "^/_synapse/client/sso_register$",
  "^/_synapse/client/oidc/callback$",
  "^/_synapse/client/saml2/authn_response$",
  "^/_matrix/client/(api/v1|r0|v3|unstable)/login/cas/ticket$",
];

/** HAProxy's first-match evaluation, mirrored for tests (the integration test runs the real one). */
function route(method: string, url: string): string {
  const [path, query = ""] = url.split("?") as [string, string?];
  const params = new URLSearchParams(query);
  const when: Record<NonNullable<Route["when"]>, boolean> = {
    initial_sync: !params.has("since") || params.get("full_state") === "true",
    incremental_sync: params.has("since") && params.get("full_state") !== "true",
    initial_events: !params.has("from"),
    get: method === "GET" || method === "HEAD",
  };
  if (path.startsWith("/_synapse/replication")) return "denied";
  const hit = table().find((r) => r.patterns.some((p) => new RegExp(p).test(path)) && (!r.when || when[r.when]));
  return hit?.backend ?? "main";
}

describe("routing table", () => {
  it("covers every endpoint pattern of the worker documentation", () => {
    const allPatterns = new Set(table().flatMap((r) => r.patterns));
    for (const pattern of [...GENERIC_WORKER_PATTERNS, ...MEDIA_PATTERNS, ...Object.values(STREAM_WRITER_PATTERNS).flat()]) {
      expect(allPatterns.has(REWRITTEN[pattern] ?? pattern), pattern).toBe(true);
    }
  });

  it("sends every stream's documented endpoints to that stream's writer", () => {
    for (const [stream, patterns] of Object.entries(STREAM_WRITER_PATTERNS)) {
      const owner = table().find((r) => r.backend === `stream_${stream}`)!;
      for (const p of patterns) expect(owner.patterns, stream).toContain(p);
    }
  });

  it.each([
    ["GET", "/_matrix/client/v3/sync", "sync_initial"],
    ["GET", "/_matrix/client/v3/sync?since=s1_2&timeout=30000", "sync"],
    // Sliding sync: Synapse 1.163 registers SlidingSyncRestServlet (rest/client/sync.py) on every worker.
    ["POST", "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync", "sync"],
    ["POST", "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?pos=5&timeout=30000", "sync"],
    ["GET", "/_matrix/client/v3/sync?since=s1_2&full_state=true", "sync_initial"],
    ["GET", "/_matrix/client/v3/events", "sync_initial"],
    ["GET", "/_matrix/client/v3/events?from=s1", "sync"],
    ["GET", "/_matrix/client/v3/initialSync", "sync_initial"],
    ["GET", "/_matrix/client/v3/rooms/!r:x/initialSync", "sync_initial"],
    ["PUT", "/_matrix/client/v3/rooms/!r:x/typing/@a:x", "stream_typing"],
    ["PUT", "/_matrix/client/v3/sendToDevice/m.room.encrypted/1", "stream_to_device"],
    ["PUT", "/_matrix/client/v3/user/@a:x/account_data/m.direct", "stream_account_data"],
    ["PUT", "/_matrix/client/v3/user/@a:x/rooms/!r:x/tags/u.work", "stream_account_data"],
    ["POST", "/_matrix/client/v3/rooms/!r:x/receipt/m.read/$e", "stream_receipts"],
    ["POST", "/_matrix/client/v3/rooms/!r:x/read_markers", "stream_receipts"],
    ["PUT", "/_matrix/client/v3/presence/@a:x/status", "stream_presence"],
    ["PUT", "/_matrix/client/v3/pushrules/global/override/x", "stream_push_rules"],
    ["POST", "/_matrix/client/v3/keys/upload", "stream_device_lists"],
    ["POST", "/_matrix/client/v3/keys/query", "client"],
    ["PUT", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/1", "client_room"],
    ["PUT", "/_matrix/client/v3/rooms/!r:x/state/m.room.name/", "client_room"],
    ["GET", "/_matrix/client/v3/rooms/!r:x/messages?from=t1", "client_room"],
    ["GET", "/_matrix/client/v3/rooms/!r:x/state", "client"],
    ["POST", "/_matrix/client/v3/createRoom", "client"],
    ["POST", "/_matrix/client/v3/login", "client"],
    ["GET", "/_matrix/client/v3/login/sso/redirect", "main"],
    ["GET", "/_synapse/client/pick_idp", "main"],
    ["POST", "/_synapse/client/pick_username/submit", "main"],
    ["POST", "/_synapse/client/saml2/authn_response", "main"],
    ["GET", "/_matrix/client/r0/login/cas/ticket", "main"],
    ["POST", "/_matrix/client/v3/keys/device_signing/upload", "stream_device_lists"],
    ["POST", "/_matrix/client/unstable/keys/signatures/upload", "stream_device_lists"],
    ["GET", "/_matrix/client/v3/keys/changes", "client"],
    ["GET", "/_matrix/client/versions", "client"],
    ["GET", "/_matrix/client/v3/pushrules/", "stream_push_rules"],
    ["PUT", "/_matrix/client/v3/rooms/!r:x/redact/$e/1", "client_room"],
    ["POST", "/_matrix/client/v3/join/!r:x", "client_room"],
    ["POST", "/_matrix/client/v3/rooms/!r:x/invite", "client_room"],
    ["GET", "/_matrix/client/v3/rooms/!r:x/members", "client"],
    ["GET", "/_matrix/media/v3/download/x/y", "media"],
    ["POST", "/_synapse/admin/v1/purge_media_cache", "media"],
    ["GET", "/_matrix/federation/v1/media/download/x", "media"],
    ["PUT", "/_matrix/federation/v2/send_join/!r:x/$e", "federation"],
    ["GET", "/_matrix/key/v2/query/x", "federation"],
    ["GET", "/_synapse/client/oidc/callback", "main"],
    ["POST", "/_matrix/media/v3/upload", "media_upload"],
    ["PUT", "/_matrix/media/v3/upload/matrix.test/abc", "media_upload"],
    ["POST", "/_matrix/media/v1/create", "media"],
    ["GET", "/_matrix/client/v1/media/download/x/y", "media"],
    ["PUT", "/_matrix/federation/v1/send/1234", "federation_send"],
    ["GET", "/_matrix/federation/v1/event/$e", "federation"],
    ["GET", "/_matrix/key/v2/server", "main"],
    ["GET", "/_matrix/client/unstable/org.matrix.msc4140/delayed_events", "client"],
    ["POST", "/_matrix/client/unstable/org.matrix.msc4140/delayed_events", "main"],
    // A call member's heartbeat: Synapse 1.163 registers RestartDelayedEventServlet on workers; cancel and send only on main.
    ["POST", "/_matrix/client/unstable/org.matrix.msc4140/delayed_events/abc/restart", "client"],
    ["POST", "/_matrix/client/unstable/org.matrix.msc4140/delayed_events/abc/cancel", "main"],
    ["POST", "/_matrix/client/unstable/org.matrix.msc4140/delayed_events/abc/send", "main"],
    // The OpenID user-info check the call service makes: main (a generic worker of 1.163 fails it).
    ["GET", "/_matrix/federation/v1/openid/userinfo?access_token=x", "main"],
    ["GET", "/_synapse/admin/v1/users/@a:x", "main"],
    ["POST", "/_synapse/replication/send_event/x", "denied"],
  ])("%s %s → %s", (method, url, backend) => {
    expect(route(method, url)).toBe(backend);
  });

  it("SSO: every documented SSO endpoint goes to one process (main), ahead of the client routes", () => {
    const ids = table().map((r) => r.id);
    const sso = table().find((r) => r.id === "sso")!;
    expect(sso.backend).toBe("main");
    expect(sso.when).toBeUndefined();
    expect(sso.patterns).toEqual(SSO_PATTERNS);
    expect(ids.indexOf("sso")).toBeLessThan(ids.indexOf("client"));
    expect(ids.indexOf("sso")).toBeLessThan(ids.indexOf("room_pinned"));
  });

  it("conditions: which routes depend on the request beyond its path", () => {
    expect(Object.fromEntries(table().filter((r) => r.when).map((r) => [r.id, r.when]))).toEqual({
      sync_initial: "initial_sync",
      sync: "incremental_sync",
      events_initial: "initial_events",
      client_get: "get",
    });
  });

  it("without federation, federation paths fall through to main (which serves no federation listener)", () => {
    const off = routes(planFor(100, { federation: false }).synapse);
    expect(off.some((r) => r.backend.startsWith("federation"))).toBe(false);
  });
});

describe("route names and the configuration's layout (found by the mutation check, docs/mutation.md)", () => {
  it("every route has its own name, usable in an ACL name (r_<id>): HAProxy ORs ACLs that share a name", () => {
    for (const federation of [true, false]) {
      const ids = routes(planFor(5000, { federation }).synapse).map((r) => r.id);
      for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it("every line is blank, a comment, a section keyword of HAProxy's configuration manual at column 0, or an indented setting", () => {
    const SECTIONS = /^(global|defaults|frontend \S+|backend \S+|listen \S+|resolvers \S+)$/;
    const p = planFor(1000);
    const rtc = {
      wellKnownClient: wellKnownClient(p.serverName, "/livekit/jwt"),
      jwtServer: { kind: "server" as const, name: "lk-jwt", host: "lk-jwt.matrix.svc.cluster.local", port: 8080 },
      jwtPathPrefix: "/livekit/jwt",
    };
    // Where the servers are does not matter here: one loopback server per backend.
    const source: ServerSource = (type) => [{ kind: "server", name: `${type}-0`, host: "127.0.0.1", port: 9000 }];
    for (const dnsResolvers of [true, false]) {
      const text = renderHaproxyConfig(p, source, {
        bind: "0.0.0.0",
        ports: { https: 8443, http: 8080, stats: 8405 },
        certificate: "/tls/tls.crt",
        dnsResolvers,
        rtc,
      });
      const lines = text.split("\n");
      for (const line of lines) {
        if (line === "" || line.startsWith("#") || /^  \S/.test(line)) continue;
        expect(line, "a line at column 0 opens a section").toMatch(SECTIONS);
      }
      // Sections are separated by a blank line, and the file ends with a newline.
      lines.forEach((line, i) => {
        if (i > 1 && SECTIONS.test(line)) expect(lines[i - 1], line).toBe("");
      });
      expect(text.endsWith("\n")).toBe(true);
      expect(lines.filter((l) => SECTIONS.test(l))).toContain("backend lk_jwt");
      expect(lines.includes("resolvers kubernetes")).toBe(dnsResolvers);
    }
  });
});
