/**
 * coturn (Debian) with the rendered turnserver.conf on loopback: a credential derived from the
 * shared secret the way Synapse derives it gets a relay allocation in the planned port range;
 * permissions towards private, loopback, link-local and metadata addresses are refused; wrong or
 * expired credentials are refused. No data is ever relayed.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderTurnserverConf } from "../../components/calls/config";
import { planFor } from "../helpers";
import { freePort, PYTHON, Services, waitFor } from "./harness";

const SECRET = "turn-shared-secret-for-tests";
const coturn = planFor(1000).coturn;

describe("coturn with the rendered configuration", () => {
  const services = new Services("coturn");
  let port: number;
  let config: string;

  const turn = (user: string, lifetime: number, peers: string[], extra: string[] = []) => {
    const r = spawnSync(PYTHON, [join(__dirname, "client", "turn.py"), "127.0.0.1", String(port), SECRET, user, String(lifetime), ...peers, ...extra], { encoding: "utf8", timeout: 30_000 });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { unauthenticated: number; allocate: number; relayed?: string; permissions?: Record<string, number>; released?: number };
  };

  beforeAll(async () => {
    port = await freePort();
    config = renderTurnserverConf(coturn, { realm: "matrix.test", listeningIp: "127.0.0.1" }).replace(/^listening-port=\d+$/m, `listening-port=${port}`);
    const file = join(services.dir, "turnserver.conf");
    writeFileSync(file, config);
    services.start("coturn", "turnserver", ["-c", file, `--static-auth-secret=${SECRET}`, "--pidfile", join(services.dir, "turn.pid")]);
    await waitFor("coturn to answer", async () => {
      try {
        return turn("@probe:matrix.test", 60, []).unauthenticated === 401 ? true : undefined;
      } catch {
        return undefined;
      }
    }, 20_000, 300);
  }, 60_000);
  afterAll(() => services.stopAll(), 30_000);

  it("the rendered file holds no secret, and narrows relays to the planned port range", () => {
    expect(config).not.toContain(SECRET);
    expect(config).toContain(`min-port=${coturn.ports.min}`);
    expect(config).toContain(`max-port=${coturn.ports.max}`);
    expect(config).toContain("no-tcp-relay");
    expect(config).toContain("realm=matrix.test");
  });

  it("a Synapse-derived credential allocates a relay inside the planned range", () => {
    const result = turn("@alice:matrix.test", 3600, []);
    expect(result.unauthenticated).toBe(401);
    expect(result.allocate).toBe(200);
    const relayPort = Number(result.relayed!.split(":")[1]);
    expect(relayPort).toBeGreaterThanOrEqual(coturn.ports.min);
    expect(relayPort).toBeLessThanOrEqual(coturn.ports.max);
    expect(result.released).toBe(200);
  });

  it("permissions towards private, loopback, link-local, CGNAT and metadata addresses are refused (403)", () => {
    const denied = ["10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "198.18.0.1"];
    const result = turn("@alice:matrix.test", 3600, denied);
    expect(result.allocate).toBe(200);
    expect(result.permissions).toEqual(Object.fromEntries(denied.map((ip) => [ip, 403])));
  });

  it("a wrong password and an expired credential are refused (401)", () => {
    expect(turn("@mallory:matrix.test", 3600, [], ["--password-override", "bm90LXRoZS1zZWNyZXQ="]).allocate).toBe(401);
    expect(turn("@alice:matrix.test", -60, []).allocate).toBe(401);
  });
});
