/**
 * The Synapse fleet: every process type, its replicas and autoscale ceiling, its resources,
 * its database pool, its stable names and the streams and single-instance roles it owns.
 */
import {
  ADDED_WORKERS,
  CACHE_AUTOTUNING,
  CACHE_FACTOR_STEP,
  CONNECTION_BUDGET_SHARE,
  AUTOSCALED_CPU,
  HPA_BEHAVIOUR,
  HPA_CPU,
  HPA_MAX_FACTOR,
  LIGHT_WORKER_CP_MAX,
  MATRIX_RTC,
  SYNAPSE_DEFAULT_CACHE_FACTOR,
  ROUTING,
  SETUP_JOB,
  SYNAPSE_RESTART,
  SYNAPSE_SCRATCH,
  REMOTE_MEDIA_SWEEP,
} from "./additions";
import { PlanError } from "./errors";
import { MEASURED_CAPACITY, type MeasuredType } from "./measured";
import { mediaGrowthGBPerYear } from "./objectstore";
import { ceilTo, guaranteed } from "./resources";
import type { LogLevel, Overrides, WorkerType } from "./settings";
import { SEED_RC_REGISTRATION, SEED_REMOTE_MEDIA_LIFETIME_DAYS, TIER_TABLES, type ProcessSize, type TierId } from "./tiers";
import type { SynapsePlan, SynapseStream, WorkerPlan } from "./types";

/** Kubernetes object names (and so instance_map names) of each worker type. */
export const WORKER_NAMES: Readonly<Record<WorkerType, string>> = {
  main: "synapse-main",
  synchrotron: "synapse-synchrotron",
  generic: "synapse-generic-worker",
  eventPersister: "synapse-event-persister",
  federationSender: "synapse-federation-sender",
  mediaRepository: "synapse-media-repository",
  background: "synapse-background-worker",
  streamWriter: "synapse-stream-writer",
  pusher: "synapse-pusher",
};

/** Types that hold no stream and are listed nowhere: the only ones that may autoscale (and whose capacity is measured). */
const AUTOSCALED: ReadonlySet<WorkerType> = new Set<MeasuredType>(["synchrotron", "generic"]);

/** The seed's size with the CPU one process of an autoscaled type can use (AUTOSCALED_CPU). */
export function autoscaledSize<T extends ProcessSize>(type: MeasuredType, seed: T): T {
  const usable = ceilTo(MEASURED_CAPACITY[type].cpuAtMost * AUTOSCALED_CPU.headroom, AUTOSCALED_CPU.stepVcpu);
  return { ...seed, vcpu: Math.min(seed.vcpu, usable) };
}

/**
 * The HPA's CPU target (% of the request, which equals the limit) that adds pods when the average
 * process reaches HPA_CPU.scaleUpAtShare of the CPU it used at the latency limit, or of its limit when lower.
 */
export function hpaTargetFor(type: MeasuredType, requestVcpu: number): number {
  const saturatesAt = Math.min(MEASURED_CAPACITY[type].cpuAtLatencyLimit, requestVcpu);
  return Math.floor((100 * saturatesAt * HPA_CPU.scaleUpAtShare) / (requestVcpu * (1 + HPA_CPU.controllerTolerance)));
}
/** Types Synapse allows exactly one of. */
const SINGLE: ReadonlySet<WorkerType> = new Set(["main", "background"]);

/** Streams with exactly one writer, spread round-robin over the stream writers. */
export const SINGLE_WRITER_STREAMS: readonly SynapseStream[] = ["typing", "to_device", "account_data", "presence", "push_rules"];
/** Streams every stream writer shares. */
export const SHARED_WRITER_STREAMS: readonly SynapseStream[] = ["receipts", "device_lists"];

/** Seed 1.4's capacity rules: the least replicas a type may run for a number of users (HA minimum 2). */
export const CAPACITY_RULES: Readonly<Partial<Record<WorkerType, { usersPerWorker: number }>>> = {
  synchrotron: { usersPerWorker: 1250 },
  generic: { usersPerWorker: 2500 },
  eventPersister: { usersPerWorker: 10_000 },
  federationSender: { usersPerWorker: 5000 },
};
export const HA_MIN_REPLICAS = 2;

export function minimumReplicas(type: WorkerType, ccu: number): number {
  if (SINGLE.has(type)) return 1;
  const rule = CAPACITY_RULES[type];
  return Math.max(HA_MIN_REPLICAS, rule ? Math.ceil(ccu / rule.usersPerWorker) : 0);
}

