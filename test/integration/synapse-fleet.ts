/**
 * Boots a plan's Synapse fleet on loopback from the program's own renderers: PostgreSQL, Redis,
 * main, every worker, and HAProxy in front, each from the rendered files.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { SECRET_FILES, renderLogConfig, renderPgpass, renderProcessConfig, renderSecretsConfig, renderSharedConfig, toYaml, type SynapseEndpoints } from "../../components/synapse/config";
import { renderHaproxyConfig, rtcFoci, wellKnownClient, type ServerSource } from "../../components/synapse/routing";
import { loopbackPlacement, processes, type SynapseProcess } from "../../components/synapse/topology";
import type { WorkerType } from "../../sizing/settings";
import { assignDuties } from "../../sizing/synapse";
import type { Plan, WorkerPlan } from "../../sizing/types";
import { LK_JWT, MEDIA_BUCKET, SERVICE_NAMES } from "../../components/naming";
import { DEPLOYMENT_BUCKETS } from "../../components/objectstore/server";
import { databaseUri } from "../../components/synapse/remote-media";
import { freePortBlock, GaveUp, httpOk, PYTHON, Services, setupBuckets, startMinio, startPostgres, startRedis, waitFor, type Minio } from "./harness";

export interface Fleet {
  services: Services;
  processes: SynapseProcess[];
  /** HTTPS through HAProxy, by address (the certificate names the address and the server name). */
  baseUrl: string;
  /** HAProxy's redirect-only HTTP port. */
  httpUrl: string;
  /** HAProxy's Prometheus metrics. */
  statsUrl: string;
  ca: TestCa;
  registrationSecret: string;
  configDir: string;
  haproxyConfig: string;
  httpPort(name: string): number;
  metricsPort(name: string): number;
  minio: Minio;
  /** Synapse's database as a libpq URI for its own role, and that role's password. */
  database: { uri: string; password: string };
  /** The media bucket, and its user's keys as the media pods get them (AWS_* variables). */
  media: { objectStore: { endpoint: string; bucket: string; region: string }; env: Record<string, string> };
  /** A query on the Synapse database (as the PostgreSQL superuser), rows as `|`-separated lines. */
  sql(query: string): string;
  /** HAProxy's access log, one parsed entry per request. */
  requests(): ProxiedRequest[];
  haproxyLogPath: string;
  /** The request lines (Synapse's `synapse.access.http.<port>` logger) of one process, parsed. */
  accessLog(name: string): AccessLine[];
  /** One HTTPS request through HAProxy, trusting only the test CA, from a chosen loopback address. */
  request(method: string, path: string, options?: ClientRequestOptions): Promise<ClientResponse>;
  /**
   * A coordinated restart onto another plan's processes, as the Kubernetes Job and gates do it:
   * HAProxy and every Synapse process stop together, then every process of the new plan starts at
   * once with the new configs (main first only at boot, when the schema is new). The data services
   * keep running. Returns when every process answers /health and HAProxy has every backend up.
   */
  restartWith(plan: Plan): Promise<{ stoppedMs: number; healthyMs: number }>;
  stop(): Promise<void>;
}

export interface ClientRequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as it is (a medium), instead of `body` as JSON; give its Content-Type in `headers`. */
  raw?: Buffer;
  /** Source address (any of 127.0.0.0/8). */
  from?: string;
  /** Plain HTTP to the redirect-only port instead. */
  plain?: boolean;
}

export interface ClientResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body as received. */
  bytes: Buffer;
}

/** A certificate authority made for one test run, and certificates it issues. */
export interface TestCa {
  certificate: string;
  issue(name: string, addresses: string[], alsoNames?: string[]): { certificate: string; key: string };
}

