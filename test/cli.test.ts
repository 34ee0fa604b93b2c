/** The plan CLI as a user runs it: a child process, its stdout, stderr and exit code. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

function plan(...args: string[]) {
  const result = spawnSync(TSX, [join(ROOT, "bin", "plan.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run plan", () => {
  it("--json prints the DESIGN.md contract", () => {
    const { code, stdout } = plan("--ccu", "5000", "--json");
    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(json).toMatchObject({ ccu: 5000, tier: "5k" });
    for (const key of ["inventory", "totals", "synapse", "postgres", "redis", "minio", "livekit", "coturn", "resources", "warnings"]) expect(json).toHaveProperty(key);
    for (const row of json.inventory) {
      for (const field of ["role", "count", "vcpu", "memoryGiB", "storageGB", "instanceType"]) expect(row).toHaveProperty(field);
      expect(typeof row.memoryGiB).toBe("number");
    }
    for (const field of ["servers", "vcpu", "memoryGiB", "storageGB", "monthlyUsd"]) expect(typeof json.totals[field]).toBe("number");
    for (const type of ["main", "synchrotron", "generic", "eventPersister", "federationSender"]) {
      expect(Object.keys(json.synapse.workers[type]).sort()).toEqual(expect.arrayContaining(["cpMax", "kind", "maxReplicas", "replicas"]));
    }
    // Worked out by hand from the seed (9.1 counts, 9.2 cp_max), the README's own worker counts and the
    // documented rule (HPA maximum ⌈1.5 × base⌉, cp_max 5 for light types); see
    // test/sizing/connection-budget.test.ts. 5k: 24 processes (29 at max), 217 connections, 277 at max.
    const workers = json.synapse.workers as Record<string, { replicas: number; maxReplicas: number; cpMax: number }>;
    const pick = (w: { replicas: number; maxReplicas: number; cpMax: number }) => [w.replicas, w.maxReplicas, w.cpMax];
    expect(Object.fromEntries(Object.entries(workers).map(([type, w]) => [type, pick(w)]))).toEqual({
      main: [1, 1, 18],
      synchrotron: [6, 9, 12],
      generic: [4, 6, 12],
      eventPersister: [2, 2, 12],
      federationSender: [4, 4, 5],
      mediaRepository: [2, 2, 5],
      background: [1, 1, 5],
      streamWriter: [2, 2, 5],
      pusher: [2, 2, 5],
    });
    expect([json.synapse.processes, json.synapse.connections, json.synapse.connectionsAtMaxScale]).toEqual([24, 217, 277]);
    expect(json.postgres.maxConnections).toBe(400);
    expect(json.postgres).toHaveProperty("maxConnections");
    expect(json.postgres).toHaveProperty("parameters");
    expect(json.minio.pools[0]).toEqual({ servers: 6, drivesPerServer: 4, driveGB: 1000 });
    expect(json.resources.length).toBeGreaterThan(0);
    expect(json.resources[0]).toEqual({ type: expect.any(String), name: expect.any(String) });
  });

  it("the human report shows tier, inventory totals, fleet and budget, data tier and resource counts", () => {
    const { code, stdout } = plan("--ccu", "20000");
    expect(code).toBe(0);
    expect(stdout).toMatch(/tier 20k/);
    // 3 control plane + 5 application (packed, test/sizing/deviations.test.ts) + 5 database + 18 storage (3 pools of 6) + 10 call hosts + 1 monitoring.
    expect(stdout).toMatch(/^total\s+42\s/m);
    expect(stdout).toMatch(/^application nodes\s+5\s+m7i\.12xlarge/m);
    expect(stdout).toMatch(/^synchrotron\s+Deployment\+HPA\s+18\s+27/m);
    // By hand (test/sizing/connection-budget.test.ts) and as the README states: 689 connections mid-rollout need 850.
    expect(stdout).toMatch(/processes 51 \(64 at max autoscale\); database connections 485 \(641 at max, 689 mid-rollout\) < 85% of max_connections 850 = 722\.5 /);
    expect(stdout).toMatch(/MinIO: 3 pool\(s\)/);
    expect(stdout).toMatch(/kubernetes:postgresql.cnpg.io\/v1:Cluster\s+1$/m);
    expect(stdout).toMatch(/kubernetes:apps\/v1:StatefulSet\s+\d+$/m);
  });

  it("--from shows what a tier move changes", () => {
    const { code, stdout } = plan("--from", "5000", "--ccu", "10000");
    expect(code).toBe(0);
    expect(stdout).toMatch(/moving 5000 users \(tier 5k\) → 10000 users \(tier 10k\)/);
    // Packed application pools (test/sizing/deviations.test.ts): 8 × m7i.4xlarge at 5k, 6 × m7i.8xlarge at 10k.
    expect(stdout).toMatch(/inventory\[application\]\.count: 8 → 6/);
    expect(stdout).toMatch(/minio\.pools\[1\]\.servers: — → 6/);
  });

  it("--from on AWS says which node groups a tier move replaces (new group first) and how to move the pods through their budgets", () => {
    const { code, stdout } = plan("--from", "5000", "--ccu", "10000", "--target", "aws");
    expect(code).toBe(0);
    // 5k → 10k: the database nodes go from the seed's 16 vCPU / 64 GB (m7i.4xlarge) to 32 / 128 (m7i.8xlarge), one group per zone.
    expect(stdout).toMatch(/node group database: m7i\.4xlarge → m7i\.8xlarge replaces its 3 groups \(database, database-z1, database-z2\); the new group is created before the old one is removed/);
    expect(stdout).toMatch(/\(1\) pulumi up --target '\*\*::matrix-database' --target '\*\*::matrix-database-m7i-8xlarge' .*\(2\) kubectl drain -l matrix-scale\/pool=database,node\.kubernetes\.io\/instance-type=m7i\.4xlarge --ignore-daemonsets .*\(3\) pulumi up/);
    for (const id of ["database", "database-z1", "database-z2"]) {
      expect(stdout).toMatch(new RegExp(`\\+ aws:eks/nodeGroup:NodeGroup matrix-${id}-m7i-8xlarge`));
      expect(stdout).toMatch(new RegExp(`- aws:eks/nodeGroup:NodeGroup matrix-${id}-m7i-4xlarge`));
    }
    // The application pool moves to the cheapest type that holds 10k with a zone lost: new groups too.
    expect(stdout).toMatch(/node group application: m7i\.4xlarge → m7i\.8xlarge replaces its 3 groups/);
    // The calls pool keeps its instance type: more nodes, no new group.
    expect(stdout).not.toMatch(/node group calls/);
  });

  it("--from a larger tier keeps every MinIO pool and the database volume", () => {
    const { code, stdout } = plan("--from", "20000", "--ccu", "10000", "--json");
    expect(code).toBe(0);
    const diff = JSON.parse(stdout) as { sizing: { path: string }[]; resources: { removed: { name: string }[] } };
    expect(diff.sizing.some((c) => c.path.startsWith("minio.pools"))).toBe(false);
    expect(diff.sizing.some((c) => c.path === "postgres.storageGB")).toBe(false);
    expect(diff.resources.removed.filter((r) => r.name.startsWith("minio-pool"))).toEqual([]);
  });

  it("--storage plans both sides around what the stack holds: moving down from 5K keeps the three pools a 20K stack made", () => {
    const dir = mkdtempSync(join(tmpdir(), "storage-"));
    const file = join(dir, "storage.json");
    // What `pulumi stack output storage --json` prints for a stack that has been at 20K (three pools).
    const pool = { servers: 4, drivesPerServer: 4, driveGB: 2000 };
    writeFileSync(file, JSON.stringify({ tier: "20k", ccu: 20000, minio: { pools: [pool, pool, pool], parity: 4 }, postgres: { storageGB: 10100 } }));
    const { code, stdout } = plan("--from", "5000", "--ccu", "1000", "--json", "--storage", file);
    expect(code, stdout).toBe(0);
    const diff = JSON.parse(stdout) as { resources: { removed: { name: string }[]; added: { name: string }[]; changed: { name: string }[] } };
    expect(diff.resources.removed.filter((r) => r.name.startsWith("minio-pool"))).toEqual([]);
    expect(diff.resources.added.filter((r) => r.name.startsWith("minio-pool"))).toEqual([]);
    // The held pools are resized with the tier's storage nodes (a fresh 5K stack has only pool 0).
    expect(diff.resources.changed.map((r) => r.name)).toEqual(expect.arrayContaining(["minio-pool-1", "minio-pool-2"]));
    const fresh = JSON.parse(plan("--from", "5000", "--ccu", "1000", "--json").stdout) as { resources: { changed: { name: string }[] } };
    expect(fresh.resources.changed.map((r) => r.name)).not.toContain("minio-pool-2");
  });

  it("--stack reads a stack file as `pulumi config set` writes it (quoted values, encryption salt, nested keys, a secret)", () => {
    const dir = mkdtempSync(join(tmpdir(), "stackfile-"));
    const file = join(dir, "Pulumi.written.yaml");
    writeFileSync(
      file,
      'encryptionsalt: v1:QSiZ5RSu8Fw=:v1:4A607QR/JX0GLo0X:ClMkgrEPkpXZDHmvSGiDSqswaNofMA==\nconfig:\n  matrix-scale:ccu: "5000"\n  matrix-scale:serverName: matrix.test.example\n  matrix-scale:kubernetes:\n    namespace: matrix\n    kubeconfig:\n      secure: v1:abc:def\n',
    );
    const { code, stdout, stderr } = plan("--stack", file, "--json");
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ccu: 5000, tier: "5k" });
  });

  it("--stack reads a stack file", () => {
    const { code, stdout } = plan("--stack", "prod", "--json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ccu: 20000, tier: "20k", target: "aws" });
  });

  it.each([
    [["--ccu", "0"], /matrix-scale:ccu = "0": expected a whole number/],
    [["--ccu", "abc"], /matrix-scale:ccu = "abc"/],
    [["--ccu", "30000"], /matrix-scale:ccu = "30000": .* from 1 to 20000/],
    [["--ccu", "100", "--target", "gcp"], /matrix-scale:target = "gcp"/],
    [["--stack", "nope"], /no stack file/],
    [["--ccu", "100", "--bogus"], /Unknown option '--bogus'/],
    [[], /--ccu or --stack is required/],
    [["--from", "100", "--ccu", "1000", "--storage", "/nonexistent/storage.json"], /--storage \/nonexistent\/storage\.json: cannot read the file/],
    [["--from", "100", "--ccu", "1000", "--storage", join(ROOT, "package.json")], /--storage .*package\.json: not the stack's storage output/],
    [["--ccu", "1000", "--storage", join(ROOT, "package.json")], /--storage goes with --from/],
  ])("bad input %j: exit 1 and one line on stderr", (args, message) => {
    const { code, stderr, stdout } = plan(...args);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(message);
  });
});
