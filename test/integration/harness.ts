/**
 * Real servers for integration tests: started on 127.0.0.1, logged to files, bounded in time and
 * always stopped. Binaries come from scripts/install-integration.sh (Debian packages and a cached
 * Python virtualenv under .cache/).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pgMemoryGiB } from "../../sizing/units";
import { DEPLOYMENT_BUCKETS, setupScript } from "../../components/objectstore/server";

export const ROOT = join(__dirname, "..", "..");
export const VENV = join(ROOT, ".cache", "venv-synapse");
export const PYTHON = join(VENV, "bin", "python");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Start of the kernel's ephemeral range (freePort's ports and outgoing connections live there). */
const EPHEMERAL_START = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
})();

/**
 * A block of `count` consecutive free ports, below the ephemeral range so that no port the kernel
 * hands out meanwhile (freePort, outgoing connections of parallel tests) can take one of them.
 */
export async function freePortBlock(count: number): Promise<number> {
  const low = 10_000;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * Math.max(1, EPHEMERAL_START - low - count));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no block of ${count} free ports`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Thrown by a probe when waiting longer cannot help (the process it waits for has exited). */
export class GaveUp extends Error {}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GaveUp) throw error;
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export async function httpOk(url: string): Promise<true | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return response.ok ? true : undefined;
}

/** Child processes of one test: each logs to its own file and is stopped by stopAll(). */
export class Services {
  readonly dir: string;
  private readonly children = new Map<string, ChildProcess>();
  private readonly logs: Promise<void>[] = [];

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    chmodSync(this.dir, 0o755);
  }

  logPath(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  log(name: string): string {
    try {
      return readFileSync(this.logPath(name), "utf8");
    } catch {
      return "";
    }
  }

  start(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
    const out = createWriteStream(this.logPath(name));
    // A log file must be closed before its directory is removed; errors writing it never fail a test.
    out.on("error", () => undefined);
    this.logs.push(new Promise((resolve) => out.once("close", () => resolve())));
    const child = spawn(command, args, { cwd: options.cwd ?? this.dir, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    // Two sources share one file: neither may end it for the other.
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    child.once("close", () => out.end());
    this.children.set(name, child);
    return child;
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.pid;
  }

  running(name: string): boolean {
    const child = this.children.get(name);
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  async stop(name: string, timeoutMs = 10_000): Promise<void> {
    const child = this.children.get(name);
    if (!child || !this.running(name)) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  async stopAll(options: { keepDir?: boolean } = {}): Promise<void> {
    await Promise.all([...this.children.keys()].reverse().map((name) => this.stop(name)));
    await Promise.race([Promise.all(this.logs), new Promise((r) => setTimeout(r, 5000))]);
    if (!options.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

const PG_BIN = (() => {
  const versions = spawnSync("ls", ["/usr/lib/postgresql"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).sort();
  return `/usr/lib/postgresql/${versions.at(-1)}/bin`;
})();

/** PostgreSQL runs as the `postgres` user (initdb refuses root); its data lives in the test dir. */
export function asPostgres(command: string, args: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", command, ...args] : [command, ...args];
}

export interface Postgres {
  port: number;
  socketDir: string;
  psql(sql: string, database?: string): string;
}

export async function startPostgres(services: Services, parameters: Record<string, string> = {}): Promise<Postgres> {
  const data = join(services.dir, "pgdata");
  mkdirSync(data, { recursive: true });
  ownedByPostgres(services.dir, data);
  const [cmd, ...args] = asPostgres(`${PG_BIN}/initdb`, ["-D", data, "--encoding=UTF8", "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "-U", "postgres"]);
  const init = spawnSync(cmd!, args, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  return runPostgres(services, data, parameters);
}

/** Hands the test dir and a data directory to the `postgres` user when the tests run as root. */
export function ownedByPostgres(dir: string, data: string): void {
  if (process.getuid?.() !== 0) return;
  const pgUser = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
  const pgGroup = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
  spawnSync("chown", ["-R", `${pgUser}:${pgGroup}`, data]);
  chownSync(dir, pgUser, pgGroup);
  chmodSync(dir, 0o777);
  chmodSync(data, 0o700);
}

/** Starts PostgreSQL on an existing data directory (a fresh initdb, or one a restore wrote); `ready` says when it serves. */
export async function runPostgres(services: Services, data: string, parameters: Record<string, string> = {}, ready = "SELECT 1", timeoutMs = 30_000): Promise<Postgres> {
  const port = await freePort();
  const settings = { listen_addresses: "127.0.0.1", port: String(port), unix_socket_directories: services.dir, fsync: "off", ...parameters };
  const [pg, ...pgArgs] = asPostgres(`${PG_BIN}/postgres`, ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])]);
  services.start("postgres", pg!, pgArgs);
  const psql = (sql: string, database = "postgres") => {
    const [c, ...a] = asPostgres("psql", ["-h", services.dir, "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql]);
    const r = spawnSync(c!, a, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql failed (${sql}): ${r.stderr}`);
    return r.stdout.trim();
  };
  await waitFor("PostgreSQL to accept connections", async () => {
    try {
      return ["t", "1"].includes(psql(ready)) ? true : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs);
  return { port, socketDir: services.dir, psql };
}

const MEMORY_PARAMETERS = ["shared_buffers", "effective_cache_size", "maintenance_work_mem", "work_mem", "wal_buffers"];
/** Test machine budget: the largest shared_buffers a test instance gets. */
const TEST_SHARED_BUFFERS_GIB = 0.125;

/** A tier's PostgreSQL memory settings scaled by one factor to this machine (keeping their ratios); the rest untouched. */
export function scaledForThisMachine(parameters: Record<string, string>): Record<string, string> {
  const factor = Math.min(1, TEST_SHARED_BUFFERS_GIB / pgMemoryGiB(parameters.shared_buffers!));
  return Object.fromEntries(
    Object.entries(parameters).map(([k, v]) => [k, MEMORY_PARAMETERS.includes(k) ? `${Math.max(64, Math.round(pgMemoryGiB(v) * factor * 1024 * 1024))}kB` : v]),
  );
}

export interface Redis {
  port: number;
}

export async function startRedis(services: Services, name: string, password: string, extra: string[] = []): Promise<Redis> {
  const port = await freePort();
  services.start(name, "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--requirepass", password, "--save", "", "--appendonly", "no", ...extra]);
  await waitFor(`${name} to answer`, async () => {
    const r = spawnSync("redis-cli", ["-p", String(port), "--no-auth-warning", "-a", password, "PING"], { encoding: "utf8" });
    return r.stdout.trim() === "PONG" ? true : undefined;
  }, 15_000);
  return { port };
}

