/**
 * MinIO (built from the Go module proxy) with the rendered server arguments: one pool of four
 * servers × the plan's drives on loopback (each server in its own mount namespace, so drives are
 * its own), objects written with checksums, one server killed, reads and writes still served with
 * nothing lost; then a second pool appended exactly as the plan's expansion renders it.
 * MinIO refuses peers that resolve to loopback when it runs in a container, so each server is a
 * test host of its own (network namespace) with its drives in its own mount namespace.
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { minioServerArgs, storageClassEnv, type PoolEndpoint } from "../../components/objectstore/server";
import type { Plan } from "../../sizing/types";
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

  function startServers(plan: Plan) {
    const count = plan.minio.pools.reduce((n, p) => n + p.servers, 0);
    for (let i = 0; i < count; i++) {
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
    return Promise.all(
      Array.from({ length: count }, (_, i) => waitFor(`minio-${i} ready`, () => httpOk(`http://${host(i)}:${port}/minio/health/ready`), 90_000, 500)),
    ).then(() => waitFor("the cluster to have write quorum", () => httpOk(`http://${host(0)}:${port}/minio/health/cluster`), 90_000, 500));
  }

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
    network = new TestNetwork(8);
    await startServers(onePool);
    s3("mkbucket", BUCKET);
  }, 120_000);
  afterAll(async () => {
    await services.stopAll({ keepDir: true });
    for (const i of mounted) spawnSync("umount", [serverDir(i)]);
    network?.destroy();
    rmSync(services.dir, { recursive: true, force: true });
  }, 60_000);

  it("the plan's pool is 4 servers × 4 drives with EC:4, and the rendered arguments say so", () => {
    expect(onePool.minio.pools).toEqual([{ servers: 4, drivesPerServer: 4, driveGB: 1000 }]);
    expect(storageClassEnv(onePool.minio)).toEqual({ MINIO_STORAGE_CLASS_STANDARD: "EC:4" });
    const args = minioServerArgs(onePool.minio, endpoint(onePool), { address: ":9000", console: ":9001" });
    expect(args.at(-1)).toBe(`http://${host(0).replace(/\.1$/, "")}.{1...4}:${port}${mountPoint}/d{0...3}`);
  });

  it("stores objects with their checksums", () => {
    fill("before-", 30);
    expect(stored()).toEqual(written);
  });

  it("with one server killed, every object still reads back intact and writes still succeed", async () => {
    await services.stop("minio-3", 0);
    expect(services.running("minio-3")).toBe(false);
    fill("degraded-", 10);
    expect(stored()).toEqual(written);
  }, 120_000);

  it("appending the plan's second pool keeps every pool's arguments and serves both pools", async () => {
    const before = minioServerArgs(onePool.minio, endpoint(onePool), { address: ":9000", console: ":9001" });
    const after = minioServerArgs(twoPools.minio, endpoint(twoPools), { address: ":9000", console: ":9001" });
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toHaveLength(before.length + 1);

    for (let i = 0; i < 3; i++) await services.stop(`minio-${i}`);
    await startServers(twoPools);
    fill("expanded-", 40);
    // Objects written while a server was down hold exactly the data shards until healed: right
    // after the restart, wait until the peers see each other and every object reads back.
    const readable = await waitFor("every object readable after the expansion", async () => {
      try {
        return stored();
      } catch {
        return undefined;
      }
    }, 90_000, 2000);
    expect(readable).toEqual(written);
    // New objects go to the emptier pool: its drives hold the bucket's data.
    const secondPool = [4, 5, 6, 7].flatMap((i) => readdirSync(join(serverDir(i), "d0", BUCKET), { withFileTypes: true }).map((d) => d.name));
    expect(secondPool.filter((name) => name.startsWith("expanded-")).length).toBeGreaterThan(0);
    console.log(`MinIO: ${written.size} objects intact after a server loss and a pool expansion; second pool holds ${new Set(secondPool).size} of them`);
  }, 180_000);
});
