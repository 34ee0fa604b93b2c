/**
 * npm run bench:synapse: how much load one synchrotron and one generic worker carry before their
 * latency degrades, measured with the real Synapse fleet on loopback, next to what the plan assumes.
 *
 * The process under test runs alone on one CPU (every thread); everything else (PostgreSQL, Redis,
 * main, the other workers, HAProxy, this load generator) shares another, so the process's CPU is
 * its own and not a share of a contended core. For each worker type a closed loop of clients sends
 * the requests that type serves straight to its listener (incremental /sync with timeout 0 for a
 * synchrotron, which is the work of a long-poll woken by an event without the wait; /messages,
 * /state and /profile for a generic worker), doubling the clients in flight each step while a
 * sender keeps new events arriving. Clients are kept from step to step, and each new one makes its
 * first (initial, full-state) request before the step's clock starts. Per step: requests per
 * second, p50/p95 latency, the process's CPU (utime + stime of all its threads, /proc) and how
 * busy the other CPU was (a step where the rig itself is saturated is marked, and ends the ramp).
 * The latency limit is SYNAPSE_LATENCY_LIMIT_MS (p95); the capacity is the step before the first
 * one past it.
 *
 * A benchmark, not a test: it prints numbers and asserts nothing. The table before the per-tier
 * one holds the values sizing/measured.ts records (update them there, with the date, when a new
 * Synapse is pinned). Only this run's processes are kept off the measured CPU: run it on an
 * otherwise idle machine (the "other load" column says when something else ran there).
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { spawnSync } from "node:child_process";
import { parseSettings, plan as planOf } from "../sizing";
import { MEASURED_CAPACITY, SYNAPSE_LATENCY_LIMIT_MS, type MeasuredType } from "../sizing/measured";
import { HPA_CPU } from "../sizing/additions";
import { TIER_CCU, TIER_IDS } from "../sizing/tiers";
import type { Plan } from "../sizing/types";
import { bootFleet, clientCall, reducedTier, registerUser, type Fleet } from "../test/integration/synapse-fleet";

const ADMIN_FROM = "127.0.0.1";
/** One user per client up to here (Synapse answers a repeated incremental sync of one user from a cache). */
const USERS = 128;
const ROOMS = 4;
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 12_000);
const MAX_CLIENTS = 256;
const SENDS_PER_SECOND = 4;
const UNLIMITED = { per_second: 10_000, burst_count: 10_000 };
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

/** Above this share of the rig's CPU busy, a step measures the rig, not the process. */
const RIG_SATURATED = 0.9;

interface Step {
  clients: number;
  rps: number;
  p50: number;
  p95: number;
  cpu: number;
  /** Busy share of the CPU everything else runs on. */
  rigBusy: number;
  /** Busy share of the measured CPU beyond the process itself (other work on the machine). */
  otherLoad: number;
  errors: number;
}