export function fileMode(path: string): number {
  return statSync(path).mode & 0o777;
}

export const MINIO = join(ROOT, ".cache", "bin", "minio");

export const MC = join(ROOT, ".cache", "bin", "mc");

export interface Minio {
  port: number;
  endpoint: string;
  /** The root user's environment, as the setup Job gets it from the root Secret. */
  rootEnv: { MINIO_ROOT_USER: string; MINIO_ROOT_PASSWORD: string };
  /** Runs test/integration/client/s3.py (boto3) against this server as root. */
  s3(...args: string[]): string;
  /** The same as another user; throws with boto3's error if the request fails. */
  s3As(accessKey: string, secretKey: string, ...args: string[]): string;
}

/**
 * The deployment's buckets and users made as the setup Job makes them: its rendered script
 * (`setupScript`) run `runs` times by real mc, with fresh keys; returns the keys by variable name.
 */
export function setupBuckets(minio: Minio, runs = 1): Record<string, string> {
  const keys: Record<string, string> = Object.fromEntries(
    DEPLOYMENT_BUCKETS.flatMap((b) => [[b.accessKeyEnv, `${b.bucket}-${randomBytes(6).toString("hex")}`], [b.secretKeyEnv, randomBytes(20).toString("hex")]]),
  );
  const script = setupScript(minio.endpoint, DEPLOYMENT_BUCKETS);
  for (let run = 0; run < runs; run++) runMcScript(script, { ...minio.rootEnv, ...keys });
  return keys;
}

