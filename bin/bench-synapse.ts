/**
 * npm run bench:synapse: how much load one synchrotron and one generic worker carry before their
 * latency degrades, measured with the real Synapse fleet on loopback, next to what the plan assumes.
 *
 * The process under test runs alone on CPU 1; everything else (PostgreSQL, Redis, main, the other
 * workers, HAProxy, this load generator) shares CPU 0, so the process's CPU is its own and not a
 * share of a contended core. For each worker type a closed loop of clients sends the requests that
 * type serves straight to its listener (incremental /sync for a synchrotron; /messages, /state and
 * /profile for a generic worker), doubling the clients in flight each step while a sender keeps
 * new events arriving. Per step: requests per second, p50/p95 latency and the process's CPU
 * (utime + stime of all its threads, /proc). The latency limit is SYNAPSE_LATENCY_LIMIT_MS (p95).
 *
 * A benchmark, not a test: it prints numbers and asserts nothing. Its last lines are the values
 * sizing/measured.ts records (update them there, with the date, when a new Synapse is pinned).
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { spawnSync } from "node:child_process";
import { parseSettings, plan as planOf } from "../sizing";
import { MEASURED_CAPACITY, SYNAPSE_LATENCY_LIMIT_MS, type MeasuredType } from "../sizing/measured";
import { HPA_CPU } from "../sizing/additions";
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

interface Step {
  clients: number;
  rps: number;
  p50: number;
  p95: number;
  cpu: number;
  errors: number;
}

/** CPU seconds a process (all threads) has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
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

async function runStep(clients: Client[], pid: number): Promise<Omit<Step, "clients">> {
  const latencies: number[] = [];
  let errors = 0;
  const failures = new Map<string, number>();
  const until = Date.now() + STEP_MS;
  const cpuBefore = cpuSeconds(pid);
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
  if (failures.size > 0) console.log(`  failed: ${JSON.stringify(Object.fromEntries(failures))}`);
  return { rps: latencies.length / seconds, p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), cpu: (cpuSeconds(pid) - cpuBefore) / seconds, errors };
}

async function measure(fleet: Fleet, type: MeasuredType, tokens: string[], rooms: string[], users: string[]): Promise<{ steps: Step[]; unpinnedCpu: number }> {
  const name = fleet.processes.find((p) => p.type === type)!.name!;
  const pid = fleet.services.pid(name)!;
  const port = fleet.httpPort(name);
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_CLIENTS });
  const makeClient = (i: number) => {
    const token = tokens[i % tokens.length]!;
    return type === "synchrotron" ? syncClient(agent, port, token, Math.floor(i / tokens.length)) : genericClient(agent, port, token, rooms, users);
  };
  const steps: Step[] = [];
  for (let count = 1; count <= MAX_CLIENTS; count *= 2) {
    const clients = Array.from({ length: count }, (_, i) => makeClient(i));
    const step = { clients: count, ...(await runStep(clients, pid)) };
    steps.push(step);
    console.log(`${type.padEnd(12)} ${String(count).padStart(4)} clients  ${step.rps.toFixed(0).padStart(5)} req/s  p50 ${step.p50.toFixed(0).padStart(5)} ms  p95 ${step.p95.toFixed(0).padStart(5)} ms  CPU ${step.cpu.toFixed(2)} cores  errors ${step.errors}`);
    if (step.p95 > 2 * SYNAPSE_LATENCY_LIMIT_MS) break;
  }
  // The same load with the process free to use both cores (every thread): does it use more than one?
  const all = spawnSync("taskset", ["-a", "-p", "-c", "0,1", String(pid)], { encoding: "utf8" });
  if (all.status !== 0) throw new Error(`taskset: ${all.stderr}`);
  const top = steps.at(-1)!;
  const clients = Array.from({ length: top.clients }, (_, i) => makeClient(i));
  const unpinned = await runStep(clients, pid);
  console.log(`${type.padEnd(12)} ${String(top.clients).padStart(4)} clients, free to use both cores: ${unpinned.rps.toFixed(0)} req/s, CPU ${unpinned.cpu.toFixed(2)} cores`);
  agent.destroy();
  return { steps, unpinnedCpu: unpinned.cpu };
}

/** The last step within the latency limit, and the most CPU any step used. */
export function capacity({ steps, unpinnedCpu }: { steps: readonly Step[]; unpinnedCpu: number }): { atLimit: Step | undefined; saturationCpu: number } {
  const within = steps.filter((s) => s.p95 <= SYNAPSE_LATENCY_LIMIT_MS && s.errors === 0);
  return { atLimit: within.at(-1), saturationCpu: Math.max(unpinnedCpu, ...steps.map((s) => s.cpu)) };
}

async function main() {
  const affinity = spawnSync("taskset", ["-p", "-c", "0", String(process.pid)], { encoding: "utf8" });
  if (affinity.status !== 0) throw new Error(`taskset: ${affinity.stderr}`);
  const full: Plan = planOf(parseSettings({ ccu: 5000, serverName: "matrix.test", edge: { adminCidrs: [`${ADMIN_FROM}/32`] } }));
  const p = reducedTier(full, {});
  const measured: MeasuredType[] = ["synchrotron", "generic"];
  const fleet = await bootFleet(p, (w) => w.replicas, "bench-synapse", {
    // The load comes from a handful of users: Synapse's per-user limits would measure the limiter.
    sharedOverlay: {
      ...Object.fromEntries(["rc_message", "rc_registration", "rc_joins_per_room", "rc_room_creation", "rc_profile"].map((key) => [key, UNLIMITED])),
      rc_joins: { local: UNLIMITED, remote: UNLIMITED },
    },
    prefixFor: (process) => (measured.includes(process.type as MeasuredType) ? ["taskset", "-c", "1"] : undefined),
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
    for (const type of measured) results[type] = capacity(await measure(fleet, type, tokens, rooms, users));
    stopSender.stop = true;
    await sender;

    console.log(`\nAt the latency limit (p95 ≤ ${SYNAPSE_LATENCY_LIMIT_MS} ms), one process, on one dedicated core:`);
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
