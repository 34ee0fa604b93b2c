/** Topology pictures: every pool, host count and process count of the plan, and well-formed SVG. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mermaid, svg } from "../../bin/diagram";
import { TIER_USERS, TIERS } from "../fixtures/seed";
import { planFor } from "../helpers";

describe.each(TIERS)("the %s tier's picture", (tier) => {
  const p = planFor(TIER_USERS[tier]!);

  it("Mermaid: one subgraph per pool with its node count, every process type with its replicas, the routes", () => {
    const text = mermaid(p);
    expect(text.startsWith("flowchart LR\n")).toBe(true);
    for (const role of ["application", "database", "storage", "calls"]) {
      const row = p.inventory.find((r) => r.role === role)!;
      expect(text).toContain(`subgraph ${role}["${role} pool · ${row.count} × ${row.instanceType}"]`);
    }
    for (const w of Object.values(p.synapse.workers).filter((x) => x.replicas > 0)) expect(text).toContain(`${w.type} ×${w.replicas}`);
    expect(text).toContain(`LiveKit ×${p.livekit.instances}`);
    expect(text).toContain(`coturn ×${p.coturn.instances}`);
    expect(text).toContain("users -->|HTTPS| haproxy");
    expect(text).toContain("mediaRepository -->|S3| minio");
    expect((text.match(/subgraph /g) ?? []).length).toBe((text.match(/^ {2}end$/gm) ?? []).length);
  });

  it("SVG: well-formed XML with the same counts", () => {
    const image = svg(p);
    const parsed = spawnSync("python3", ["-c", "import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); print(len(r.findall('{http://www.w3.org/2000/svg}text')))"], { input: image, encoding: "utf8" });
    expect(parsed.status, parsed.stderr).toBe(0);
    expect(Number(parsed.stdout)).toBeGreaterThan(15);
    expect(image).toContain(`PostgreSQL ×${p.postgres.instances}`);
    expect(image).toContain(`${p.inventory.find((r) => r.role === "application")!.count} × `);
  });
});

describe("the pictures in docs/operations.md", () => {
  it.each([["100", 100], ["20k", 20_000]] as const)("docs/diagrams/%s.* are what `plan --diagram` writes today", (tier, ccu) => {
    const dir = join(__dirname, "..", "..", "docs", "diagrams");
    const p = planFor(ccu, { serverName: "matrix.dev.example.com", kubernetes: { namespace: "matrix", renderDir: "out/manifests" } });
    expect(readFileSync(join(dir, `${tier}.mmd`), "utf8")).toBe(mermaid(p));
    expect(readFileSync(join(dir, `${tier}.svg`), "utf8")).toBe(svg(p));
  });
});