export function makeTestCa(dir: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => {
    const r = spawnSync("openssl", args, { encoding: "utf8", cwd: dir });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  };
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=matrix-scale test CA");
  return {
    certificate: join(dir, "ca.crt"),
    issue(name, addresses, alsoNames = []) {
      const san = [`DNS:${name}`, ...alsoNames.map((n) => `DNS:${n}`), ...addresses.map((a) => `IP:${a}`)].join(",");
      openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
      // As a kubernetes.io/tls Secret mounts them: tls.crt with tls.key beside it.
      const own = join(dir, name);
      mkdirSync(own, { recursive: true });
      writeFileSync(join(own, "tls.crt"), readFileSync(join(dir, `${name}.crt`)));
      writeFileSync(join(own, "tls.key"), readFileSync(join(dir, `${name}.key`)), { mode: 0o600 });
      return { certificate: join(own, "tls.crt"), key: join(own, "tls.key") };
    },
  };
}

export interface FleetOptions {
  /** Where HAProxy listens (default 127.0.0.1; HTTPS on a free port unless `httpsPort`). */
  address?: string;
  httpsPort?: number;
  /** The CA that issues HAProxy's certificate (federating fleets share one). */
  ca?: TestCa;
  /** More names HAProxy's certificate is valid for. */
  certificateNames?: string[];
  /** Test-only settings merged into the shared homeserver config (federation on loopback). */
  sharedOverlay?: Record<string, unknown>;
  /** Runs each Synapse process through this prefix (a private /etc/hosts, for example). */
  prefix?: string[];
  /** A prefix for one process instead (a size-limited media store in a mount namespace of its own, for example). */
  prefixFor?: (process: SynapseProcess, paths: { mediaStore: string; objectStore: { endpoint: string; bucket: string; region: string } }) => string[] | undefined;
  /** Element Call: the JWT service HAProxy routes to, announced to clients as the deployment does. */
  rtc?: { jwtServer: { host: string; port: number } };
}

export interface ProxiedRequest {
  method: string;
  path: string;
  query: string;
  backend: string;
  server: string;
  status: number;
  user: string;
}

/**
 * One line of Synapse's request log (SynapseRequest._finished_processing), as the default log
 * format writes it:
 * `<time> - synapse.access.http.<port> - <lineno> - INFO - <request> - <ip> - <site tag> - {<requester>}
 *  Processed request: ... <bytes>B <status> "<METHOD> <uri> HTTP/1.1" "<user agent>" [<n> dbevts]`
 */
export interface AccessLine {
  port: number;
  ip: string;
  requester: string;
  status: string;
  method: string;
  uri: string;
}

/** The message of a request line (SynapseRequest._finished_processing). */
const ACCESS_MESSAGE = /^(\S+) - \S+ - \{([^}]*)\} Processed request: \S+ ru=\(\S+ \S+\) db=\(\S+\) \d+B (\d{3}!?) "(\S+) (\S+) HTTP\/1\.[01]" "[^"]*" \[\d+ dbevts\]$/;
const ACCESS_LOGGER = /^synapse\.access\.http\.(\d+)$/;

/** A Synapse process's log as the rendered log configuration writes it: one JSON object per line. */
export interface LogRecord {
  log: string;
  namespace: string;
  level: string;
  time: number;
  request?: string;
  /** An exception's type and message (Synapse's formatter) and its traceback (the image's). */
  exc_type?: string;
  exc_value?: string;
  exc_traceback?: string;
}

export function parseJsonLog(text: string): { records: LogRecord[]; other: string[] } {
  const records: LogRecord[] = [];
  const other: string[] = [];
  for (const line of text.split("\n").filter(Boolean)) {
    try {
      const value = JSON.parse(line) as LogRecord;
      if (value && typeof value === "object" && typeof value.log === "string") records.push(value);
      else other.push(line);
    } catch {
      other.push(line);
    }
  }
  return { records, other };
}

