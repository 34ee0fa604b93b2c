/**
 * Redis with Sentinel from the rendered settings and start scripts, on loopback: three data nodes,
 * three Sentinels and the master-following proxy Synapse connects to. Acknowledged writes, the
 * master killed, a new master elected within the rendered timeouts, the proxy following it, no
 * acknowledged write lost, and the old master rejoining as a replica.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SENTINEL_MASTER_NAME } from "../../components/naming";
import { redisStartScript, renderMasterProxyConfig, renderRedisConf, renderSentinelBase, sentinelStartScript } from "../../components/redis/config";
import { freePort, httpOk, Services, waitFor } from "./harness";
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
    for (let i = 0; i < 3; i++) data.push(await freePort());
    for (let i = 0; i < 3; i++) sentinels.push(await freePort());
    const env = (self: number, i: number, kind: string) => {
      const dir = join(services.dir, `${kind}-${i}`);
      mkdirSync(dir, { recursive: true });
      return {
        SELF_HOST: "127.0.0.1",
        SELF_PORT: String(self),
        FIRST_HOST: "127.0.0.1",
        FIRST_PORT: String(data[0]),
        SENTINELS: sentinels.map((p) => `127.0.0.1:${p}`).join(" "),
        REDIS_PASSWORD: PASSWORD,
        RUNTIME: dir,
        CONFIG: join(dir, "base.conf"),
        dir,
      };
    };
    startNode = (i: number) => {
      const e = env(data[i]!, i, "redis");
      writeFileSync(e.CONFIG, renderRedisConf(redisPlan, { port: data[i]!, bind: "127.0.0.1", dir: e.dir }));
      services.start(`redis-${i}`, "sh", ["-c", redisStartScript()], { env: e });
    };
    for (let i = 0; i < 3; i++) startNode(i);
    await waitFor("two replicas attached", async () => (/connected_slaves:2/.test(cli(data[0]!, "INFO", "replication")) ? true : undefined), 30_000);
    for (let i = 0; i < 3; i++) {
      const e = env(sentinels[i]!, i, "sentinel");
      writeFileSync(e.CONFIG, renderSentinelBase({ port: sentinels[i]!, bind: "127.0.0.1", dir: e.dir }));
      services.start(`sentinel-${i}`, "sh", ["-c", sentinelStartScript(redisPlan)], { env: e });
    }
    await waitFor("sentinels to find each other", async () => {
      const others = cli(sentinels[0]!, "SENTINEL", "sentinels", SENTINEL_MASTER_NAME).split("\n").filter((l) => l === "name").length;
      return others === 2 ? true : undefined;
    }, 30_000);
    // Replicas count as good for min-replicas-to-write once they acknowledge within the lag bound.
    await waitFor("both replicas online with no lag", async () => {
      const info = cli(data[0]!, "INFO", "replication");
      return (info.match(/state=online,offset=\d+,lag=[01]\b/g) ?? []).length === 2 ? true : undefined;
    }, 30_000);
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
