/**
 * Redis with Sentinel from the rendered settings and start scripts, on loopback: three data nodes,
 * three Sentinels and the master-following proxy Synapse connects to. Acknowledged writes, the
 * master killed, a new master elected within the rendered timeouts, the proxy following it, no
 * acknowledged write lost, and the old master rejoining as a replica. Then the whole set stopped
 * and restarted in different orders, each time with one data node missing: a master is elected,
 * the Sentinels (their state gone, as in the pods' emptyDir) and the proxy follow it.
 */
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SENTINEL_MASTER_NAME } from "../../components/naming";
import { renderMasterProxyConfig } from "../../components/redis/config";
import { freePort, httpOk, Services, waitFor } from "./harness";
import { startSentinelRedis } from "./redis-cluster";
import { planFor } from "../helpers";

const PASSWORD = "sentinel-test-password";
const redisPlan = planFor(100).redis.synapse;

function cli(port: number, ...args: string[]): string {
  const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", "-a", PASSWORD, "--raw", ...args], { encoding: "utf8", timeout: 10_000 });
  return r.stdout.trim();
}

/** Commands on one connection (WAIT acknowledges the writes before it on the same connection). */
function pipeline(port: number, commands: string[]): string[] {
  const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", "-a", PASSWORD, "--raw"], { input: commands.join("\n") + "\n", encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0 || r.error) throw new Error(`redis-cli failed (${r.status}): ${r.stderr} ${r.error ?? ""}`);
  // --raw prints a blank line after an error reply
  return r.stdout.trim().split("\n").filter((line) => line !== "");
}

const role = (port: number) => /role:(\w+)/.exec(cli(port, "INFO", "replication"))?.[1];