/** CPU seconds a process (all threads) has used so far (utime and stime, fields 14 and 15 of /proc/PID/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Busy and total jiffies of one CPU so far (/proc/stat). */
function cpuTimes(cpu: number): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${cpu} `))!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3]! + values[4]!;
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** The CPUs this process may use (cpuset and affinity, not a CPU quota), from /proc/self/status. */
function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
  return list.split(",").flatMap((part) => {
    const [from, to] = part.split("-").map(Number);
    return Array.from({ length: (to ?? from!) - from! + 1 }, (_, i) => from! + i);
  });
}

/** Moves every thread of a process to these CPUs (once more if a thread exited under taskset). */
function pin(pid: number, cpus: readonly number[]): void {
  const run = () => spawnSync("taskset", ["-a", "-p", "-c", cpus.join(","), String(pid)], { encoding: "utf8" });
  const r = run().status === 0 ? { status: 0, stderr: "" } : run();
  if (r.status !== 0) throw new Error(`taskset ${cpus.join(",")} ${pid}: ${r.stderr}`);
}

const quantile = (xs: number[], q: number) => (xs.length === 0 ? Infinity : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!);

function get(agent: Agent, port: number, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent, headers: { Authorization: `Bearer ${token}` }, timeout: 30_000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** One virtual client's next request for the type under test; it keeps its own state (a sync token). */
type Client = () => Promise<number>;

function syncClient(agent: Agent, port: number, token: string, copy: number): Client {
  let since = "";
  // A second client of one user asks with another filter, so its syncs are not answered from the first one's.
  const filter = copy === 0 ? "" : `&filter=${encodeURIComponent(JSON.stringify({ room: { timeline: { limit: 10 + copy } } }))}`;
  return async () => {
    const r = await get(agent, port, `/_matrix/client/v3/sync?timeout=0${filter}${since ? `&since=${encodeURIComponent(since)}` : ""}`, token);
    if (r.status === 200) since = (JSON.parse(r.body) as { next_batch: string }).next_batch;
    return r.status;
  };
}

function genericClient(agent: Agent, port: number, token: string, rooms: string[], users: string[]): Client {
  let n = Math.floor(Math.random() * 1000);
  return async () => {
    n++;
    const room = encodeURIComponent(rooms[n % rooms.length]!);
    const path = [`/_matrix/client/v3/rooms/${room}/messages?dir=b&limit=20`, `/_matrix/client/v3/rooms/${room}/state`, `/_matrix/client/v3/profile/${encodeURIComponent(users[n % users.length]!)}`][n % 3]!;
    return (await get(agent, port, path, token)).status;
  };
}

async function runStep(clients: Client[], pid: number, cpus: Cpus): Promise<Omit<Step, "clients">> {
  const rigCpu = cpus.rig;
  const measuredBefore = cpuTimes(cpus.measured);
  const latencies: number[] = [];
  let errors = 0;
  const failures = new Map<string, number>();
  const until = Date.now() + STEP_MS;
  const cpuBefore = cpuSeconds(pid);
  const rigBefore = cpuTimes(rigCpu);
  const started = Date.now();
  await Promise.all(
    clients.map(async (client) => {
      while (Date.now() < until) {
        const t = performance.now();
        try {
          const status = await client();
          if (status === 200) latencies.push(performance.now() - t);
          else {
            errors++;
            failures.set(String(status), (failures.get(String(status)) ?? 0) + 1);
          }
        } catch (error) {
          errors++;
          failures.set((error as Error).message.slice(0, 60), (failures.get((error as Error).message.slice(0, 60)) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const rigAfter = cpuTimes(rigCpu);
  const measuredAfter = cpuTimes(cpus.measured);
  const processCpu = (cpuSeconds(pid) - cpuBefore) / seconds;
  const measuredBusy = ((measuredAfter.busy - measuredBefore.busy) / Math.max(1, measuredAfter.total - measuredBefore.total));
  if (failures.size > 0) console.log(`  failed: ${JSON.stringify(Object.fromEntries(failures))}`);
  return {
    rps: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    cpu: processCpu,
    rigBusy: (rigAfter.busy - rigBefore.busy) / Math.max(1, rigAfter.total - rigBefore.total),
    // While pinned, the process runs on the measured CPU alone; anything more there is someone else's.
    otherLoad: Math.max(0, measuredBusy - processCpu),
    errors,
  };
}

interface Cpus {
  /** Where the process under test runs alone. */
  measured: number;
  /** Where everything else runs. */
  rig: number;
}

async function measure(fleet: Fleet, type: MeasuredType, cpus: Cpus, tokens: string[], rooms: string[], users: string[]): Promise<{ steps: Step[]; unpinnedCpu: number }> {
  const name = fleet.processes.find((p) => p.type === type)!.name!;
  const pid = fleet.services.pid(name)!;
  const port = fleet.httpPort(name);
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_CLIENTS });
  const clients: Client[] = [];
  const makeClient = (i: number) => {
    const token = tokens[i % tokens.length]!;
    return type === "synchrotron" ? syncClient(agent, port, token, Math.floor(i / tokens.length)) : genericClient(agent, port, token, rooms, users);
  };
  /** Grows the client pool to `count`; each new client's first request is made outside any step. */
  const grow = async (count: number) => {
    const fresh = Array.from({ length: count - clients.length }, (_, k) => makeClient(clients.length + k));
    const failed = (await Promise.all(fresh.map((c) => c().catch(() => 0)))).filter((status) => status !== 200).length;
    if (failed > 0) console.log(`  ${failed} of ${fresh.length} new clients failed their first request: their first timed one is a full request`);
    clients.push(...fresh);
  };
  pin(pid, [cpus.measured]);
  const steps: Step[] = [];
  for (let count = 1; count <= MAX_CLIENTS; count *= 2) {
    await grow(count);
    const step = { clients: count, ...(await runStep(clients.slice(0, count), pid, cpus)) };
    steps.push(step);
    const rig = step.rigBusy > RIG_SATURATED ? "  (rig saturated: not counted)" : "";
    console.log(
      `${type.padEnd(12)} ${String(count).padStart(4)} clients  ${step.rps.toFixed(0).padStart(5)} req/s  p50 ${step.p50.toFixed(0).padStart(5)} ms  p95 ${step.p95.toFixed(0).padStart(5)} ms  CPU ${step.cpu.toFixed(2)} cores  rig CPU ${(100 * step.rigBusy).toFixed(0)}%  other load ${(100 * step.otherLoad).toFixed(0)}%  errors ${step.errors}${rig}`,
    );
    if (step.p95 > 2 * SYNAPSE_LATENCY_LIMIT_MS || step.rigBusy > RIG_SATURATED) break;
  }
  // The most clients within the limit again, with the process free to use both CPUs: does it use more than one?
  pin(pid, [cpus.measured, cpus.rig]);
  const { atLimit } = capacity({ steps, unpinnedCpu: 0 });
  const top = atLimit ?? steps[0]!;
  const unpinned = await runStep(clients.slice(0, top.clients), pid, cpus);
  console.log(`${type.padEnd(12)} ${String(top.clients).padStart(4)} clients, free to use both CPUs: ${unpinned.rps.toFixed(0)} req/s, CPU ${unpinned.cpu.toFixed(2)} cores`);
  pin(pid, [cpus.rig]);
  agent.destroy();
  return { steps, unpinnedCpu: unpinned.cpu };
}

/** The step before the first that passed the latency limit, failed a request or saturated the rig; and the most CPU the process used in any step the rig did not limit. */
export function capacity({ steps, unpinnedCpu }: { steps: readonly Step[]; unpinnedCpu: number }): { atLimit: Step | undefined; saturationCpu: number } {
  const first = steps.findIndex((s) => s.p95 > SYNAPSE_LATENCY_LIMIT_MS || s.errors > 0 || s.rigBusy > RIG_SATURATED);
  const valid = first === -1 ? steps : steps.slice(0, first);
  return { atLimit: valid.at(-1), saturationCpu: Math.max(unpinnedCpu, ...steps.filter((s) => s.rigBusy <= RIG_SATURATED).map((s) => s.cpu)) };
}

async function main() {
  const allowed = allowedCpus();
  if (allowed.length < 2) throw new Error(`bench:synapse needs two CPUs (one for the process under test), this process may use ${allowed.join(",")}`);
  const cpus: Cpus = { rig: allowed[0]!, measured: allowed[1]! };
  // Everything this starts inherits the rig's CPU; each measured process moves to its own CPU for its run.
  pin(process.pid, [cpus.rig]);
  const full: Plan = planOf(parseSettings({ ccu: 5000, serverName: "matrix.test", edge: { adminCidrs: [`${ADMIN_FROM}/32`] } }));
  const p = reducedTier(full, {});
  const measured: MeasuredType[] = ["synchrotron", "generic"];
  const fleet = await bootFleet(p, (w) => w.replicas, "bench-synapse", {
    // The load comes from a handful of users: Synapse's per-user limits would measure the limiter.
    sharedOverlay: {
      ...Object.fromEntries(["rc_message", "rc_registration", "rc_joins_per_room", "rc_room_creation", "rc_profile"].map((key) => [key, UNLIMITED])),
      rc_joins: { local: UNLIMITED, remote: UNLIMITED },
    },
  });
  const stopSender = { stop: false };
  // Interrupted, the fleet still stops: its processes run in process groups of their own.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void fleet.stop().finally(() => process.exit(130)));
  try {
    const accounts = [];
    for (let i = 0; i < USERS; i++) accounts.push(await registerUser(fleet, `bench${i}`, "correct horse battery staple", ADMIN_FROM));
    const call = <T>(token: string, method: string, path: string, body?: unknown) => clientCall<T>(fleet, method, path, { token, body, from: ADMIN_FROM });
    const rooms: string[] = [];
    for (let r = 0; r < ROOMS; r++) rooms.push((await call<{ room_id: string }>(accounts[0]!.token, "POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", name: `bench ${r}` })).room_id);
    for (const account of accounts.slice(1)) for (const room of rooms) await call(account.token, "POST", `/_matrix/client/v3/join/${encodeURIComponent(room)}`, {});
    let txn = 0;
    for (const room of rooms) for (let k = 0; k < 30; k++) await call(accounts[k % USERS]!.token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/w${txn++}`, { msgtype: "m.text", body: `warm ${k}` });
    // New events keep arriving, so incremental syncs have something to return.
    const sender = (async () => {
      while (!stopSender.stop) {
        const account = accounts[txn % USERS]!;
        await call(account.token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(rooms[txn % ROOMS]!)}/send/m.room.message/s${txn++}`, { msgtype: "m.text", body: `load ${txn}` }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1000 / SENDS_PER_SECOND));
      }
    })();
    const tokens = accounts.map((a) => a.token);
    const users = accounts.map((a) => a.userId);
    const results: Record<string, ReturnType<typeof capacity>> = {};
    for (const type of measured) results[type] = capacity(await measure(fleet, type, cpus, tokens, rooms, users));
    stopSender.stop = true;
    await sender;

    console.log(`\nAt the latency limit (p95 ≤ ${SYNAPSE_LATENCY_LIMIT_MS} ms), one process alone on one CPU:`);
    console.log("| type | clients in flight | req/s | CPU at the limit | CPU at most | recorded in sizing/measured.ts | plan request (5K) | plan HPA fires above (5K) |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const type of measured) {
      const { atLimit, saturationCpu } = results[type]!;
      const recorded = MEASURED_CAPACITY[type];
      const worker = full.synapse.workers[type];
      // The controller acts beyond its tolerance over the target.
      const trigger = (worker.hpaTargetCpuUtilisation! / 100) * worker.resources.requests.vcpu * (1 + HPA_CPU.controllerTolerance);
      console.log(
        `| ${type} | ${atLimit?.clients ?? "none"} | ${atLimit?.rps.toFixed(0) ?? "-"} | ${atLimit?.cpu.toFixed(2) ?? "-"} cores | ${saturationCpu.toFixed(2)} cores | ${recorded.cpuAtLatencyLimit} / ${recorded.cpuAtMost} cores, ${recorded.requestsPerSecond} req/s, ${recorded.clientsInFlight} clients | ${worker.resources.requests.vcpu} vCPU | ${trigger.toFixed(2)} cores (${worker.hpaTargetCpuUtilisation!}%) |`,
      );
    }
    // What the plan asks of each process: its share of the tier's users, against what one was measured to answer.
    console.log("\nPer tier, users per process (base replicas / HPA maximum) and the requests per second each user may make before one process reaches its measured capacity:");
    console.log(`| tier | ${measured.map((t) => `${t} users per process | ${t} req/s per user`).join(" | ")} |`);
    console.log(`|---|${measured.map(() => "---|---").join("|")}|`);
    for (const tier of TIER_IDS) {
      const tierPlan = planOf(parseSettings({ ccu: TIER_CCU[tier], serverName: "matrix.test" }));
      const cells = measured.map((type) => {
        const { replicas, maxReplicas } = tierPlan.synapse.workers[type];
        const measuredRps = results[type]!.atLimit?.rps ?? 0;
        const users = (n: number) => TIER_CCU[tier] / n;
        return `${users(replicas).toFixed(0)} / ${users(maxReplicas).toFixed(0)} | ${(measuredRps / users(replicas)).toFixed(2)} / ${(measuredRps / users(maxReplicas)).toFixed(2)}`;
      });
      console.log(`| ${tier} | ${cells.join(" | ")} |`);
    }
  } finally {
    stopSender.stop = true;
    await fleet.stop();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
