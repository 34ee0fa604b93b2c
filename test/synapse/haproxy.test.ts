/**
 * The HAProxy configuration rendered from the routing table, checked line by line against what
 * the documents ask for (DESIGN.md "Synapse facts", docs/synapse.md "Routing", the worker
 * documentation's load-balancing advice in ../shared/seeds/synapse-workers-current.md). The
 * integration test boots the real HAProxy with it; these checks run in milliseconds.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  backendMembers,
  kubernetesServers,
  renderHaproxyConfig,
  routes,
  wellKnownClient,
  type HaproxyOptions,
  type HaproxyServer,
  type ServerSource,
} from "../../components/synapse/routing";
import type { Plan } from "../../sizing";
import { planFor } from "../helpers";

const NS = "matrix";
const OPTIONS: HaproxyOptions = { bind: "0.0.0.0", ports: { https: 8443, http: 8080, stats: 8405 }, certificate: "/tls/tls.crt", dnsResolvers: true };
const RTC = {
  wellKnownClient: { "m.homeserver": { base_url: "https://m.example.com" } },
  jwtServer: { kind: "server", name: "lk-jwt", host: "lk-jwt.matrix.svc.cluster.local", port: 8080 } as HaproxyServer,
  jwtPathPrefix: "/livekit/jwt",
};

/** The config as sections: "frontend matrix" → its lines (trimmed), in order. */
function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    if (!line.startsWith(" ")) {
      current = line;
      out.set(current, []);
    } else out.get(current)!.push(line.trim());
  }
  return out;
}

interface Request {
  path: string;
  query?: string;
  authorization?: string | undefined;
}

/**
 * What one `http-request set-var(...) <sample>,<converters> if <condition>` line stores for a
 * request, or undefined when its condition is false: a small emulation of the HAProxy fetches and
 * converters these lines use (path, req.fhdr, url_param; field, regsub, url_dec; beg/found/path_reg).
 */
function setVar(line: string, req: Request, vars: Record<string, string> = {}): string | undefined {
  const m = /^http-request set-var\([\w.]+\) (?:'([^']*)'|(\S+)) if (.*)$/.exec(line);
  if (!m) throw new Error(`not a set-var line: ${line}`);
  const [first, ...converters] = splitTop(m[1] ?? m[2]!);
  const params = new URLSearchParams(req.query ?? "");
  const fetch = (sample: string): string | undefined => {
    if (sample === "path") return req.path;
    if (sample === "req.fhdr(authorization)") return req.authorization;
    const variable = /^var\(([\w.]+)\)$/.exec(sample);
    if (variable) return vars[variable[1]!];
    const param = /^url_param\((\w+)\)$/.exec(sample);
    if (param) return params.get(param[1]!) ?? undefined;
    throw new Error(`unknown fetch ${sample}`);
  };
  const term = (t: string): boolean => {
    const neg = t.startsWith("!");
    const body = (neg ? t.slice(1) : t).trim().replace(/^\{ (.*) \}$/, "$1");
    let result: boolean;
    let x: RegExpExecArray | null;
    if ((x = /^var\(([\w.]+)\) -m found$/.exec(body))) result = x[1]! in vars;
    else if ((x = /^(\S+) -m found$/.exec(body))) result = fetch(x[1]!) !== undefined;
    else if ((x = /^path_reg (\S+)$/.exec(body))) result = new RegExp(x[1]!).test(req.path);
    else if ((x = /^(\S+) -m beg "?([^"]+)"?$/.exec(body))) result = fetch(x[1]!)?.startsWith(x[2]!) ?? false;
    else throw new Error(`unknown condition ${body}`);
    return neg ? !result : result;
  };
  const holds = m[3]!.split(" || ").some((group) => (group.match(/!?\{ [^}]* \}|\S+/g) ?? []).every(term));
  if (!holds) return undefined;
  let value = fetch(first!);
  for (const c of converters) {
    if (value === undefined) return undefined;
    let x: RegExpExecArray | null;
    if ((x = /^field\((\d+),(.)\)$/.exec(c))) value = value.split(x[2]!)[Number(x[1]) - 1] ?? "";
    else if ((x = /^regsub\("(.*)",""\)$/.exec(c))) value = value.replace(new RegExp(x[1]!), "");
    else if (c === "sha2(256)") value = createHash("sha256").update(value).digest("binary");
    else if ((x = /^bytes\((\d+),(\d+)\)$/.exec(c))) value = value.slice(Number(x[1]), Number(x[1]) + Number(x[2]));
    else if (c === "hex") value = Buffer.from(value, "binary").toString("hex").toUpperCase();
    else if ((x = /^regsub\("(.*)","\\(\d)"\)$/.exec(c))) {
      const re = new RegExp(x[1]!.replace(/\\"/g, '"'));
      const n = Number(x[2]);
      value = value.replace(re, (...groups) => String(groups[n] ?? ""));
    } else if (c === "url_dec") value = decodeURIComponent(value);
    else throw new Error(`unknown converter ${c}`);
  }
  return value;
}

/** Split `a,b("x,y"),c` on the commas outside parentheses and quotes. */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\\") {
      current += ch + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === "(") depth++;
    else if (!quoted && ch === ")") depth--;
    if (ch === "," && depth === 0 && !quoted) {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out;
}

