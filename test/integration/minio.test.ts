/**
 * MinIO (built from the Go module proxy) with the rendered server arguments: one pool of the plan's
 * servers × drives on test hosts (each server in its own mount namespace, so drives are its own).
 * The erasure sets MinIO forms are read from its own format.json on every drive; objects are written
 * with checksums; a zone's share of the servers (a third of the pool) is stopped and reads and writes
 * go on with nothing lost, while one server more costs the write quorum; then a second pool is
 * appended exactly as the plan's expansion renders it.
 * MinIO refuses peers that resolve to loopback when it runs in a container, so each server is a
 * test host of its own (network namespace) with its drives in its own mount namespace.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { minioServerArgs, storageClassEnv, type PoolEndpoint } from "../../components/objectstore/server";
import type { Plan } from "../../sizing/types";
import { perZone, ZONE_COUNT } from "../../sizing/inventory";
import { planFor } from "../helpers";
import { httpOk, MINIO, PYTHON, Services, TestNetwork, waitFor } from "./harness";
import { spawnSync } from "node:child_process";

const ROOT_USER = "minio-test-root";
const ROOT_PASSWORD = "minio-test-root-password";
const BUCKET = "media-test";

describe("MinIO erasure-coded pools (rendered arguments)", () => {
  const services = new Services("minio");
  const onePool = planFor(5000);
  const twoPools = planFor(5000, { overrides: { minio: { pools: 2 } } });
  const port = 9000;
  const consolePort = 9001;
  let network: TestNetwork;
  const mounted = new Set<number>();
  const written = new Map<string, string>();
  const mountPoint = join(services.dir, "mnt");
  const serverDir = (i: number) => join(services.dir, "servers", `s${i}`);
  const host = (i: number) => network.address(i);

  /** Server i of the whole cluster (pools numbered in order) is 127.0.0.<i+1>; its drives are under the mount point. */
  const endpoint = (plan: Plan): PoolEndpoint => (pool, servers, drives) => {
    const first = plan.minio.pools.slice(0, pool).reduce((n, p) => n + p.servers, 0);
    const subnet = host(0).split(".").slice(0, 3).join(".");
    return `http://${subnet}.{${first + 1}...${first + servers}}:${port}${mountPoint}/d{0...${drives - 1}}`;
  };

  /** Starts servers `which` (default all) with `plan`'s arguments; resolves once they are ready and the cluster has write quorum. */
  function startServers(plan: Plan, which?: readonly number[]) {
    const count = plan.minio.pools.reduce((n, p) => n + p.servers, 0);
    const servers = which ?? Array.from({ length: count }, (_, i) => i);
    for (const i of servers) {
      // Drives are volumes of their own in production; MinIO refuses drives on the root filesystem.
      if (!mounted.has(i)) {
        mkdirSync(serverDir(i), { recursive: true });
        const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256m", "tmpfs", serverDir(i)], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
        mounted.add(i);
      }
      for (let d = 0; d < plan.minio.pools[0]!.drivesPerServer; d++) mkdirSync(join(serverDir(i), `d${d}`), { recursive: true });
      const args = minioServerArgs(plan.minio, endpoint(plan), { address: `${host(i)}:${port}`, console: `${host(i)}:${consolePort}` });
      const quoted = args.map((a) => `'${a}'`).join(" ");
      const [cmd, ...prefix] = network.inHost(i);
      services.start(`minio-${i}`, cmd!, [...prefix, "unshare", "--mount", "--propagation", "private", "sh", "-c", `mount --bind '${serverDir(i)}' '${mountPoint}' && exec '${MINIO}' ${quoted}`], {
        env: { MINIO_ROOT_USER: ROOT_USER, MINIO_ROOT_PASSWORD: ROOT_PASSWORD, MINIO_BROWSER: "off", MINIO_UPDATE: "off", ...storageClassEnv(plan.minio) },
      });
    }
    return readyWithQuorum(servers);
  }
  /** What the coordinating Job waits for: every server ready, then the cluster's write quorum. */
  const readyWithQuorum = (servers: readonly number[]) =>
    Promise.all(servers.map((i) => waitFor(`minio-${i} ready`, () => httpOk(`http://${host(i)}:${port}/minio/health/ready`), 90_000, 500))).then(() =>
      waitFor("the cluster to have write quorum", () => httpOk(`http://${host(0)}:${port}/minio/health/cluster`), 90_000, 500),
    );

  function s3(...args: string[]): string[] {
    const r = spawnSync(PYTHON, [join(__dirname, "client", "s3.py"), `http://${host(0)}:${port}`, ROOT_USER, ROOT_PASSWORD, ...args], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`s3 ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim().split("\n").filter(Boolean);
  }

  const fill = (prefix: string, count: number) => {
    for (const line of s3("fill", BUCKET, prefix, String(count), String(256 * 1024))) {
      const [key, sum] = line.split(" ");
      written.set(key!, sum!);
    }
  };
  const stored = () => new Map(s3("check", BUCKET).map((line) => line.split(" ") as [string, string]));

  beforeAll(async () => {
    mkdirSync(mountPoint, { recursive: true });
    network = new TestNetwork(twoPools.minio.pools.reduce((n, p) => n + p.servers, 0));
    await startServers(onePool);
    s3("mkbucket", BUCKET);
  }, 120_000);
  afterAll(async () => {
    await services.stopAll({ keepDir: true });
    for (const i of mounted) spawnSync("umount", [serverDir(i)]);
    network?.destroy();
    rmSync(services.dir, { recursive: true, force: true });
  }, 60_000);

  it("the plan's pool is 6 servers × 4 drives with EC:4, and the rendered arguments say so", () => {
    expect(onePool.minio.pools).toEqual([{ servers: 6, drivesPerServer: 4, driveGB: 1000 }]);
    expect(storageClassEnv(onePool.minio)).toEqual({ MINIO_STORAGE_CLASS_STANDARD: "EC:4" });
    const args = minioServerArgs(onePool.minio, endpoint(onePool), { address: ":9000", console: ":9001" });
    expect(args.at(-1)).toBe(`http://${host(0).replace(/\.1$/, "")}.{1...6}:${port}${mountPoint}/d{0...3}`);
  });

  it("MinIO's own layout (format.json on every drive): the plan's set size, and any zone's servers hold at most parity drives of a set", () => {
    const pool = onePool.minio.pools[0]!;
    // Each drive's format.json names the drive ("this") and every set's drives in order.
    const formats = Array.from({ length: pool.servers }, (_, server) =>
      Array.from({ length: pool.drivesPerServer }, (_, d) => JSON.parse(readFileSync(join(serverDir(server), `d${d}`, ".minio.sys", "format.json"), "utf8")) as { xl: { this: string; sets: string[][] } }),
    );
    const sets = formats[0]![0]!.xl.sets;
    const serverOf = new Map(formats.flatMap((drives, server) => drives.map((f) => [f.xl.this, server] as const)));
    expect(sets.map((set) => set.length)).toEqual(Array(sets.length).fill(onePool.minio.erasureSetDrives));
    expect(sets.length * onePool.minio.erasureSetDrives).toBe(pool.servers * pool.drivesPerServer);
    // The worst zone holds perZone's largest share of servers; whichever servers those are, no set may lose more than parity.
    const zoneServers = Math.max(...perZone(pool.servers, ZONE_COUNT));
    const perServer = sets.map((set) => Array.from({ length: pool.servers }, (_, s) => set.filter((uuid) => serverOf.get(uuid) === s).length));
    const worst = Math.max(...perServer.map((counts) => [...counts].sort((a, b) => b - a).slice(0, zoneServers).reduce((n, c) => n + c, 0)));
    expect(worst).toBeLessThanOrEqual(onePool.minio.parity);
    console.log(`MinIO: ${sets.length} sets of ${sets[0]!.length} drives; drives per server in each set ${JSON.stringify(perServer[0])}; a zone's ${zoneServers} servers hold at most ${worst} of a set (EC:${onePool.minio.parity})`);
  });

  it("stores objects with their checksums", () => {
    fill("before-", 30);
    expect(stored()).toEqual(written);
  });

  it("with a zone's servers killed, every object still reads back intact and writes still succeed; one server more and the cluster loses write quorum", async () => {
    const pool = onePool.minio.pools[0]!;
    const zone = Array.from({ length: Math.max(...perZone(pool.servers, ZONE_COUNT)) }, (_, k) => pool.servers - 1 - k);
    for (const i of zone) await services.stop(`minio-${i}`, 0);
    expect(zone.map((i) => services.running(`minio-${i}`))).toEqual(zone.map(() => false));
    fill("degraded-", 10);
    expect(stored()).toEqual(written);
    // MinIO's cluster health answers 200 while every set keeps its write quorum, 503 when one does not.
    const clusterHealth = async () => (await fetch(`http://${host(0)}:${port}/minio/health/cluster`, { signal: AbortSignal.timeout(30_000) })).status;
    expect(await clusterHealth()).toBe(200);
    // The check can fail: a third server down is 6 drives of each 12-drive set, below the write quorum of 8.
    const another = pool.servers - 1 - zone.length;
    await services.stop(`minio-${another}`, 0);
    await waitFor("the cluster to report lost write quorum", async () => ((await clusterHealth().catch(() => 0)) === 503 ? true : undefined), 60_000, 1000);
  }, 180_000);

  it("appending the plan's second pool as Kubernetes runs it: the new pool starts beside the old, then every old server restarts at once; no object lost", async () => {
    const before = minioServerArgs(onePool.minio, endpoint(onePool), { address: ":9000", console: ":9001" });
    const after = minioServerArgs(twoPools.minio, endpoint(twoPools), { address: ":9000", console: ":9001" });
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toHaveLength(before.length + 1);

    // The zone-loss test above left servers down: the first pool serves whole again first.
    const onePoolServers = onePool.minio.pools[0]!.servers;
    const oldPool = Array.from({ length: onePoolServers }, (_, i) => i);
    await startServers(onePool, oldPool.filter((i) => !services.running(`minio-${i}`)));
    // 1. pulumi up creates the new pool's StatefulSet: its servers start with both pools while the old ones still run with one.
    const newPool = Array.from({ length: twoPools.minio.pools[1]!.servers }, (_, k) => onePoolServers + k);
    void startServers(twoPools, newPool).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5000));
    expect(stored()).toEqual(written);
    // 2. The coordinating Job stops every old server in one request; the StatefulSet controller starts them on the new specification.
    const stopped = Date.now();
    await Promise.all(oldPool.map((i) => services.stop(`minio-${i}`)));
    await startServers(twoPools, oldPool);
    // 3. What it waits for before it reports success: every server ready, then write quorum; clients read again.
    await readyWithQuorum([...oldPool, ...newPool]);
    const serving = await waitFor("a read through the restarted cluster", async () => {
      try {
        return s3("check", BUCKET).length > 0 ? Date.now() : undefined;
      } catch {
        return undefined;
      }
    }, 90_000, 500);
    console.log(`MinIO expansion: unavailable ${((serving - stopped) / 1000).toFixed(1)} s from stopping the old servers to the first read on ${onePoolServers + newPool.length} servers`);
    fill("expanded-", 40);
    // Objects written while a server was down hold exactly the data shards until healed: right
    // after the restart, wait until the peers see each other and every object reads back.
    const readable = await waitFor("every object readable after the expansion", async () => {
      try {
        // A listing right after the restart may be short without an error: wait for the whole count.
        const now = stored();
        return now.size === written.size ? now : undefined;
      } catch {
        return undefined;
      }
    }, 90_000, 2000);
    expect(readable).toEqual(written);
    // New objects go to the emptier pool: its drives hold the bucket's data.
    const secondPool = Array.from({ length: twoPools.minio.pools[1]!.servers }, (_, k) => onePoolServers + k).flatMap((i) => readdirSync(join(serverDir(i), "d0", BUCKET), { withFileTypes: true }).map((d) => d.name));
    expect(secondPool.filter((name) => name.startsWith("expanded-")).length).toBeGreaterThan(0);
    console.log(`MinIO: ${written.size} objects intact after a zone loss and a pool expansion; second pool holds ${new Set(secondPool).size} of them`);
  }, 180_000);
});