/**
 * Runs an `mc` shell script as the setup Job's container does: `mc` on the PATH, HOME and the
 * script's files in a directory of its own (the Job's /tmp; TMPDIR here), the given environment.
 */
function runMcScript(script: string, env: Record<string, string>, timeoutMs = 120_000): string {
  const home = mkdtempSync(join(tmpdir(), "mc-"));
  try {
    const r = spawnSync("sh", ["-c", script], {
      env: { PATH: `${dirname(MC)}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: home, TMPDIR: home, ...env },
      encoding: "utf8",
      timeout: timeoutMs,
    });
    if (r.status !== 0) throw new Error(`mc script failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** One MinIO server process; `drives` are directories (or MinIO ellipsis patterns) it serves. */
export async function startMinio(services: Services, name: string, rootUser: string, rootPassword: string, drives: string[], port?: number): Promise<Minio> {
  const apiPort = port ?? (await freePort());
  const consolePort = await freePort();
  services.start(name, MINIO, ["server", "--address", `127.0.0.1:${apiPort}`, "--console-address", `127.0.0.1:${consolePort}`, ...drives], {
    env: { MINIO_ROOT_USER: rootUser, MINIO_ROOT_PASSWORD: rootPassword, MINIO_BROWSER: "off", MINIO_UPDATE: "off", MINIO_CI_CD: "1" },
  });
  const endpoint = `http://127.0.0.1:${apiPort}`;
  await waitFor(`${name} to be ready`, () => httpOk(`${endpoint}/minio/health/ready`), 60_000, 300);
  const s3As = (accessKey: string, secretKey: string, ...args: string[]) => {
    const r = spawnSync(PYTHON, [join(__dirname, "client", "s3.py"), endpoint, accessKey, secretKey, ...args], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`s3 ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const s3 = (...args: string[]) => s3As(rootUser, rootPassword, ...args);
  return { port: apiPort, endpoint, rootEnv: { MINIO_ROOT_USER: rootUser, MINIO_ROOT_PASSWORD: rootPassword }, s3, s3As };
}

/**
 * Test hosts of our own: network namespaces on a bridge, addressed from 198.18.0.0/15 (the range
 * reserved for network tests). For software that refuses loopback peers (MinIO in a container).
 */
export class TestNetwork {
  private readonly id = Math.random().toString(36).slice(2, 7);
  readonly bridge = `msb${this.id}`;
  readonly subnet = `198.18.${100 + Math.floor(Math.random() * 150)}`;
  private readonly hosts: string[] = [];

  constructor(count: number) {
    const run = (...args: string[]) => {
      const r = spawnSync("ip", args, { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
    };
    run("link", "add", this.bridge, "type", "bridge");
    run("addr", "add", `${this.subnet}.254/24`, "dev", this.bridge);
    run("link", "set", this.bridge, "up");
    for (let i = 0; i < count; i++) {
      const ns = `ms${this.id}${i}`;
      run("netns", "add", ns);
      this.hosts.push(ns);
      run("link", "add", `v${this.id}${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
      run("link", "set", `v${this.id}${i}`, "master", this.bridge, "up");
      run("-n", ns, "addr", "add", `${this.address(i)}/24`, "dev", "eth0");
      run("-n", ns, "link", "set", "eth0", "up");
      run("-n", ns, "link", "set", "lo", "up");
    }
  }

  address(i: number): string {
    return `${this.subnet}.${i + 1}`;
  }

  /** Command prefix that runs inside host i's namespace. */
  inHost(i: number): string[] {
    return ["ip", "netns", "exec", this.hosts[i]!];
  }

  destroy(): void {
    for (const ns of this.hosts) spawnSync("ip", ["netns", "del", ns]);
    spawnSync("ip", ["link", "del", this.bridge]);
  }
}
