/** The HAProxy configuration the program deploys on Kubernetes, checked by the real haproxy -c. */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderFleetConfig } from "../../components/synapse";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { planFor } from "../helpers";
import { Services } from "./harness";

const services = new Services("haproxy-check");
afterAll(() => services.stopAll());

describe.each(TIERS.flatMap((t) => [[t, true], [t, false]] as const))("tier %s, federation %s", (tier, federation) => {
  it("haproxy -c accepts the rendered Kubernetes configuration", () => {
    const p = planFor(TIER_USERS[tier]!, { federation });
    const { haproxy } = renderFleetConfig(p.synapse, p.routing, p.serverName, "matrix");
    const file = join(services.dir, `haproxy-${tier}-${federation}.cfg`);
    writeFileSync(file, haproxy);
    const check = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });
});
