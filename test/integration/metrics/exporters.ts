/**
 * The metric names real exporters emit, for checking alert expressions against them.
 *
 * Started on 127.0.0.1 for a few seconds, each bounded in time and stopped with its `Services`:
 *   - Synapse (the cached virtualenv, one process on SQLite) with a metrics listener, driven
 *     through a registration, a room, an event send and a /sync long-poll held open while scraped;
 *   - LiveKit (the cached build) with `prometheus_port`, no Redis (single node), joined by one
 *     participant over the signalling WebSocket;
 *   - MinIO (the cached build) with `MINIO_PROMETHEUS_AUTH_TYPE=public`, as the program runs it,
 *     scraped at the path the program's ServiceMonitor uses;
 *   - the log agent (the cached OpenTelemetry Collector build) with the rendered configuration,
 *     one pod's log to read and a Loki stand-in that takes a batch, then refuses the others.
 * Not started here (read from their own sources instead):
 *   - CloudNativePG: the operator's default monitoring queries (config/manager/default-monitoring.yaml
 *     of the operator release the pinned chart ships, fetched by scripts/install-operator-schemas.sh);
 *     each query column becomes `cnpg_<query>_<column>`; the queries run on a real PostgreSQL.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { createServer, request } from "node:http";
import { logAgentArgs, logAgentConfigYaml, logAgentEnv, type LogAgentPaths } from "../../../components/monitoring/log-agent";
import type { Plan } from "../../../sizing/types";
import { planFor } from "../../helpers";
import { freePort, GaveUp, MINIO, PYTHON, ROOT, type Services, waitFor } from "../harness";

/** One scraped series: metric name and labels. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
}

/** Prometheus text exposition → samples (comments skipped; label values unescaped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    out.push({ name: m[1]!, labels });
  }
  return out;
}

/** A binary scripts/install-integration.sh builds; missing means the installer has not run. */
function installed(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/install-integration.sh`);
  return path;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

// ---------------------------------------------------------------------------------------------
// Synapse

export interface SynapseScrape {
  /** Metrics scraped while a /sync long-poll was in flight, after a room event was sent. */
  samples: Sample[];
}

/**
 * One Synapse process (SQLite) with a client listener and a metrics listener on loopback. It gets
 * a user (shared-secret registration), a room, one event send, then a /sync long-poll that is held
 * open while /_synapse/metrics (the PodMonitor's path) is scraped.
 */
export async function scrapeSynapse(services: Services, timeoutMs = 90_000): Promise<SynapseScrape> {
  const dir = join(services.dir, "synapse");
  mkdirSync(join(dir, "media"), { recursive: true });
  const [http, metrics] = [await freePort(), await freePort()];
  const sharedSecret = randomBytes(16).toString("hex");
  writeFileSync(join(dir, "signing.key"), `ed25519 a_test ${randomBytes(32).toString("base64").replace(/=+$/, "")}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, "log.yaml"),
    stringify({ version: 1, formatters: { plain: { format: "%(asctime)s %(levelname)s %(name)s %(message)s" } }, handlers: { console: { class: "logging.StreamHandler", formatter: "plain" } }, root: { level: "WARNING", handlers: ["console"] }, disable_existing_loggers: false }),
  );
  const config = {
    server_name: "metrics.test",
    public_baseurl: `http://127.0.0.1:${http}/`,
    pid_file: join(dir, "synapse.pid"),
    report_stats: false,
    enable_metrics: true,
    signing_key_path: join(dir, "signing.key"),
    media_store_path: join(dir, "media"),
    log_config: join(dir, "log.yaml"),
    database: { name: "sqlite3", args: { database: join(dir, "homeserver.db") } },
    registration_shared_secret: sharedSecret,
    macaroon_secret_key: randomBytes(16).toString("hex"),
    form_secret: randomBytes(16).toString("hex"),
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    federation_domain_whitelist: [],
    listeners: [
      { type: "http", port: http, bind_addresses: ["127.0.0.1"], x_forwarded: false, resources: [{ names: ["client"], compress: false }] },
      { type: "metrics", port: metrics, bind_addresses: ["127.0.0.1"] },
    ],
  };
  writeFileSync(join(dir, "homeserver.yaml"), stringify(config));
  services.start("synapse", installed(PYTHON), ["-m", "synapse.app.homeserver", "--config-path", join(dir, "homeserver.yaml")], { cwd: dir });
  const base = `http://127.0.0.1:${http}`;
  await waitFor("Synapse /health", async () => {
    if (!services.running("synapse")) throw new GaveUp(`Synapse exited:\n${services.log("synapse").slice(-3000)}`);
    const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? true : undefined;
  }, timeoutMs, 300);

  const json = async (method: string, path: string, body?: object, token?: string) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    const value = (await r.json()) as Record<string, unknown>;
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(value)}`);
    return value;
  };
  // Shared-secret registration (Synapse admin API): HMAC-SHA1 over nonce, user, password, "notadmin".
  const { nonce } = (await json("GET", "/_synapse/admin/v1/register")) as { nonce: string };
  const [user, password] = ["alice", randomBytes(12).toString("hex")];
  const mac = createHmac("sha1", sharedSecret).update(`${nonce}\0${user}\0${password}\0notadmin`).digest("hex");
  const { access_token: token } = (await json("POST", "/_synapse/admin/v1/register", { nonce, username: user, password, admin: false, mac })) as { access_token: string };
  const { room_id: room } = (await json("POST", "/_matrix/client/v3/createRoom", { preset: "private_chat" }, token)) as { room_id: string };
  await json("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/t1`, { msgtype: "m.text", body: "hello" }, token);
  const { next_batch: since } = (await json("GET", "/_matrix/client/v3/sync?timeout=0", undefined, token)) as { next_batch: string };

  // A long-poll that stays open (nothing new arrives) while the metrics are scraped.
  const abort = new AbortController();
  // Held for up to 90 s; the wait below gives a loaded machine 60 s to show it in flight.
  const longPoll = fetch(`${base}/_matrix/client/v3/sync?timeout=90000&since=${encodeURIComponent(since)}`, { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal }).catch(() => undefined);
  try {
    const samples = await waitFor("a /sync long-poll in Synapse's metrics", async () => {
      const s = parseExposition(await get(`http://127.0.0.1:${metrics}/_synapse/metrics`));
      return s.some((x) => x.name === "synapse_http_server_in_flight_requests_count" && x.labels.servlet === "SyncRestServlet") ? s : undefined;
    }, 60_000, 200);
    return { samples };
  } finally {
    abort.abort();
    await longPoll;
  }
}