function render(p: Plan, options: Partial<HaproxyOptions> = {}, source: ServerSource = kubernetesServers(p.synapse, p.routing.edge, NS, 8008)) {
  const text = renderHaproxyConfig(p, source, { ...OPTIONS, ...options });
  return { text, s: sections(text) };
}

describe("HAProxy configuration", () => {
  it("global and defaults: HTTP mode, logs with the sticky user, /health checks, the plan's timeouts", () => {
    const p = planFor(100);
    const { text, s } = render(p);
    expect(text.split("\n")[0]).toMatch(/^# Generated by matrix-scale .*Do not edit/);
    expect(s.get("global")).toEqual(["log stdout format raw local0", "ssl-load-extra-del-ext", "ssl-default-bind-options ssl-min-ver TLSv1.2"]);
    const t = p.routing.timeouts;
    expect(s.get("defaults")).toEqual([
      "mode http",
      "log global",
      // Stickiness is auditable: the log names the user part the sync backends hash on.
      // The target as logged has its tokens redacted (txn.logpath); never %HQ or %r, which hold access_token.
      'log-format "%ci %HM %[var(txn.logpath)] backend=%b server=%s status=%ST time=%Ta user=%[var(txn.mxid)]"',
      "option http-server-close",
      "retries 3",
      "option redispatch 1",
      `timeout connect ${t.connectSeconds}s`,
      `timeout client ${t.clientSeconds}s`,
      `timeout server ${t.serverSeconds}s`,
      `timeout queue ${t.queueSeconds}s`,
      "timeout http-request 30s",
      // docs/synapse.md: health checks use /health.
      "option httpchk GET /health",
      "http-check expect status 200",
      "timeout check 5s",
      "default-server inter 5s fall 3 rise 2 check",
    ]);
    // A long-polling /sync holds a request about 30 s: the server timeout must outlast it.
    expect(t.serverSeconds).toBeGreaterThan(30);
    expect(t.clientSeconds).toBeGreaterThan(30);
  });

  it("resolvers only for Kubernetes names; every server resolved through them", () => {
    const p = planFor(100);
    const k8s = render(p);
    // 100 tier: the largest answer (4 addresses) fits the DNS minimum of 512 bytes.
    expect(k8s.s.get("resolvers kubernetes")).toEqual(["parse-resolv-conf", "accepted_payload_size 512", "timeout resolve 1s", "hold valid 1s", "hold obsolete 5s", "hold nx 5s"]);
    const servers = [...k8s.s.entries()].filter(([h]) => h.startsWith("backend")).flatMap(([, lines]) => lines.filter((l) => l.startsWith("server")));
    expect(servers.length).toBeGreaterThan(0);
    for (const line of servers) expect(line.endsWith(" resolvers kubernetes resolve-prefer ipv4 init-addr none"), line).toBe(true);
    const loopback = render(p, { bind: "127.0.0.1", dnsResolvers: false }, () => [{ kind: "server", name: "s0", host: "127.0.0.1", port: 9000 }]);
    expect(loopback.s.has("resolvers kubernetes")).toBe(false);
    expect(loopback.s.get("backend main")).toEqual(["balance roundrobin", "server s0 127.0.0.1:9000"]);
    expect(loopback.s.get("frontend matrix")![0]).toBe("bind 127.0.0.1:8443 ssl crt /tls/tls.crt alpn h2,http/1.1");
  });

  it("frontend: HTTPS, the client's own address, internal and admin paths refused first, then the hash keys", () => {
    const { s } = render(planFor(100));
    const front = s.get("frontend matrix")!;
    expect(front.slice(0, 11)).toEqual([
      "bind 0.0.0.0:8443 ssl crt /tls/tls.crt alpn h2,http/1.1",
      // Replaced, never appended to: a client cannot choose the address Synapse records.
      "http-request set-header X-Forwarded-For %[src]",
      "http-request set-header X-Forwarded-Proto https",
      // On HAProxy's own answers too (well-knowns, refusals, redirects are not http-response).
      'http-after-response set-header Strict-Transport-Security "max-age=31536000"',
      // Secret parameters anywhere in Synapse's API logged as "redacted" (names in any case); a percent-encoded name redacts the whole query.
      "acl encoded_name query -m reg (^|&)[^=&]*%",
      `http-request set-var(txn.logq) 'query,regsub("(^|&)(access_token|logintoken|client_secret|sid|token|code|state)=[^&]*","\\1\\2=redacted",gi)' if { query -m found } !encoded_name`,
      "http-request set-var(txn.logq) str(redacted) if encoded_name",
      "http-request set-var(txn.logpath) path,concat(?,txn.logq,) if { var(txn.logq) -m found }",
      "http-request set-var(txn.logpath) path unless { var(txn.logq) -m found }",
      // DESIGN.md: never route or expose the replication port; Twisted decodes path segments, so the decoded path is checked.
      "http-request deny deny_status 404 if { path,url_dec -m beg /_synapse/replication }",
      // The admin API: from nowhere unless edge.adminCidrs says so.
      "http-request deny deny_status 403 if { path,url_dec -m beg /_synapse/admin }",
    ]);
    expect(front[11]).toBe(`http-request return status 200 content-type application/json hdr Access-Control-Allow-Origin "*" string '{"m.server":"matrix.test.example:443"}' if { path /.well-known/matrix/server }`);
    // The room and the federation origin, by the converters HAProxy applies (emulated below).
    const room = front.find((l) => l.startsWith("http-request set-var(txn.room) "))!;
    const roomOf = (path: string) => setVar(room, { path });
    for (const path of ["/_matrix/client/v3/rooms/!abc:example.com/send/m.room.message/1", "/_matrix/client/v3/rooms/!abc:example.com/messages", "/_matrix/client/r0/rooms/!abc:example.com/state/m.room.name/"]) {
      expect(roomOf(path), path).toBe("!abc:example.com");
    }
    // Joins and knocks by room id or alias are pinned like the room's other requests, encoded or not.
    expect(roomOf("/_matrix/client/v3/join/!abc:example.com")).toBe("!abc:example.com");
    expect(roomOf("/_matrix/client/v3/knock/%23lobby%3Aexample.com")).toBe("#lobby:example.com");
    expect(roomOf("/_matrix/client/v3/rooms/%21abc%3Aexample.com/messages")).toBe("!abc:example.com");
    expect(roomOf("/_matrix/client/v3/sync")).toBeUndefined();
    expect(roomOf("/_matrix/client/v3/keys/query")).toBeUndefined();
    const origin = front.find((l) => l.startsWith("http-request set-var(txn.origin) "))!;
    const originOf = (authorization: string) => setVar(origin, { path: "/_matrix/federation/v1/send/1", authorization });
    expect(originOf('X-Matrix origin="other.example.org",destination="m.example.com",key="ed25519:a",sig="s"')).toBe("other.example.org");
    expect(originOf('X-Matrix origin=other.example.org,key="ed25519:a",sig="s"')).toBe("other.example.org");
    expect(originOf("Bearer syt_YWxpY2U_x_y")).toBeUndefined();
    // Stickiness: syt_<user>_<random>_<crc> by its user part, any other token by a hash of it (sha256, 8 bytes, hex).
    const first = front.findIndex((l) => l.startsWith("http-request set-var(txn.token)"));
    const keyLines = front.slice(first, first + 5);
    expect(keyLines.at(-1)).toBe("http-request unset-var(txn.token)");
    const stickiness = (authorization: string | undefined, query = "") => {
      const vars: Record<string, string> = {};
      for (const line of keyLines.slice(0, 4)) {
        const name = /set-var\(([\w.]+)\)/.exec(line)![1]!;
        const value = setVar(line, { path: "/_matrix/client/v3/sync", authorization, query }, vars);
        if (value !== undefined) vars[name] = value;
      }
      return vars["txn.mxid"];
    };
    expect(stickiness("Bearer syt_YWxpY2U_x7sK3m_1a2b3c")).toBe("YWxpY2U");
    expect(stickiness("Bearer syt_YWxpY2U_other_device")).toBe("YWxpY2U");
    expect(stickiness(undefined, "access_token=syt_Ym9i_abc_def&since=s1")).toBe("Ym9i");
    // Known value: the first 8 bytes of SHA-256("mat_opaque"), computed by Node's crypto (HAProxy's hex is upper-case).
    expect(stickiness("Bearer mat_opaque")).toBe(createHash("sha256").update("mat_opaque").digest("hex").slice(0, 16).toUpperCase());
    expect(stickiness(undefined, "access_token=mat_opaque")).toBe(stickiness("Bearer mat_opaque"));
    expect(stickiness("Bearer mat_other")).not.toBe(stickiness("Bearer mat_opaque"));
    expect(stickiness(undefined)).toBeUndefined();
    const acls = front.findIndex((l) => l === "acl is_get method GET HEAD");
    expect(front.slice(acls, acls + 4)).toEqual(["acl is_get method GET HEAD", "acl has_since url_param(since) -m found", "acl has_from url_param(from) -m found", "acl full_state url_param(full_state) -m str true"]);
    expect(front.at(-1)).toBe("default_backend main");
  });

  it("edge: admin API from the configured networks only; without federation its paths refused but for the OpenID user-info check Element Call makes (found through the server well-known)", () => {
    const open = render(planFor(100, { edge: { adminCidrs: ["192.0.2.0/24", "2001:db8::/32"] } })).s.get("frontend matrix")!;
    expect(open).toContain("http-request deny deny_status 403 if { path,url_dec -m beg /_synapse/admin } !{ src 192.0.2.0/24 2001:db8::/32 }");
    const closed = render(planFor(100, { federation: false })).s.get("frontend matrix")!;
    expect(closed).toContain("http-request deny deny_status 403 if { path,url_dec -m beg /_matrix/federation/ /_matrix/key/ } !{ path,url_dec -m str /_matrix/federation/v1/openid/userinfo }");
    expect(closed.some((l) => l.includes("/.well-known/matrix/server"))).toBe(true);
    expect(closed.some((l) => l.includes("/.well-known/matrix/client"))).toBe(true);
  });

  it("edge on AWS: the NLB's PROXY header on both ports, TLS at the NLB; elsewhere TLS at HAProxy, which then needs its certificate", () => {
    const acm = planFor(100, { target: "aws", aws: { certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/x" } });
    const offloaded = render(acm).s;
    expect(offloaded.get("frontend matrix")![0]).toBe("bind 0.0.0.0:8443 accept-proxy");
    expect(offloaded.get("frontend http_redirect")).toEqual(["bind 0.0.0.0:8080 accept-proxy", "http-request redirect scheme https code 301"]);
    expect(() => render(planFor(100), { certificate: undefined })).toThrow(/certificate path/);
    expect(render(planFor(100)).s.get("frontend http_redirect")).toEqual(["bind 0.0.0.0:8080", "http-request redirect scheme https code 301"]);
  });

  it("one ACL and one use_backend per route, in the table's order (first match wins), falling back to main except media (uploads and the rest)", () => {
    const p = planFor(1000);
    const table = routes(p.synapse);
    const front = render(p).s.get("frontend matrix")!;
    const acls = front.filter((l) => l.startsWith("acl r_"));
    expect(acls).toEqual(table.map((r) => `acl r_${r.id} path_reg ${r.patterns.join(" ")}`));
    const uses = front.filter((l) => l.startsWith("use_backend"));
    const expected: Record<string, string> = {
      stream_typing: "r_stream_typing {F}",
      sync_initial: "r_sync_initial !has_since {F} || r_sync_initial full_state {F}",
      sync: "r_sync has_since !full_state {F}",
      events_initial: "r_events_initial !has_from {F}",
      events: "r_events {F}",
      media_upload: "r_media_upload",
      media: "r_media",
      client_get: "r_client_get is_get {F}",
    };
    expect(uses).toHaveLength(table.length);
    table.forEach((route, i) => {
      const fallback = `{ nbsrv(${route.backend}) gt 0 }`;
      const condition = (expected[route.id] ?? `r_${route.id} {F}`).replaceAll("{F}", fallback);
      expect(uses[i], route.id).toBe(`use_backend ${route.backend} if ${condition}`);
    });
    // Every use_backend comes after every ACL, and before the default.
    expect(front.indexOf(uses[0]!)).toBeGreaterThan(front.indexOf(acls.at(-1)!));
  });

  it("balancing: /sync and initial syncs by user, event sending by room, federation /send by origin, receipts by room, device lists by user", () => {
    const { s } = render(planFor(5000));
    const balance = (backend: string) => s.get(`backend ${backend}`)!.filter((l) => l.startsWith("balance") || l.startsWith("hash-type"));
    const hashOn = (v: string) => [`balance hash var(${v})`, "hash-type consistent"];
    expect(balance("sync")).toEqual(hashOn("txn.mxid"));
    expect(balance("sync_initial")).toEqual(hashOn("txn.mxid"));
    expect(balance("client_room")).toEqual(hashOn("txn.room"));
    expect(balance("federation_send")).toEqual(hashOn("txn.origin"));
    expect(balance("stream_receipts")).toEqual(hashOn("txn.room"));
    expect(balance("stream_device_lists")).toEqual(hashOn("txn.mxid"));
    for (const b of ["main", "client", "federation", "media", "stream_typing", "stream_to_device", "stream_account_data", "stream_presence", "stream_push_rules"]) {
      expect(balance(b), b).toEqual(["balance roundrobin"]);
    }
    const backends = [...s.keys()].filter((h) => h.startsWith("backend ")).map((h) => h.slice("backend ".length));
    expect(backends[0]).toBe("main");
    expect(new Set(backends).size).toBe(backends.length);
  });

  it("initial syncs: a 15-minute server timeout and at most 2 at once per synchrotron (docs/synapse.md)", () => {
    const p = planFor(100);
    const lines = render(p).s.get("backend sync_initial")!;
    expect(p.routing.timeouts.initialSyncSeconds).toBe(15 * 60);
    expect(p.routing.initialSyncsPerSynchrotron).toBe(2);
    expect(lines).toContain("timeout server 900s");
    expect(lines).toContain(`default-server inter ${p.routing.healthCheckIntervalSeconds}s fall 3 rise 2 check maxconn 2`);
    expect(render(p).s.get("backend sync")!.some((l) => l.startsWith("timeout") || l.includes("maxconn"))).toBe(false);
  });

  it("servers: named pods by their StatefulSet DNS name, Deployments as a template with a slot per HPA maximum", () => {
    const p = planFor(100);
    const { s } = render(p);
    const servers = (b: string) => s.get(`backend ${b}`)!.filter((l) => l.startsWith("server"));
    const dns = " resolvers kubernetes resolve-prefer ipv4 init-addr none";
    const pod = (name: string, svc: string) => `server ${name} ${name}.${svc}.matrix.svc.cluster.local:8008${dns}`;
    expect(servers("main")).toEqual([pod("synapse-main-0", "synapse-main")]);
    // Tier 100: 2 synchrotrons and 2 generic workers, HPA maximum ⌈1.5 × 2⌉ = 3 each, plus the one pod a rollout surges: 4 slots,
    // discovered through the Service of ready pods only.
    expect(servers("sync")).toEqual([`server-template synchrotron 4 synapse-synchrotron-routable.matrix.svc.cluster.local:8008${dns}`]);
    expect(servers("sync_initial")).toEqual(servers("sync"));
    for (const b of ["client", "client_room", "federation", "federation_send"]) expect(servers(b), b).toEqual([`server-template generic 4 synapse-generic-worker-routable.matrix.svc.cluster.local:8008${dns}`]);
    expect(servers("media")).toEqual([0, 1].map((i) => pod(`synapse-media-repository-${i}`, "synapse-media-repository")));
    // Streams with one writer go to that writer only; shared streams to every writer.
    for (const [stream, writers] of Object.entries(p.synapse.streamWriters)) {
      if (stream === "events" || stream === "quarantined_media_changes") continue;
      expect(servers(`stream_${stream}`), stream).toEqual(writers!.map((w) => pod(w, "synapse-stream-writer")));
    }
    expect(servers("stream_receipts")).toHaveLength(2);
  });

  it("without federation: no federation backends", () => {
    const { s } = render(planFor(100, { federation: false }));
    expect([...s.keys()].filter((h) => h.includes("federation"))).toEqual([]);
    expect(s.get("frontend matrix")!.filter((l) => /^(acl r_federation|use_backend federation)/.test(l))).toEqual([]);
  });

  it("Element Call: the client well-known with the LiveKit focus (MSC4143) and the JWT service under its prefix", () => {
    const { s } = render(planFor(100), { rtc: { ...RTC, wellKnownClient: wellKnownClient("m.example.com", "/livekit/jwt") } });
    const front = s.get("frontend matrix")!;
    const ret = front.find((l) => l.startsWith("http-request return") && l.endsWith("{ path /.well-known/matrix/client }"))!;
    const json = /string '(.*)' if \{ path \/\.well-known\/matrix\/client \}$/.exec(ret);
    expect(ret.startsWith('http-request return status 200 content-type application/json hdr Access-Control-Allow-Origin "*" string ')).toBe(true);
    expect(JSON.parse(json![1]!)).toEqual({
      "m.homeserver": { base_url: "https://m.example.com" },
      "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://m.example.com/livekit/jwt" }],
    });
    const i = front.indexOf(ret);
    expect(front.slice(i + 1, i + 4)).toEqual([
      "http-request set-var(txn.lk_jwt) bool(true) if { path_beg /livekit/jwt/ }",
      "http-request replace-path /livekit/jwt(/.*) \\1 if { var(txn.lk_jwt) -m bool }",
      "use_backend lk_jwt if { var(txn.lk_jwt) -m bool }",
    ]);
    // Before the Synapse routes: a JWT path never reaches Synapse.
    expect(i).toBeLessThan(front.findIndex((l) => l.startsWith("use_backend stream_")));
    expect(s.get("backend lk_jwt")).toEqual(["option httpchk GET /healthz", "server lk-jwt lk-jwt.matrix.svc.cluster.local:8080 resolvers kubernetes resolve-prefer ipv4 init-addr none"]);
    const plain = render(planFor(100)).s;
    expect(plain.has("backend lk_jwt")).toBe(false);
    expect(plain.get("frontend matrix")!.some((l) => l.includes("lk_jwt") || l.includes("rtc_foci"))).toBe(false);
  });

  it("stats: the Prometheus exporter on its own port, and a liveness URI", () => {
    const { s, text } = render(planFor(100));
    expect(s.get("frontend stats")).toEqual(["bind 0.0.0.0:8405", "http-request use-service prometheus-exporter if { path /metrics }", "monitor-uri /healthz"]);
    expect(text.endsWith("\n")).toBe(true);
  });
});

describe("which processes serve a backend", () => {
  it("each backend's worker type (docs/synapse.md), and each stream's named writers", () => {
    const p = planFor(10_000);
    const type = (b: Parameters<typeof backendMembers>[0]) => backendMembers(b, p.synapse);
    expect(type("main")).toEqual({ type: "main" });
    expect(type("sync")).toEqual({ type: "synchrotron" });
    expect(type("sync_initial")).toEqual({ type: "synchrotron" });
    for (const b of ["client", "client_room", "federation", "federation_send"] as const) expect(type(b), b).toEqual({ type: "generic" });
    expect(type("media")).toEqual({ type: "mediaRepository" });
    expect(type("stream_typing")).toEqual({ type: "streamWriter", instances: p.synapse.streamWriters.typing });
    expect(type("stream_receipts")).toEqual({ type: "streamWriter", instances: ["synapse-stream-writer-0", "synapse-stream-writer-1", "synapse-stream-writer-2"] });
    // A stream without writers has no members (its route is not rendered either).
    const none = { ...p.synapse, streamWriters: { ...p.synapse.streamWriters, typing: undefined } };
    expect(backendMembers("stream_typing", none)).toEqual({ type: "streamWriter", instances: [] });
  });

  it("a stream without writers gets no route: its endpoints fall through to the next match or main", () => {
    const p = planFor(100);
    const none = { ...p.synapse, streamWriters: { ...p.synapse.streamWriters, typing: [], presence: undefined } };
    const ids = routes(none).map((r) => r.id);
    expect(ids).not.toContain("stream_typing");
    expect(ids).not.toContain("stream_presence");
    expect(ids).toContain("stream_to_device");
    expect(routes(p.synapse).map((r) => r.id).slice(0, 7)).toEqual([
      "stream_typing",
      "stream_to_device",
      "stream_account_data",
      "stream_receipts",
      "stream_presence",
      "stream_push_rules",
      "stream_device_lists",
    ]);
  });

  it("kubernetesServers: named instances, main's pod, autoscaled templates sized by the HPA maximum", () => {
    const p = planFor(20_000);
    const source = kubernetesServers(p.synapse, p.routing.edge, "chat", 8008);
    expect(source("main")).toEqual([{ kind: "server", name: "synapse-main-0", host: "synapse-main-0.synapse-main.chat.svc.cluster.local", port: 8008 }]);
    // 20k: 18 synchrotrons scale to ⌈1.5 × 18⌉ = 27, +1 surging; 8 generic workers to 12, +1.
    expect(source("synchrotron")).toEqual([{ kind: "template", prefix: "synchrotron", count: 28, fqdn: "synapse-synchrotron-routable.chat.svc.cluster.local", port: 8008 }]);
    expect(source("generic")).toEqual([{ kind: "template", prefix: "generic", count: 13, fqdn: "synapse-generic-worker-routable.chat.svc.cluster.local", port: 8008 }]);
    expect(source("mediaRepository").map((x) => (x.kind === "server" ? x.host : ""))).toEqual(
      [0, 1, 2, 3].map((i) => `synapse-media-repository-${i}.synapse-media-repository.chat.svc.cluster.local`),
    );
    expect(source("streamWriter", ["synapse-stream-writer-2"])).toEqual([
      { kind: "server", name: "synapse-stream-writer-2", host: "synapse-stream-writer-2.synapse-stream-writer.chat.svc.cluster.local", port: 8008 },
    ]);
    // Given instances win over the type's own list.
    expect(source("main", ["x"])).toEqual([{ kind: "server", name: "x", host: "x.synapse-main.chat.svc.cluster.local", port: 8008 }]);
  });

  it("wellKnownClient: the homeserver and its LiveKit focus", () => {
    expect(wellKnownClient("matrix.example.org", "/lk")).toEqual({
      "m.homeserver": { base_url: "https://matrix.example.org" },
      "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://matrix.example.org/lk" }],
    });
  });
});