interface TypeBase {
  replicas: number;
  size: ProcessSize;
  cpMax: number;
}

function seedBase(tier: TierId): Record<WorkerType, TypeBase> {
  const t = TIER_TABLES[tier].synapse;
  const added = ADDED_WORKERS[tier];
  const heavy = (p: { replicas: number } & ProcessSize): TypeBase => ({ replicas: p.replicas, size: p, cpMax: t.workerCpMax });
  const light = (p: { replicas: number } & ProcessSize): TypeBase => ({ replicas: p.replicas, size: p, cpMax: LIGHT_WORKER_CP_MAX });
  return {
    main: { replicas: 1, size: t.main, cpMax: t.mainCpMax },
    synchrotron: heavy(autoscaledSize("synchrotron", t.synchrotron)),
    generic: heavy(autoscaledSize("generic", t.generic)),
    eventPersister: heavy(t.eventPersister),
    federationSender: light(t.federationSender),
    mediaRepository: light(added.mediaRepository),
    background: light(added.background),
    streamWriter: light(added.streamWriter),
    pusher: light(added.pusher),
  };
}

function workerPlan(type: WorkerType, base: TypeBase, ccu: number, cpMin: number, override?: NonNullable<Overrides["synapse"]>[WorkerType]): Omit<WorkerPlan, "logLevel" | "cacheFactor" | "cacheMemory"> {
  const autoscaled = AUTOSCALED.has(type);
  const key = `overrides.synapse.${type}`;
  const replicas = override?.replicas ?? base.replicas;
  if (SINGLE.has(type) && replicas !== 1) {
    throw new PlanError("single-instance process", `${key}.replicas`, `${type} runs exactly one process, got ${replicas}`, "remove the replicas override");
  }
  const minimum = minimumReplicas(type, ccu);
  if (replicas < minimum) {
    const rule = CAPACITY_RULES[type];
    const why = rule ? `max(HA minimum ${HA_MIN_REPLICAS}, ceil(${ccu} users / ${rule.usersPerWorker}))` : `HA minimum`;
    throw new PlanError("HA minimum", `${key}.replicas`, `${type} replicas ${replicas} < ${minimum} = ${why}`, `set replicas to ${minimum} or more`);
  }
  if (!autoscaled && override?.maxReplicas !== undefined) {
    throw new PlanError(
      "named workers do not autoscale",
      `${key}.maxReplicas`,
      `${type} (maxReplicas ${override.maxReplicas}, replicas ${replicas}) is listed by name in Synapse's config, so an autoscaler cannot add instances`,
      "remove maxReplicas and raise replicas instead (restarts every Synapse process)",
    );
  }
  const maxReplicas = autoscaled ? (override?.maxReplicas ?? Math.ceil(replicas * HPA_MAX_FACTOR)) : replicas;
  if (maxReplicas < replicas) {
    throw new PlanError("autoscale range", `${key}.maxReplicas`, `maxReplicas ${maxReplicas} < replicas ${replicas}`, `set maxReplicas to ${replicas} or more`);
  }
  const cpMax = override?.cpMax ?? base.cpMax;
  const name = WORKER_NAMES[type];
  return {
    type,
    kind: autoscaled ? "Deployment" : "StatefulSet",
    replicas,
    maxReplicas,
    // A StatefulSet replaces one pod at a time, after the old one is gone.
    rolloutSurge: autoscaled ? ROUTING.rolloutSurgePods : 0,
    autoscaled,
    ...(autoscaled ? { hpaTargetCpuUtilisation: hpaTargetFor(type as MeasuredType, base.size.vcpu) } : {}),
    resources: guaranteed(base.size),
    cpMin: Math.min(cpMin, cpMax),
    cpMax,
    instances: autoscaled ? [] : Array.from({ length: replicas }, (_, i) => `${name}-${i}`),
    pool: "application",
  };
}

/** A type the deployment does not run (federation senders without federation): zero processes. */
function notDeployed(type: WorkerType, base: TypeBase, cpMin: number): Omit<WorkerPlan, "logLevel" | "cacheFactor" | "cacheMemory"> {
  return {
    type,
    kind: "StatefulSet",
    replicas: 0,
    maxReplicas: 0,
    rolloutSurge: 0,
    autoscaled: false,
    resources: guaranteed(base.size),
    cpMin: Math.min(cpMin, base.cpMax),
    cpMax: base.cpMax,
    instances: [],
    pool: "application",
  };
}

/**
 * Which named instance writes each stream and holds each single-instance duty. Streams Synapse
 * allows one writer for are spread round-robin over the stream writers; `thread_subscriptions`
 * stays on main (Synapse's default; main is never listed in `stream_writers`).
 */
