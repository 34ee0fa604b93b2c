/**
 * What one Synapse process carries, measured (not assumed): `npm run bench:synapse` drives one
 * synchrotron and one generic worker of the real fleet on loopback, each alone on a dedicated core,
 * with a closed loop of clients doubling each step, and records where p95 latency passes
 * SYNAPSE_LATENCY_LIMIT_MS. The CPU requests of autoscaled workers and their HPA targets come
 * from these numbers (sizing/synapse.ts: autoscaledSize, hpaTargetFor). Re-measure and update them when a new Synapse is pinned.
 */
import type { WorkerType } from "./settings";

/** p95 latency a client request may take before the process counts as saturated. */
export const SYNAPSE_LATENCY_LIMIT_MS = 500;

export type MeasuredType = Extract<WorkerType, "synchrotron" | "generic">;

export interface MeasuredCapacity {
  /** CPU (cores) the process used at the last step within the latency limit. */
  cpuAtLatencyLimit: number;
  /** The most CPU (cores) any step drove it to (the rig not saturated): a Python process is close to single-threaded. */
  cpuAtMost: number;
  /** Requests per second it answered at that step, and how many clients were in flight. */
  requestsPerSecond: number;
  clientsInFlight: number;
}

/**
 * Measured 2026-12-01 with Synapse 1.163.2 (versions.json), jemalloc preloaded, on a 2-core x86-64
 * machine (`npm run bench:synapse`; its per-step table is in docs/proofs.md). Synchrotron:
 * incremental /sync (timeout 0) of distinct users while events arrive. Generic worker: /messages,
 * /state and /profile in equal parts. At the latency limit again but free to use both CPUs, they
 * used 0.87 and 0.95 cores: close to single-threaded, as the GIL makes them.
 */
export const MEASURED_CAPACITY: Readonly<Record<MeasuredType, MeasuredCapacity>> = {
  synchrotron: { cpuAtLatencyLimit: 0.85, cpuAtMost: 0.94, requestsPerSecond: 240, clientsInFlight: 64 },
  generic: { cpuAtLatencyLimit: 0.97, cpuAtMost: 1, requestsPerSecond: 299, clientsInFlight: 64 },
};