// ---------------------------------------------------------------------------------------------
// LiveKit

export const LIVEKIT = join(ROOT, ".cache", "bin", "livekit-server");

/** A LiveKit access token: HS256 JWT with the key as issuer and a video grant. */
function livekitToken(key: string, secret: string, identity: string, grant: Record<string, unknown>): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ iss: key, sub: identity, nbf: now - 5, exp: now + 300, video: grant })}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

/**
 * One LiveKit node (no Redis) with its Prometheus listener. A participant opens the signalling
 * WebSocket (/rtc with a join token) and LiveKit counts the join in
 * `livekit_participant_join_total`, whose `state` series are created on first use:
 * `signal_connected` (rtcservice.go), `rtc_init` when the session is handed to the room
 * (signal.go) and `rtc_connected` once the session has started in the room (roommanager.go →
 * telemetry ParticipantJoined, before any media flows, so no WebRTC client is needed). Scraped
 * once both states the rules use are there.
 */
export async function scrapeLivekit(services: Services, timeoutMs = 60_000): Promise<Sample[]> {
  const [port, tcp, prom] = [await freePort(), await freePort(), await freePort()];
  const [key, secret] = ["APImetrics", randomBytes(24).toString("hex")];
  const file = join(services.dir, "livekit.yaml");
  writeFileSync(
    file,
    stringify({
      port,
      bind_addresses: ["127.0.0.1"],
      prometheus_port: prom,
      rtc: { tcp_port: tcp, udp_port: await freePort(), use_external_ip: false },
      turn: { enabled: false },
      logging: { level: "warn", json: true },
    }),
  );
  services.start("livekit", installed(LIVEKIT), ["--config", file, "--node-ip", "127.0.0.1"], { env: { LIVEKIT_KEYS: `${key}: ${secret}` } });
  const scrape = async () => {
    if (!services.running("livekit")) throw new GaveUp(`LiveKit exited:\n${services.log("livekit").slice(-3000)}`);
    return parseExposition(await get(`http://127.0.0.1:${prom}/metrics`));
  };
  await waitFor("LiveKit's API and Prometheus listener", async () => ((await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).ok && (await scrape()).length > 0 ? true : undefined), timeoutMs, 300);

  // The signalling WebSocket: an HTTP upgrade, held open (frames are not read) until scraped.
  const token = livekitToken(key, secret, "metrics-participant", { roomJoin: true, room: "metrics-room" });
  const socket = await new Promise<Socket>((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: `/rtc?access_token=${token}&auto_subscribe=1&protocol=15&sdk=js&version=2.0.0`,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": randomBytes(16).toString("base64") },
      timeout: 10_000,
    });
    req.once("upgrade", (_res, s) => resolve(s));
    req.once("response", (res) => reject(new Error(`LiveKit refused the signalling upgrade: HTTP ${res.statusCode}`)));
    req.once("error", reject);
    req.once("timeout", () => req.destroy(new Error("LiveKit signalling upgrade timed out")));
    req.end();
  });
  socket.on("error", () => undefined);
  socket.resume();
  try {
    return await waitFor("LiveKit to count the participant's join", async () => {
      const s = await scrape();
      const states = new Set(s.filter((x) => x.name === "livekit_participant_join_total").map((x) => x.labels.state));
      return states.has("rtc_init") && states.has("rtc_connected") ? s : undefined;
    }, timeoutMs, 300);
  } finally {
    socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// MinIO

/**
 * One MinIO server on four drive directories (an erasure set, as each of the program's servers
 * has four drives), with public Prometheus metrics as the program configures it, scraped at
 * /minio/v2/metrics/cluster (the ServiceMonitor's path) once its capacity is reported.
 */
export async function scrapeMinio(services: Services, timeoutMs = 90_000): Promise<Sample[]> {
  const [api, consolePort] = [await freePort(), await freePort()];
  const drives = [0, 1, 2, 3].map((i) => join(services.dir, "minio", `d${i}`));
  drives.forEach((d) => mkdirSync(d, { recursive: true }));
  services.start("minio", installed(MINIO), ["server", "--address", `127.0.0.1:${api}`, "--console-address", `127.0.0.1:${consolePort}`, join(services.dir, "minio", "d{0...3}")], {
    env: { MINIO_ROOT_USER: "metrics-root", MINIO_ROOT_PASSWORD: randomBytes(16).toString("hex"), MINIO_BROWSER: "off", MINIO_UPDATE: "off", MINIO_CI_CD: "1", MINIO_PROMETHEUS_AUTH_TYPE: "public" },
  });
  return waitFor("MinIO cluster capacity metrics", async () => {
    if (!services.running("minio")) throw new GaveUp(`MinIO exited:\n${services.log("minio").slice(-3000)}`);
    const s = parseExposition(await get(`http://127.0.0.1:${api}/minio/v2/metrics/cluster`));
    return s.some((x) => x.name.startsWith("minio_cluster_capacity_")) ? s : undefined;
  }, timeoutMs, 500);
}

// ---------------------------------------------------------------------------------------------
// The log agent

export const OTELCOL = join(ROOT, ".cache", "bin", "otelcol");

/** The agent's paths moved under `dir` and to loopback, sending to `loki` (an OTLP base URL). */
export async function loopbackLogAgentPaths(dir: string, loki: string): Promise<LogAgentPaths> {
  return { pods: join(dir, "pods"), state: join(dir, "state"), loki, listen: "127.0.0.1", healthPort: await freePort(), metricsPort: await freePort() };
}

/** Starts the agent on `configFile` as its DaemonSet runs it: the same arguments and environment, `node` as the node's name. */
export function startLogAgent(services: Services, name: string, configFile: string, plan: Plan, node: string): void {
  services.start(name, installed(OTELCOL), logAgentArgs(configFile), { env: { K8S_NODE_NAME: node, ...logAgentEnv(plan) } });
}

/**
 * The log agent with the rendered configuration, one pod's log to read, and a Loki stand-in that
 * takes the first batch and refuses the others for good (400): the agent then reports what it
 * sent, what was refused and its queue.
 */
export async function scrapeLogAgent(services: Services, timeoutMs = 60_000): Promise<Sample[]> {
  const dir = join(services.dir, "log-agent");
  let requests = 0;
  const loki = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(requests++ === 0 ? 200 : 400, { "content-type": "application/json" }).end("{}"));
  });
  const lokiPort = await freePort();
  await new Promise<void>((resolve) => loki.listen(lokiPort, "127.0.0.1", resolve));
  try {
    const paths = await loopbackLogAgentPaths(dir, `http://127.0.0.1:${lokiPort}/otlp`);
    const log = join(paths.pods, "synapse_synapse-main-0_1b4e28ba-2fa1-41d2-883f-0016d3cca427", "synapse");
    mkdirSync(log, { recursive: true });
    const plan = planFor(100);
    writeFileSync(join(dir, "agent.yaml"), logAgentConfigYaml(plan, paths));
    startLogAgent(services, "log-agent", join(dir, "agent.yaml"), plan, "node-a");
    const wanted = ["otelcol_exporter_queue_size", "otelcol_exporter_sent_log_records", "otelcol_exporter_send_failed_log_records"];
    return await waitFor("the log agent's exporter metrics", async () => {
      if (!services.running("log-agent")) throw new GaveUp(`the log agent exited:\n${services.log("log-agent").slice(-3000)}`);
      writeFileSync(join(log, "0.log"), `${new Date().toISOString()} stdout F a line\n`, { flag: "a" });
      const s = parseExposition(await get(`http://127.0.0.1:${paths.metricsPort}/metrics`));
      return wanted.every((name) => s.some((x) => x.name === name)) ? s : undefined;
    }, timeoutMs, 500);
  } finally {
    loki.close();
  }
}