describe("Redis Sentinel failover (Synapse's Redis, rendered settings)", () => {
  const services = new Services("redis-sentinel");
  const data: number[] = [];
  const sentinels: number[] = [];
  let proxy: number;
  let startNode: (i: number) => void;
  let startSentinel: (i: number) => void;
  const acknowledged = new Map<string, string>();
  let failover: { electedMs: number; proxyMs: number; newMaster: number };

  beforeAll(async () => {
    const cluster = await startSentinelRedis(services, redisPlan, PASSWORD);
    data.push(...cluster.data);
    sentinels.push(...cluster.sentinels);
    startNode = cluster.startNode;
    startSentinel = cluster.startSentinel;
    proxy = await freePort();
    const proxyHealth = await freePort();
    const cfg = join(services.dir, "proxy.cfg");
    writeFileSync(cfg, renderMasterProxyConfig(data.map((port, i) => ({ name: `redis-${i}`, host: "127.0.0.1", port })), { bind: "127.0.0.1", port: proxy, healthPort: proxyHealth, dnsResolvers: false }));
    const check = spawnSync("haproxy", ["-c", "-f", cfg], { encoding: "utf8", env: { ...process.env, REDIS_PASSWORD: PASSWORD } });
    if (check.status !== 0) throw new Error(check.stdout + check.stderr);
    services.start("proxy", "haproxy", ["-db", "-f", cfg], { env: { REDIS_PASSWORD: PASSWORD } });
    await waitFor("the proxy to see exactly one master", () => httpOk(`http://127.0.0.1:${proxyHealth}/healthz`), 15_000);
    expect(cli(proxy, "INFO", "replication")).toMatch(/role:master/);
  }, 120_000);

  afterAll(() => services.stopAll(), 30_000);

  it("the rendered settings are in force (AOF persistence, maxmemory, Sentinel timeouts and quorum)", () => {
    expect(cli(data[0]!, "CONFIG", "GET", "appendonly")).toBe("appendonly\nyes");
    expect(cli(data[0]!, "CONFIG", "GET", "maxmemory")).toBe(`maxmemory\n${redisPlan.maxmemoryMB * 1024 * 1024}`);
    const master = cli(sentinels[0]!, "SENTINEL", "master", SENTINEL_MASTER_NAME).split("\n");
    const field = (name: string) => master[master.indexOf(name) + 1];
    expect([field("quorum"), field("down-after-milliseconds"), field("failover-timeout")]).toEqual([String(redisPlan.quorum), String(redisPlan.downAfterMs), String(redisPlan.failoverTimeoutMs)]);
    expect(role(data[0]!)).toBe("master");
  });

  it("writes through the proxy are acknowledged by both replicas", () => {
    const keys = Array.from({ length: 200 }, (_, i) => `synapse:test:${i}`);
    // One WAIT after the writes: it returns once the replicas acknowledged every earlier write of the connection.
    const replies = pipeline(proxy, [...keys.map((key, i) => `SET ${key} value-${i}`), "WAIT 2 15000"]);
    const replicas = replies[keys.length];
    keys.forEach((key, i) => {
      if (replies[i] === "OK" && replicas === "2") acknowledged.set(key, `value-${i}`);
    });
    const refused = replies.slice(0, keys.length).filter((r) => r !== "OK");
    expect(refused, "writes refused").toEqual([]);
    expect(replicas, "replicas that acknowledged every write").toBe("2");
    expect(acknowledged.size).toBe(200);
  });

  it("killing the master elects a new one within the rendered timeouts, and the proxy follows it", async () => {
    const killedAt = Date.now();
    const master = services.pid("redis-0")!;
    process.kill(-master, "SIGKILL");
    const budget = redisPlan.downAfterMs + redisPlan.failoverTimeoutMs;
    const newMaster = await waitFor("a new master", async () => {
      const port = Number(cli(sentinels[1]!, "SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER_NAME).split("\n")[1]);
      return port && port !== data[0] && role(port) === "master" ? port : undefined;
    }, budget, 200);
    const electedMs = Date.now() - killedAt;
    await waitFor("the proxy to reach the new master", async () => (/role:master/.test(cli(proxy, "INFO", "replication")) && cli(proxy, "SET", "after", "failover") === "OK" ? true : undefined), budget, 200);
    failover = { electedMs, proxyMs: Date.now() - killedAt, newMaster };
    console.log(`failover: new master elected after ${electedMs} ms, proxy writing to it after ${failover.proxyMs} ms (rendered budget ${budget} ms)`);
    expect(failover.proxyMs).toBeLessThan(budget);
  }, 90_000);

  it("no acknowledged write is lost", () => {
    const keys = [...acknowledged.keys()];
    const values = pipeline(proxy, keys.map((k) => `GET ${k}`));
    expect(values).toEqual(keys.map((k) => acknowledged.get(k)));
  });

  it("the old master, restarted by its start script, asks the Sentinels and rejoins as a replica", async () => {
    startNode(0);
    // It starts as a replica of nothing, then follows the master the Sentinels name.
    await waitFor("old master to rejoin", async () => (role(data[0]!) === "slave" && cli(data[0]!, "INFO", "replication").includes(`master_port:${failover.newMaster}`) ? true : undefined), 30_000);
    expect(cli(data[0]!, "INFO", "replication")).toContain(`master_port:${failover.newMaster}`);
    await waitFor("the rejoined node to sync", async () => (cli(data[0]!, "GET", "after") === "failover" ? true : undefined), 30_000);
    expect(cli(data[0]!, "INFO", "replication")).toContain("master_link_status:up");
  }, 60_000);

  /** A write both replicas acknowledge, then every Sentinel and data node stopped (SIGTERM: Redis flushes its files). */
  async function stopEverythingAfter(key: string): Promise<void> {
    // The node that rejoined after the previous round may still be syncing.
    await waitFor("a write acknowledged by both replicas", async () => (pipeline(proxy, [`SET ${key} kept`, "WAIT 2 15000"]).join(" ") === "OK 2" ? true : undefined), 30_000, 500);
    acknowledged.set(key, "kept");
    for (let i = 0; i < sentinels.length; i++) await services.stop(`sentinel-${i}`);
    for (let i = 0; i < data.length; i++) await services.stop(`redis-${i}`);
  }

  /** Exactly one master among `running`, every other one its replica with the link up. */
  const oneMasterInSync = (running: number[], timeoutMs: number) =>
    waitFor("exactly one master, the other nodes its replicas with the link up", async () => {
      const masters = running.filter((port) => role(port) === "master");
      if (masters.length !== 1) return undefined;
      const replicas = running.filter((port) => port !== masters[0]);
      return replicas.every((port) => /master_link_status:up/.test(cli(port, "INFO", "replication")) && cli(port, "INFO", "replication").includes(`master_port:${masters[0]}`)) ? masters[0] : undefined;
    }, timeoutMs, 500);

  /** Every acknowledged key reads back through the proxy once it writes again. */
  async function acknowledgedIntactThroughProxy(marker: string, timeoutMs: number): Promise<number> {
    await waitFor("the proxy to write to the master", async () => (cli(proxy, "SET", marker, "ok") === "OK" ? true : undefined), timeoutMs, 500);
    const keys = [...acknowledged.keys()];
    expect(pipeline(proxy, keys.map((k) => `GET ${k}`))).toEqual(keys.map((k) => acknowledged.get(k)));
    return keys.length;
  }

  // Which data node stays away, and the order the others come back in (Sentinels last, in reverse).
  it.each([
    [0, [2, 1]],
    [1, [0, 2]],
    [2, [1, 0]],
  ])("every pod stopped, then restarted without data node %i (order %j): one master, the Sentinels and the proxy follow it, nothing acknowledged lost", async (missing, order) => {
    await stopEverythingAfter(`synapse:restart:${missing}`);
    const restartedAt = Date.now();
    for (const i of order) {
      startNode(i);
      await new Promise((r) => setTimeout(r, 1500));
    }
    for (let i = sentinels.length - 1; i >= 0; i--) startSentinel(i);
    const master = await oneMasterInSync(order.map((i) => data[i]!), 90_000);
    const electedMs = Date.now() - restartedAt;
    await waitFor("every Sentinel to name that master", async () => (sentinels.every((s) => cli(s, "SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER_NAME).split("\n")[1] === String(master)) ? true : undefined), 60_000, 500);
    const intact = await acknowledgedIntactThroughProxy(`after:restart:${missing}`, 30_000);
    const servingMs = Date.now() - restartedAt;
    console.log(`full restart without redis-${missing}: master redis-${data.indexOf(master!)} after ${electedMs} ms, Sentinels and proxy serving after ${servingMs} ms; ${intact} acknowledged keys intact`);
    // The missing node comes back as a replica of the elected master.
    startNode(missing);
    await waitFor(`redis-${missing} to join as a replica`, async () => {
      const info = cli(data[missing]!, "INFO", "replication");
      return role(data[missing]!) === "slave" && info.includes(`master_port:${master}`) && info.includes("master_link_status:up") ? true : undefined;
    }, 30_000, 500);
  }, 240_000);

  it("every pod stopped, data node 0's volume wiped, all restarted: the empty node is not elected, nothing acknowledged is lost, and it syncs as a replica", async () => {
    await stopEverythingAfter("synapse:wiped");
    // A replacement volume: no AOF, no RDB.
    for (const file of ["appendonlydir", "dump.rdb"]) rmSync(join(services.dir, "redis-0", file), { recursive: true, force: true });
    for (let i = 0; i < data.length; i++) startNode(i);
    for (let i = 0; i < sentinels.length; i++) startSentinel(i);
    const master = await oneMasterInSync(data, 120_000);
    expect(master).not.toBe(data[0]);
    await acknowledgedIntactThroughProxy("after:wiped", 60_000);
    expect(cli(data[0]!, "GET", "synapse:wiped")).toBe("kept");
  }, 240_000);
});
