/**
 * Redis with Sentinel from the rendered settings and start scripts, on loopback: three data nodes,
 * three Sentinels and the master-following proxy Synapse connects to. Acknowledged writes, the
 * master killed, a new master elected within the rendered timeouts, the proxy following it, no
 * acknowledged write lost, and the old master rejoining as a replica.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
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
  const acknowledged = new Map<string, string>();
  let failover: { electedMs: number; proxyMs: number; newMaster: number };

  beforeAll(async () => {
    const cluster = await startSentinelRedis(services, redisPlan, PASSWORD);
    data.push(...cluster.data);
    sentinels.push(...cluster.sentinels);
    startNode = cluster.startNode;
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
    const replies = pipeline(proxy, keys.flatMap((key, i) => [`SET ${key} value-${i}`, "WAIT 2 2000"]));
    keys.forEach((key, i) => {
      if (replies[2 * i] === "OK" && replies[2 * i + 1] === "2") acknowledged.set(key, `value-${i}`);
    });
    const refused = replies.filter((r, i) => i % 2 === 0 && r !== "OK");
    expect(refused, "writes refused").toEqual([]);
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
    await waitFor("old master to rejoin", async () => (role(data[0]!) === "slave" ? true : undefined), 30_000);
    expect(cli(data[0]!, "INFO", "replication")).toContain(`master_port:${failover.newMaster}`);
    await waitFor("the rejoined node to sync", async () => (cli(data[0]!, "GET", "after") === "failover" ? true : undefined), 30_000);
    expect(cli(data[0]!, "INFO", "replication")).toContain("master_link_status:up");
  }, 60_000);
});