export function assignDuties(workers: Record<WorkerType, WorkerPlan>): Pick<
  SynapsePlan,
  "streamWriters" | "singletons" | "federationSenderInstances" | "pusherInstances"
> {
  const writers = workers.streamWriter.instances;
  const background = workers.background.instances[0]!;
  return {
    streamWriters: {
      events: workers.eventPersister.instances,
      ...Object.fromEntries(SINGLE_WRITER_STREAMS.map((stream, i) => [stream, [writers[i % writers.length]!]])),
      ...Object.fromEntries(SHARED_WRITER_STREAMS.map((stream) => [stream, writers])),
      quarantined_media_changes: workers.mediaRepository.instances,
    },
    singletons: {
      runBackgroundTasksOn: background,
      updateUserDirectoryFromWorker: background,
      notifyAppservicesFromWorker: background,
      mediaInstanceRunningBackgroundJobs: workers.mediaRepository.instances[0]!,
    },
    federationSenderInstances: workers.federationSender.instances,
    pusherInstances: workers.pusher.instances,
  };
}

export interface SynapseInput {
  tier: TierId;
  ccu: number;
  federation: boolean;
  logLevel: LogLevel;
  overrides: Overrides;
}

/**
 * A process's cache factor from its memory: the seed's factor (9.3) sizes main's caches, whose
 * memory grows with the tier as the factor does; a type with less memory gets the factor in
 * proportion, never below Synapse's default (0.5) unless the seed's own factor is lower, nor above
 * the seed's. A rule, not a measurement (docs/synapse.md).
 */
export function cacheFactorFor(memoryGiB: number, mainMemoryGiB: number, seedFactor: number): number {
  const proportional = Math.floor((seedFactor * memoryGiB) / mainMemoryGiB / CACHE_FACTOR_STEP) * CACHE_FACTOR_STEP;
  return Math.min(seedFactor, Math.max(Math.min(SYNAPSE_DEFAULT_CACHE_FACTOR, seedFactor), proportional));
}


/**
 * Pods of a type holding database connections at once beyond its maximum, mid-rollout: the surge
 * pods, plus as many old pods still shutting down (a Deployment does not count terminating pods
 * against maxSurge, and a Synapse pod keeps its connections through its preStop drain).
 */
export function rolloutOverlap(worker: Pick<WorkerPlan, "rolloutSurge">): number {
  return worker.rolloutSurge * 2;
}

/** The fleet without the PostgreSQL side: connectionLimit is filled in once max_connections is known. */
export function planSynapseFleet(input: SynapseInput): Omit<SynapsePlan, "connectionLimit"> {
  const table = TIER_TABLES[input.tier];
  const base = seedBase(input.tier);
  const overrides = input.overrides.synapse ?? {};
  if (!input.federation && overrides.federationSender) {
    throw new PlanError(
      "federation disabled",
      "overrides.synapse.federationSender",
      `federation is false, so 0 federation senders run`,
      "remove the federationSender override or set federation: true",
    );
  }
  const withLogsAndCaches = (w: Omit<WorkerPlan, "logLevel" | "cacheFactor" | "cacheMemory">): WorkerPlan => ({
    ...w,
    logLevel: overrides[w.type]?.logLevel ?? input.logLevel,
    cacheFactor: cacheFactorFor(base[w.type].size.memoryGiB, base.main.size.memoryGiB, table.synapseConfig.cacheFactor),
    cacheMemory: cacheMemoryFor(base[w.type].size.memoryGiB),
  });
  const workers = Object.fromEntries(
    (Object.keys(base) as WorkerType[]).map((type) => {
      if (type === "federationSender" && !input.federation) return [type, withLogsAndCaches(notDeployed(type, base[type], table.synapse.cpMin))];
      return [type, withLogsAndCaches(workerPlan(type, base[type], input.ccu, table.synapse.cpMin, overrides[type]))];
    }),
  ) as Record<WorkerType, WorkerPlan>;

  const list = Object.values(workers);
  const sum = (f: (w: WorkerPlan) => number) => list.reduce((acc, w) => acc + f(w), 0);
  return {
    workers,
    processes: sum((w) => w.replicas),
    processesAtMaxScale: sum((w) => w.maxReplicas),
    connections: sum((w) => w.replicas * w.cpMax),
    connectionsAtMaxScale: sum((w) => w.maxReplicas * w.cpMax),
    connectionsInRollout: sum((w) => (w.maxReplicas + rolloutOverlap(w)) * w.cpMax),
    ...assignDuties(workers),
    federation: input.federation,
    scratch: scratchPlan(input.ccu, table.synapseConfig.maxUploadMB, workers.mediaRepository.replicas),
    config: {
      cacheFactor: table.synapseConfig.cacheFactor,
      eventCacheSize: table.synapseConfig.eventCacheSize,
      maxUploadMB: table.synapseConfig.maxUploadMB,
      remoteMediaLifetimeDays: SEED_REMOTE_MEDIA_LIFETIME_DAYS,
      rcMessage: { ...table.synapseConfig.rcMessage, burstCount: Math.max(table.synapseConfig.rcMessage.burstCount, MATRIX_RTC.messageBurstAtLeast) },
      rcRegistration: { ...SEED_RC_REGISTRATION },
      federationMaxConcurrent: table.synapseConfig.federationMaxConcurrent,
      matrixRtc: { maxEventDelay: MATRIX_RTC.maxEventDelay, delayedEventManagement: { ...MATRIX_RTC.delayedEventManagement } },
    },
    remoteMediaSweep: { ...REMOTE_MEDIA_SWEEP, resources: guaranteed(REMOTE_MEDIA_SWEEP.resources) },
    restart: { ...SYNAPSE_RESTART, job: guaranteed(SETUP_JOB), gate: guaranteed(SETUP_JOB) },
    autoscaling: {
      scaleUp: { ...HPA_BEHAVIOUR.scaleUp },
      scaleDown: { ...HPA_BEHAVIOUR.scaleDown },
    },
  };
}