export function parseAccessLog(text: string): AccessLine[] {
  return parseJsonLog(text).records.flatMap((r) => {
    const logger = ACCESS_LOGGER.exec(r.namespace);
    const m = logger && ACCESS_MESSAGE.exec(r.log);
    if (!logger || !m) return [];
    const [, ip, requester, status, method, uri] = m;
    return [{ port: Number(logger[1]), ip: ip!, requester: requester!, status: status!, method: method!, uri: uri! }];
  });
}

const LOG_LINE = /^\S+ (\S+) (\S+) backend=(\S+) server=(\S+) status=(-?\d+) time=\S+ user=(\S+)/;

export function parseHaproxyLog(text: string): ProxiedRequest[] {
  return text
    .split("\n")
    .map((line) => LOG_LINE.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, method, uri, backend, server, status, user]) => {
      const [path, query = ""] = uri!.split("?", 2) as [string, string?];
      return { method: method!, path, query, backend: backend!, server: server!, status: Number(status), user: user! };
    });
}

/**
 * A larger tier's configuration with at most `most[type]` processes of a type (1 when unlisted):
 * the test machine has two cores. Duties are reassigned over the processes that remain.
 */
export function reducedTier(p: Plan, most: Partial<Record<WorkerType, number>>): Plan {
  const workers = Object.fromEntries(
    Object.entries(p.synapse.workers).map(([type, w]) => {
      const replicas = Math.min(w.replicas, most[type as WorkerType] ?? 1);
      return [type, { ...w, replicas, maxReplicas: replicas, instances: w.instances.slice(0, replicas) }];
    }),
  ) as Plan["synapse"]["workers"];
  return { ...p, synapse: { ...p.synapse, workers, ...assignDuties(workers) } };
}

const secret = () => randomBytes(24).toString("hex");
/** jemalloc, preloaded as the pods' start command preloads it from the image (Debian's libjemalloc2, installed by scripts/install-integration.sh). */
const JEMALLOC_ENV = { LD_PRELOAD: "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" };

export async function bootFleet(plan: Plan, copies: (worker: WorkerPlan) => number, label: string, options: FleetOptions = {}): Promise<Fleet> {
  const services = new Services(label);
  try {
    return await boot(services, plan, copies, options);
  } catch (error) {
    const logs = ["postgres", "main", "haproxy"].map((n) => `--- ${n}\n${services.log(n).slice(-3000)}`).join("\n");
    await services.stopAll({ keepDir: true });
    throw new Error(`${(error as Error).message}\nlogs in ${services.dir}\n${logs}`);
  }
}

