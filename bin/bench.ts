/**
 * npm run bench: evaluates the program under the mock runtime for every tier (each tier in its
 * own process, so peak memory is that tier's), times the sizing module on 10,000 random settings,
 * the plan CLI against loading @pulumi/pulumi alone (both as fresh processes), and, where the test
 * command has installed the engine, a real `pulumi preview` of the 20K stack (rendering to a
 * directory, so no cluster is needed); and per tier, how much each node pool provisions over what it
 * must hold and the monthly bill against the seed's inventory (`--capacity` prints only that).
 * A benchmark, not a test: it prints numbers and asserts nothing.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseSettings, plan, type Plan } from "../sizing";
import { instanceType, VOLUME_TYPE_BY_DISK } from "../sizing/inventory";
import { applicationBinds } from "../sizing/pools";
import { instanceMonthlyUsd, volumeMonthlyUsd } from "../sizing/prices";
import { TIER_CCU, TIER_IDS, TIER_TABLES, type TierId } from "../sizing/tiers";
import { runProgram } from "./mock-runtime";
import { program } from "../program";
import { engineInstalled, engineProject, engineStack } from "../test/integration/engine/engine";
import { writeChartStandIns } from "../test/integration/engine/stand-ins";

const RUNS = 7;
const SIZING_SAMPLES = 10_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Deterministic PRNG so every bench run sizes the same settings. */
function mulberry32(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function benchTier(tier: TierId) {
  const raw = { ccu: TIER_CCU[tier], serverName: "bench.example.com", target: "kubernetes" };
  const times: number[] = [];
  let resources = 0;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    resources = (await runProgram(raw)).resources.length;
    times.push(performance.now() - start);
  }
  return { tier, resources, medianMs: median(times), firstMs: times[0]!, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

function benchSizing() {
  const random = mulberry32(2026);
  const settings = Array.from({ length: SIZING_SAMPLES }, () => ({
    ccu: 1 + Math.floor(random() * 20_000),
    serverName: "bench.example.com",
    federation: random() < 0.8,
    overrides: random() < 0.5 ? { synapse: { synchrotron: { replicas: 2 + Math.floor(random() * 30) } } } : {},
  }));
  let refused = 0;
  const start = performance.now();
  for (const raw of settings) {
    try {
      plan(parseSettings(raw));
    } catch {
      refused++;
    }
  }
  const ms = performance.now() - start;
  return { samples: SIZING_SAMPLES, refused, totalMs: ms, perPlanUs: (ms / SIZING_SAMPLES) * 1000 };
}

const ROOT = join(__dirname, "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

/** Median wall time of a fresh process, over `runs` runs. */
function timeProcess(command: string, args: string[], runs: number, env: NodeJS.ProcessEnv = process.env): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const r = spawnSync(command, args, { encoding: "utf8", cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${r.stderr}`);
    times.push(performance.now() - start);
  }
  return median(times);
}

function benchStartup() {
  const load = timeProcess(TSX, ["-e", "require('@pulumi/pulumi')"], 5);
  const planCli = timeProcess(TSX, ["bin/plan.ts", "--ccu", "20000", "--json"], 5);
  return { loadMs: load, planMs: planCli, ratio: planCli / load };
}

/** A real `pulumi preview` of a 20K stack rendering to a directory (engine from scripts/install-pulumi.sh). */
async function benchEnginePreview(): Promise<{ ms: number } | { missing: string }> {
  if (!engineInstalled()) return { missing: "the engine is not installed (npm test installs it)" };
  const project = engineProject();
  const chartStandIns = writeChartStandIns(join(project.workDir, "charts"));
  const stack = await engineStack(project, "bench", () => program({ chartStandIns }));
  await stack.setAllConfig({ "matrix-scale:ccu": { value: "20000" }, "matrix-scale:serverName": { value: "bench.example.com" }, "matrix-scale:target": { value: "kubernetes" } });
  await stack.setConfig("matrix-scale:kubernetes.renderDir", { value: join(project.workDir, "manifests") }, true);
  const start = performance.now();
  try {
    await stack.preview();
  } catch (error) {
    return { missing: `the preview failed: ${String(error).slice(-500)}` };
  } finally {
    rmSync(project.workDir, { recursive: true, force: true });
  }
  return { ms: performance.now() - start };
}

/**
 * Per pool, what it provisions over what it must hold: with one node lost for the base fleet
 * (rescheduling pools) or on every node (one-per-node pools), and on every node at maximum
 * autoscale mid-rollout. Below 1 would not fit; the goal is at most 1.25 unless an HA floor binds
 * (the essential pods' return after a loss is one: it is printed beside the ratios).
 */
function poolFit(p: Plan) {
  return p.pools
    .filter((u) => u.pods > 0)
    .map((u) => {
      const survivors = u.role === "application" ? u.nodes - 1 : u.nodes;
      const ratio = (per: number, nodes: number, used: number) => (used === 0 ? 0 : (per * nodes) / used);
      return {
        role: u.role,
        nodes: u.nodes,
        nMinus1: { vcpu: ratio(u.allocatable.vcpu, survivors, u.requested.vcpu), memoryGiB: ratio(u.allocatable.memoryGiB, survivors, u.requested.memoryGiB) },
        atMax: { vcpu: ratio(u.allocatable.vcpu, u.nodes, u.requestedAtMaxScale.vcpu), memoryGiB: ratio(u.allocatable.memoryGiB, u.nodes, u.requestedAtMaxScale.memoryGiB) },
      };
    });
}

/**
 * The seed's own inventory (its server tables, every row and count) priced from the same table:
 * each server with its listed disk as one volume of the listed kind, plus the same network and EKS
 * lines the plan pays on AWS.
 */
function seedMonthlyUsd(p: Plan): number {
  const servers = Object.entries(TIER_TABLES[p.tier].servers).filter(([role]) => role !== "controlPlane" || p.target === "kubernetes");
  const perServer = servers.reduce((sum, [, s]) => sum + s.count * (instanceMonthlyUsd(instanceType(s.vcpu, s.memoryGiB)) + volumeMonthlyUsd(VOLUME_TYPE_BY_DISK[s.disk], s.storageGB)), 0);
  const shared = p.bill.lines.filter((l) => ["NAT gateways", "network load balancers", "public IPv4 addresses", "EKS control plane"].includes(l.item)).reduce((n, l) => n + l.monthlyUsd, 0);
  return perServer + shared;
}

function benchCapacity() {
  console.log("\ncapacity per tier (target aws): provisioned ÷ required per pool, vCPU / memory (N-1: base fleet with one node lost, or every member on its node; max: maximum autoscale mid-rollout)");
  console.log(`${"tier".padEnd(6)}${"pool".padEnd(13)}${"nodes".padStart(6)}${"N-1 vCPU".padStart(10)}${"N-1 mem".padStart(9)}${"max vCPU".padStart(10)}${"max mem".padStart(9)}  what one node fewer would break`);
  const bills: string[] = [];
  for (const tier of TIER_IDS) {
    const p = plan(parseSettings({ ccu: TIER_CCU[tier], serverName: "bench.example.com", target: "aws" }));
    for (const f of poolFit(p)) {
      const binds = f.role === "application" ? applicationBinds(p).join("; ") : "one member per node";
      console.log(`${tier.padEnd(6)}${f.role.padEnd(13)}${String(f.nodes).padStart(6)}${f.nMinus1.vcpu.toFixed(2).padStart(10)}${f.nMinus1.memoryGiB.toFixed(2).padStart(9)}${f.atMax.vcpu.toFixed(2).padStart(10)}${f.atMax.memoryGiB.toFixed(2).padStart(9)}  ${binds}`);
    }
    const seed = seedMonthlyUsd(p);
    bills.push(`${tier.padEnd(6)}${usd(p.bill.monthlyUsd).padStart(12)}${usd(seed).padStart(14)}${usd(seed - p.bill.monthlyUsd).padStart(12)}${`${((1 - p.bill.monthlyUsd / seed) * 100).toFixed(0)}%`.padStart(6)}`);
  }
  console.log("\nmonthly bill (target aws, sizing/prices.ts) against the seed's inventory priced the same way");
  console.log(`${"tier".padEnd(6)}${"plan".padStart(12)}${"seed".padStart(14)}${"saved".padStart(12)}${"".padStart(6)}`);
  for (const line of bills) console.log(line);
}

const usd = (n: number) => `$${Math.round(n).toLocaleString("en-US")}`;

async function main() {
  if (process.argv.includes("--capacity")) return benchCapacity();
  const tierArg = process.argv.indexOf("--tier");
  if (tierArg > 0) {
    process.stdout.write(JSON.stringify(await benchTier(process.argv[tierArg + 1] as TierId)));
    return;
  }
  const rows = TIER_IDS.map((tier) => {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, "--tier", tier], { encoding: "utf8" });
    if (child.status !== 0) throw new Error(`bench for tier ${tier} failed: ${child.stderr}`);
    return JSON.parse(child.stdout) as Awaited<ReturnType<typeof benchTier>>;
  });
  const fmt = (n: number, d = 1) => n.toFixed(d).padStart(9);
  console.log(`program under the mock runtime, ${RUNS} runs per tier, one process per tier`);
  console.log(`${"tier".padEnd(6)}${"resources".padStart(10)}${"median ms".padStart(10)}${"first ms".padStart(10)}${"peak RSS MiB".padStart(14)}`);
  for (const r of rows) console.log(`${r.tier.padEnd(6)}${String(r.resources).padStart(10)}${fmt(r.medianMs)} ${fmt(r.firstMs)}${fmt(r.peakRssMiB).padStart(14)}`);
  benchCapacity();
  const sizing = benchSizing();
  console.log(
    `\nsizing: ${sizing.samples} random settings in ${sizing.totalMs.toFixed(0)} ms (${sizing.perPlanUs.toFixed(1)} µs per plan; ${sizing.refused} refused by an invariant)`,
  );
  const startup = benchStartup();
  console.log(`plan CLI (--ccu 20000 --json) ${startup.planMs.toFixed(0)} ms vs loading @pulumi/pulumi ${startup.loadMs.toFixed(0)} ms: ${startup.ratio.toFixed(2)}× (median of 5 fresh processes each)`);
  const preview = await benchEnginePreview();
  console.log("ms" in preview ? `real pulumi preview of the 20K stack (render to a directory, stand-in charts): ${(preview.ms / 1000).toFixed(1)} s` : `real pulumi preview: not measured, ${preview.missing}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