const MIB_PER_GB = 1e9 / 2 ** 20;
const SECONDS_PER_YEAR = 365 * 24 * 3600;

/** Scratch of Synapse pods and the media workers' cleaner (SYNAPSE_SCRATCH says how and why). */
export function scratchPlan(ccu: number, maxUploadMB: number, mediaWorkers: number): SynapsePlan["scratch"] {
  const s = SYNAPSE_SCRATCH;
  const workers = Math.max(1, mediaWorkers);
  const growthMBPerSecond = (mediaGrowthGBPerYear(ccu) * 1000) / SECONDS_PER_YEAR;
  const uploadsPerSecond = ((growthMBPerSecond / s.averageUploadMB) * s.peakFactor) / workers;
  const uploadsInFlight = Math.max(s.uploadsInFlightAtLeast, Math.ceil(uploadsPerSecond * s.slowUploadSeconds));
  const peakMiBPerSecond = (((growthMBPerSecond * MIB_PER_GB) / 1000) * s.peakFactor * s.remoteFactor) / workers;
  const keptMiB = Math.ceil(peakMiBPerSecond * s.keepMinutes * 60);
  const inFlightMiB = uploadsInFlight * maxUploadMB;
  const everySeconds = Math.max(1, Math.min(s.cleanerEverySecondsAtMost, Math.floor((inFlightMiB * s.cleanerPeriodShareOfSet) / s.mediaWorkerStoreMiBPerSecond)));
  const marginMiB = Math.ceil(2 * everySeconds * peakMiBPerSecond);
  return {
    tmpGiB: s.tmpBaseGiB,
    uploadsInFlight,
    mediaTmpGiB: Math.ceil(s.tmpBaseGiB + inFlightMiB / 1024),
    mediaGiB: Math.ceil((keptMiB + marginMiB + 2 * inFlightMiB) / 1024),
    cleanup: {
      keepMinutes: s.keepMinutes,
      everySeconds,
      trimAboveMiB: keptMiB + marginMiB,
      trimToMiB: keptMiB,
      resources: guaranteed(s.cleaner),
    },
  };
}

/** Where cache autotuning evicts, from the process's memory limit (CACHE_AUTOTUNING). */
export function cacheMemoryFor(memoryGiB: number): WorkerPlan["cacheMemory"] {
  const mib = memoryGiB * 1024;
  return { maxMiB: Math.floor(mib * CACHE_AUTOTUNING.maxShare), targetMiB: Math.floor(mib * CACHE_AUTOTUNING.targetShare), minTtlMinutes: CACHE_AUTOTUNING.minTtlMinutes };
}

/** Budget check: connections at maximum autoscale must stay below the share of max_connections. */
export function connectionLimit(maxConnections: number): number {
  // 85% of a whole number has two decimals: rounding at three only removes float noise (0.85 × 178).
  return Math.round(maxConnections * CONNECTION_BUDGET_SHARE * 1000) / 1000;
}