async function boot(services: Services, plan: Plan, copies: (worker: WorkerPlan) => number, options: FleetOptions): Promise<Fleet> {
  const values = {
    macaroonSecretKey: secret(),
    registrationSharedSecret: secret(),
    formSecret: secret(),
    workerReplicationSecret: secret(),
    turnSharedSecret: secret(),
    databasePassword: secret(),
    redisPassword: secret(),
  };
  const pg = await startPostgres(services);
  pg.psql(`CREATE ROLE synapse LOGIN PASSWORD '${values.databasePassword}'`);
  pg.psql("CREATE DATABASE synapse OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  const redis = await startRedis(services, "redis", values.redisPassword);
  const minioUser = "matrix-scale-test";
  const minioPassword = secret();
  const minio = await startMinio(services, "minio", minioUser, minioPassword, [join(services.dir, "minio-data")]);
  // The buckets, users and policies as the setup Job makes them: its rendered script, real mc.
  const bucketKeys = setupBuckets(minio);
  const mediaUser = DEPLOYMENT_BUCKETS.find((b) => b.bucket === MEDIA_BUCKET)!;

  const address = options.address ?? "127.0.0.1";
  const ca = options.ca ?? makeTestCa(join(services.dir, "ca"));
  const tls = ca.issue(plan.serverName, [address], options.certificateNames);
  const configDir = join(services.dir, "config");
  const secretsDir = join(services.dir, "secrets");
  mkdirSync(configDir);
  mkdirSync(secretsDir, { mode: 0o700 });
  const write = (dir: string, file: string, text: string, mode = 0o644) => writeFileSync(join(dir, file), text, { mode });
  write(secretsDir, SECRET_FILES.signingKey, `ed25519 a_test ${randomBytes(32).toString("base64").replace(/=+$/, "")}\n`, 0o600);
  write(secretsDir, SECRET_FILES.pgpass, renderPgpass("synapse", values.databasePassword), 0o600);
  write(secretsDir, SECRET_FILES.redisPassword, values.redisPassword, 0o600);
  write(secretsDir, SECRET_FILES.config, renderSecretsConfig(values), 0o600);
  // Media workers reach the object store as the media bucket's user, with the keys the program mounts as AWS_* variables.
  const s3Env = { AWS_ACCESS_KEY_ID: bucketKeys[mediaUser.accessKeyEnv]!, AWS_SECRET_ACCESS_KEY: bucketKeys[mediaUser.secretKeyEnv]! };
  const mediaStore = join(services.dir, "media");
  const objectStore = { endpoint: minio.endpoint, bucket: MEDIA_BUCKET, region: "us-east-1" };
  const commandOf = (p: SynapseProcess) => [...(options.prefixFor?.(p, { mediaStore, objectStore }) ?? options.prefix ?? []), PYTHON];
  const fileOf = (p: SynapseProcess) => `${p.name}.yaml`;

  /** Writes the plan's configs on fresh ports and starts its processes (main first when `mainFirst`), then HAProxy. */
  const launch = async (current: Plan, mainFirst: boolean) => {
    const all = processes(current.synapse, copies);
    const base = await freePortBlock(all.length * 3 + 3);
    const placement = loopbackPlacement(all, base);
    const ports = { https: options.httpsPort ?? base + all.length * 3, http: base + all.length * 3 + 1, stats: base + all.length * 3 + 2 };
    const baseUrl = `https://${address}:${ports.https}`;
    const endpoints: SynapseEndpoints = {
      serverName: current.serverName,
      publicBaseUrl: `${baseUrl}/`,
      database: { host: "127.0.0.1", port: pg.port, name: "synapse", user: "synapse" },
      redis: { host: "127.0.0.1", port: redis.port },
      objectStore,
      turnUris: ["turn:turn.matrix.test:3478?transport=udp"],
      secretsDir,
      pgpassPath: join(secretsDir, SECRET_FILES.pgpass),
      mediaStorePath: mediaStore,
      ...(options.rtc ? { rtcTransports: rtcFoci(current.serverName, LK_JWT.pathPrefix) } : {}),
    };
    write(configDir, "shared.yaml", toYaml({ ...renderSharedConfig(current.synapse, all, placement, endpoints), ...options.sharedOverlay }));
    for (const p of all) {
      const worker = current.synapse.workers[p.type];
      const logConfigPath = join(configDir, `log-${p.type}.yaml`);
      write(configDir, `log-${p.type}.yaml`, renderLogConfig(worker.logLevel));
      write(configDir, fileOf(p), toYaml(renderProcessConfig(p, worker, placement, { ...endpoints, logConfigPath })));
    }
    const startProcess = (p: SynapseProcess) => {
      const [command, ...prefix] = commandOf(p);
      return services.start(p.name!, command!, [
        ...prefix,
        "-m",
        p.type === "main" ? "synapse.app.homeserver" : "synapse.app.generic_worker",
        "--config-path",
        join(configDir, "shared.yaml"),
        "--config-path",
        join(configDir, fileOf(p)),
        "--config-path",
        join(secretsDir, SECRET_FILES.config),
      ], { env: { ...JEMALLOC_ENV, ...(p.type === "mediaRepository" ? s3Env : {}) } });
    };
    const healthy = (p: SynapseProcess) =>
      waitFor(`${p.name} /health`, async () => {
        if (!services.running(p.name!)) throw new GaveUp(`${p.name} exited:\n${services.log(p.name!).slice(-2000)}`);
        return httpOk(`http://127.0.0.1:${placement.ports(p).http}/health`);
      }, 240_000, 500);

    // Main first at boot: it prepares the database schema the workers check at start.
    const main = all.find((p) => p.type === "main")!;
    const workers = all.filter((p) => p.type !== "main");
    if (mainFirst) {
      startProcess(main);
      await healthy(main);
      workers.forEach(startProcess);
    } else all.forEach(startProcess);
    await Promise.all((mainFirst ? workers : all).map(healthy));

    const source: ServerSource = (type, instances) =>
      all
        .filter((p) => p.type === type && (!instances || instances.includes(p.name!)))
        .map((p) => ({ kind: "server" as const, name: p.name!, host: "127.0.0.1", port: placement.ports(p).http }));
    const rtc = options.rtc && {
      wellKnownClient: wellKnownClient(current.serverName, LK_JWT.pathPrefix),
      jwtServer: { kind: "server" as const, name: SERVICE_NAMES.lkJwt, ...options.rtc.jwtServer },
      jwtPathPrefix: LK_JWT.pathPrefix,
    };
    const haproxyConfig = renderHaproxyConfig(current, source, { bind: address, ports, certificate: tls.certificate, dnsResolvers: false, ...(rtc ? { rtc } : {}) });
    write(configDir, "haproxy.cfg", haproxyConfig);
    const check = spawnSync("haproxy", ["-c", "-f", join(configDir, "haproxy.cfg")], { encoding: "utf8" });
    if (check.status !== 0) throw new Error(`haproxy -c rejected the rendered config:\n${check.stdout}${check.stderr}`);
    services.start("haproxy", "haproxy", ["-db", "-f", join(configDir, "haproxy.cfg")]);
    // Every backend has its servers up before traffic starts.
    await waitFor("HAProxy backends up", async () => {
      const metrics = await (await fetch(`http://${address}:${ports.stats}/metrics`)).text();
      const down = [...metrics.matchAll(/^haproxy_backend_active_servers\{proxy="([^"]+)"\} (\d+)/gm)].filter(([, , n]) => n === "0");
      return down.length === 0 && metrics.includes("haproxy_backend_active_servers") ? true : undefined;
    }, 60_000, 500);
    return { all, placement, ports, baseUrl, haproxyConfig };
  };

  let layout = await launch(plan, true);
  const fleet: Fleet = {
    services,
    processes: layout.all,
    baseUrl: layout.baseUrl,
    httpUrl: `http://${address}:${layout.ports.http}`,
    statsUrl: `http://${address}:${layout.ports.stats}/metrics`,
    ca,
    registrationSecret: values.registrationSharedSecret,
    configDir,
    haproxyConfig: layout.haproxyConfig,
    minio,
    database: { uri: databaseUri({ host: "127.0.0.1", port: pg.port, name: "synapse", user: "synapse" }, "matrix-scale-test"), password: values.databasePassword },
    media: { objectStore, env: s3Env },
    httpPort: (name) => layout.placement.ports(layout.all.find((p) => p.name === name)!).http,
    metricsPort: (name) => layout.placement.ports(layout.all.find((p) => p.name === name)!).metrics,
    sql: (query) => pg.psql(query, "synapse"),
    requests: () => parseHaproxyLog(services.log("haproxy")),
    haproxyLogPath: services.logPath("haproxy"),
    accessLog: (name) => parseAccessLog(services.log(name)),
    request: (method, path, request = {}) => clientRequest(request.plain ? fleet.httpUrl : fleet.baseUrl, ca.certificate, method, path, request),
    async restartWith(next) {
      const started = Date.now();
      await Promise.all(["haproxy", ...layout.all.map((p) => p.name!)].map((name) => services.stop(name, 60_000)));
      const stoppedMs = Date.now() - started;
      layout = await launch(next, false);
      Object.assign(fleet, { processes: layout.all, baseUrl: layout.baseUrl, httpUrl: `http://${address}:${layout.ports.http}`, statsUrl: `http://${address}:${layout.ports.stats}/metrics`, haproxyConfig: layout.haproxyConfig });
      return { stoppedMs, healthyMs: Date.now() - started };
    },
    stop: () => services.stopAll(),
  };
  return fleet;
}

function clientRequest(base: string, caFile: string, method: string, path: string, options: ClientRequestOptions): Promise<ClientResponse> {
  const url = new URL(path, base);
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        headers: { ...(body !== undefined && !options.raw ? { "Content-Type": "application/json" } : {}), ...options.headers },
        ...(options.from ? { localAddress: options.from } : {}),
        ...(url.protocol === "https:" ? { ca: readFileSync(caFile), rejectUnauthorized: true } : {}),
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString(), bytes });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

export interface ScenarioOptions {
  /** Localparts of the client users; the first sends, the second reads. */
  users?: string[];
  /** Distinct servers the traffic of a backend must reach before the scenario stops adding to it (client_room, stream_receipts, media). */
  spread?: Record<string, number>;
  eventPersisters?: number;
  maxRooms?: number;
}

/**
 * Runs the client scenario. Asynchronously: the scenario reads HAProxy's log file back while it
 * runs, and that file only grows while Node's event loop is free to copy HAProxy's output into it.
 */
export function runScenario(fleet: Fleet, options: ScenarioOptions = {}): Promise<Record<string, unknown>> {
  const args = [join(__dirname, "client", "scenario.py"), fleet.baseUrl, fleet.registrationSecret, JSON.stringify({ ...options, haproxyLog: fleet.haproxyLogPath })];
  return new Promise((resolve, reject) => {
    // Python's default TLS context (urllib and nio's aiohttp) trusts the file SSL_CERT_FILE names.
    const child = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SSL_CERT_FILE: fleet.ca.certificate } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 400_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`client scenario failed (${code ?? signal}):\n${stderr}\n${stdout}`));
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>);
      } catch (error) {
        reject(new Error(`client scenario printed no result (${(error as Error).message}):\n${stderr}\n${stdout}`));
      }
    });
  });
}

