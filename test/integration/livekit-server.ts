/**
 * LiveKit server (built from the Go module proxy) on loopback with the rendered livekit.yaml, over
 * Redis with Sentinel: the ports moved to free ones, everything else as the program renders it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderLivekitConfig } from "../../components/calls/config";
import type { Plan } from "../../sizing/types";
import { freePort, httpOk, ROOT, type Services, waitFor } from "./harness";
import { startSentinelRedis, type SentinelRedis } from "./redis-cluster";

export interface Livekit {
  port: number;
  config: string;
  redis: SentinelRedis;
}

export async function startLivekit(services: Services, plan: Plan, redisPassword: string, apiKey: string, apiSecret: string): Promise<Livekit> {
  const redis = await startSentinelRedis(services, plan.redis.livekit, redisPassword, 2);
  const port = await freePort();
  const config = renderLivekitConfig(plan.livekit, {
    sentinels: redis.sentinels.map((p) => `127.0.0.1:${p}`),
    redisPassword,
    bindAddresses: ["127.0.0.1"],
    useExternalIp: false,
  })
    .replace(/^port: \d+$/m, `port: ${port}`)
    .replace(/tcp_port: \d+/, `tcp_port: ${await freePort()}`)
    .replace(/^prometheus_port: \d+$/m, `prometheus_port: ${await freePort()}`);
  const file = join(services.dir, "livekit.yaml");
  writeFileSync(file, config);
  services.start("livekit", join(ROOT, ".cache", "bin", "livekit-server"), ["--config", file, "--node-ip", "127.0.0.1"], { env: { LIVEKIT_KEYS: `${apiKey}: ${apiSecret}` } });
  await waitFor("LiveKit to answer", () => httpOk(`http://127.0.0.1:${port}/`), 60_000, 500);
  return { port, config, redis };
}
