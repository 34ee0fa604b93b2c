/** Redis data nodes and Sentinels on loopback, started from the rendered settings and start scripts. */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SENTINEL_MASTER_NAME } from "../../components/naming";
import { redisStartScript, renderRedisConf, renderSentinelBase, sentinelStartScript } from "../../components/redis/config";
import type { RedisPlan } from "../../sizing/types";
import { freePort, Services, waitFor } from "./harness";

export interface SentinelRedis {
  data: number[];
  sentinels: number[];
  cli(port: number, ...args: string[]): string;
  /** Start (or restart) data node i with the start script. */
  startNode(i: number): void;
  /** Start (or restart) Sentinel i with its start script; its state starts empty, as in the pod's emptyDir. */
  startSentinel(i: number): void;
}

export async function startSentinelRedis(services: Services, plan: RedisPlan, password: string, dataNodes = plan.instances): Promise<SentinelRedis> {
  const data: number[] = [];
  const sentinels: number[] = [];
  for (let i = 0; i < dataNodes; i++) data.push(await freePort());
  for (let i = 0; i < plan.sentinels; i++) sentinels.push(await freePort());
  const cli = (port: number, ...args: string[]) =>
    spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", "-a", password, "--raw", ...args], { encoding: "utf8", timeout: 10_000 }).stdout.trim();
  const env = (self: number, i: number, kind: string) => {
    const dir = join(services.dir, `${kind}-${i}`);
    mkdirSync(dir, { recursive: true });
    return {
      SELF_HOST: "127.0.0.1",
      SELF_PORT: String(self),
      PEERS: data.map((p) => `127.0.0.1:${p}`).join(" "),
      SENTINELS: sentinels.map((p) => `127.0.0.1:${p}`).join(" "),
      REDIS_PASSWORD: password,
      RUNTIME: dir,
      CONFIG: join(dir, "base.conf"),
      dir,
    };
  };
  const startNode = (i: number) => {
    const e = env(data[i]!, i, "redis");
    writeFileSync(e.CONFIG, renderRedisConf(plan, { port: data[i]!, bind: "127.0.0.1", dir: e.dir }));
    services.start(`redis-${i}`, "sh", ["-c", redisStartScript(plan)], { env: e });
  };
  for (let i = 0; i < dataNodes; i++) startNode(i);
  // Replicas count as good for min-replicas-to-write once they acknowledge within the lag bound.
  await waitFor("replicas online with no lag", async () => {
    const info = cli(data[0]!, "INFO", "replication");
    return (info.match(/state=online,offset=\d+,lag=[01]\b/g) ?? []).length === dataNodes - 1 ? true : undefined;
  }, 30_000);
  const startSentinel = (i: number) => {
    const e = env(sentinels[i]!, i, "sentinel");
    writeFileSync(e.CONFIG, renderSentinelBase({ port: sentinels[i]!, bind: "127.0.0.1", dir: e.dir }));
    services.start(`sentinel-${i}`, "sh", ["-c", sentinelStartScript(plan)], { env: e });
  };
  for (let i = 0; i < plan.sentinels; i++) startSentinel(i);
  await waitFor("sentinels to find each other", async () => {
    const others = cli(sentinels[0]!, "SENTINEL", "sentinels", SENTINEL_MASTER_NAME).split("\n").filter((l) => l === "name").length;
    return others === plan.sentinels - 1 ? true : undefined;
  }, 30_000);
  return { data, sentinels, cli, startNode, startSentinel };
}