/** One client API call through HAProxy (from a chosen loopback address); the JSON answer, or an error naming the status. */
export async function clientCall<T = Record<string, unknown>>(fleet: Fleet, method: string, path: string, options: { token?: string; body?: unknown; from?: string } = {}): Promise<T> {
  const r = await fleet.request(method, path, { from: options.from, body: options.body, headers: options.token ? { Authorization: `Bearer ${options.token}` } : {} });
  if (r.status !== 200) throw new Error(`${method} ${path} on ${fleet.baseUrl}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** Shared-secret registration through the admin API (as test/integration/client/scenario.py does it); `from` must be an admin address. */
export async function registerUser(fleet: Fleet, localpart: string, password: string, from: string, admin = false): Promise<{ userId: string; token: string }> {
  const { nonce } = await clientCall<{ nonce: string }>(fleet, "GET", "/_synapse/admin/v1/register", { from });
  const mac = createHmac("sha1", fleet.registrationSecret).update([nonce, localpart, password, admin ? "admin" : "notadmin"].join("\x00")).digest("hex");
  const r = await clientCall<{ user_id: string; access_token: string }>(fleet, "POST", "/_synapse/admin/v1/register", { from, body: { nonce, username: localpart, password, admin, mac } });
  return { userId: r.user_id, token: r.access_token };
}

/** Synapse's own event sharding (ShardedWorkerHandlingConfig): sha256 of the room id, little-endian, modulo the writers. */
export function persisterOf(roomId: string, persisters: readonly string[]): string {
  const digest = createHash("sha256").update(roomId, "utf8").digest().reverse();
  return persisters[Number(BigInt(`0x${digest.toString("hex")}`) % BigInt(persisters.length))]!;
}