// ---------------------------------------------------------------------------------------------
// CloudNativePG

export const CNPG_QUERIES = join(ROOT, ".cache", "operators", "cloudnative-pg", "default-monitoring.yaml");

export interface CnpgQuery {
  query: string;
  /** Overrides the query's key in metric names. */
  name?: string;
  metrics: Record<string, { usage: string; name?: string }>[];
}

/** The operator's default monitoring queries (the `queries` key of its ConfigMap). */
export function cnpgQueries(): Record<string, CnpgQuery> {
  if (!existsSync(CNPG_QUERIES)) throw new Error(`${CNPG_QUERIES} is missing: run scripts/install-operator-schemas.sh`);
  const configMap = parse(readFileSync(CNPG_QUERIES, "utf8")) as { data: { queries: string } };
  return parse(configMap.data.queries) as Record<string, CnpgQuery>;
}

export interface CnpgMetric {
  query: string;
  column: string;
  usage: string;
  /** The query's LABEL columns: the metric's labels. */
  labels: string[];
}

/**
 * Metric names the CloudNativePG instance manager derives from its queries, as its code (v1.30.1)
 * does it: `metrics.NewQueriesCollector("cnpg", ...)` (internal/management/controller/
 * instance_controller.go), namespace `cnpg_<query key, or the query's name>` (pkg/management/
 * postgres/metrics/collector.go), metric `<namespace>_<column, or the column's name>`, with
 * `_milliseconds` appended for DURATION columns and none for LABEL and DISCARD columns
 * (pkg/management/postgres/metrics/mappings.go, ColumnMapping.ToMetricMap).
 */
export function cnpgMetricNames(queries = cnpgQueries()): Map<string, CnpgMetric> {
  const out = new Map<string, CnpgMetric>();
  for (const [key, q] of Object.entries(queries)) {
    const namespace = `cnpg_${q.name || key}`;
    const columns = q.metrics.map((entry) => Object.entries(entry)[0]!);
    const labels = columns.filter(([, spec]) => spec.usage === "LABEL").map(([column]) => column);
    for (const [column, spec] of columns) {
      if (spec.usage === "LABEL" || spec.usage === "DISCARD") continue;
      const name = `${namespace}_${spec.name || column}${spec.usage === "DURATION" ? "_milliseconds" : ""}`;
      out.set(name, { query: key, column, usage: spec.usage, labels });
    }
  }
  return out;
}

/** The columns a query returns on a real PostgreSQL (through a temporary view). */
export function queryColumns(psql: (sql: string) => string, query: string): string[] {
  const out = psql(`CREATE TEMP VIEW q AS ${query.trim()}; SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'q'::regclass AND attnum > 0`);
  return out.split("\n").at(-1)!.split(",");
}
