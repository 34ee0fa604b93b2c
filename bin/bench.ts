/**
 * npm run bench: evaluates the program under the mock runtime for every tier (each tier in its
 * own process, so peak memory is that tier's) and times the sizing module on 10,000 random
 * settings. A benchmark, not a test: it prints numbers and asserts nothing.
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { parseSettings, plan } from "../sizing";
import { TIER_CCU, TIER_IDS, type TierId } from "../sizing/tiers";
import { runProgram } from "./mock-runtime";

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

async function main() {
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
  const sizing = benchSizing();
  console.log(
    `\nsizing: ${sizing.samples} random settings in ${sizing.totalMs.toFixed(0)} ms (${sizing.perPlanUs.toFixed(1)} µs per plan; ${sizing.refused} refused by an invariant)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
