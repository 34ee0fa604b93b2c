/**
 * The scaling guide's per-tier tables (sections 3-7, 9 and 11) as typed data.
 * This file holds what the seed says for each named tier and nothing derived:
 * every rule that turns these rows into a plan lives in the other sizing modules.
 */

export const TIER_IDS = ["100", "1k", "5k", "10k", "20k"] as const;
export type TierId = (typeof TIER_IDS)[number];

/** Peak concurrent users each tier is provisioned for. */
export const TIER_CCU: Readonly<Record<TierId, number>> = {
  "100": 100,
  "1k": 1_000,
  "5k": 5_000,
  "10k": 10_000,
  "20k": 20_000,
};

/** Inventory roles as the seed names them (its server tables). */
export const SEED_ROLES = [
  "controlPlane",
  "application",
  "database",
  "storage",
  "calls",
  "compliance",
  "monitoring",
] as const;
export type SeedRole = (typeof SEED_ROLES)[number];

export type DiskKind = "ssd" | "nvme" | "hdd";

export interface ServerRow {
  count: number;
  vcpu: number;
  memoryGiB: number;
  storageGB: number;
  disk: DiskKind;
}

export interface ProcessSize {
  vcpu: number;
  memoryGiB: number;
}

export interface ScaledProcess extends ProcessSize {
  replicas: number;
}

export interface TierTable {
  servers: Record<SeedRole, ServerRow>;
  synapse: {
    main: ProcessSize;
    synchrotron: ScaledProcess;
    generic: ScaledProcess;
    eventPersister: ScaledProcess;
    federationSender: ScaledProcess;
    mainCpMax: number;
    workerCpMax: number;
    cpMin: number;
  };
  synapseConfig: {
    cacheFactor: number;
    eventCacheSize: number;
    maxUploadMB: number;
    rcMessage: { perSecond: number; burstCount: number };
    federationMaxConcurrent: number;
  };
  postgres: {
    instances: number;
    vcpu: number;
    memoryGiB: number;
    storageGB: number;
    /** The tier's own tuning block, exactly as listed (PostgreSQL units). */
    parameters: Record<string, string>;
  };
  redis: { synapse: ProcessSize; livekit: ProcessSize };
  minio: { pools: number; serversPerPool: number; vcpu: number; memoryGiB: number; driveGB: number };
  livekit: { instances: number; vcpu: number; memoryGiB: number };
  coturn: { instances: number; vcpu: number; memoryGiB: number };
}

const server = (count: number, vcpu: number, memoryGiB: number, storageGB: number, disk: DiskKind): ServerRow => ({
  count,
  vcpu,
  memoryGiB,
  storageGB,
  disk,
});
const proc = (vcpu: number, memoryGiB: number): ProcessSize => ({ vcpu, memoryGiB });
const scaled = (replicas: number, vcpu: number, memoryGiB: number): ScaledProcess => ({ replicas, vcpu, memoryGiB });

export const TIER_TABLES: Readonly<Record<TierId, TierTable>> = {
  "100": {
    servers: {
      controlPlane: server(3, 4, 8, 100, "ssd"),
      application: server(3, 8, 16, 200, "ssd"),
      database: server(3, 4, 16, 500, "nvme"),
      storage: server(4, 4, 8, 1000, "hdd"),
      calls: server(2, 4, 8, 50, "ssd"),
      compliance: server(1, 4, 8, 100, "ssd"),
      monitoring: server(1, 4, 16, 200, "ssd"),
    },
    synapse: {
      main: proc(2, 4),
      synchrotron: scaled(2, 1, 1),
      generic: scaled(2, 1, 1),
      eventPersister: scaled(2, 2, 2),
      federationSender: scaled(2, 0.5, 0.5),
      mainCpMax: 10,
      workerCpMax: 8,
      cpMin: 5,
    },
    synapseConfig: {
      cacheFactor: 0.5,
      eventCacheSize: 5_000,
      maxUploadMB: 50,
      rcMessage: { perSecond: 5, burstCount: 25 },
      federationMaxConcurrent: 5,
    },
    postgres: {
      instances: 3,
      vcpu: 4,
      memoryGiB: 16,
      storageGB: 500,
      parameters: {
        max_connections: "200",
        shared_buffers: "4GB",
        effective_cache_size: "12GB",
        maintenance_work_mem: "1GB",
        work_mem: "20MB",
        random_page_cost: "1.1",
        effective_io_concurrency: "200",
        wal_buffers: "16MB",
        max_wal_size: "4GB",
        checkpoint_completion_target: "0.9",
      },
    },
    redis: { synapse: proc(1, 2), livekit: proc(1, 1) },
    minio: { pools: 1, serversPerPool: 4, vcpu: 4, memoryGiB: 8, driveGB: 1000 },
    livekit: { instances: 2, vcpu: 4, memoryGiB: 8 },
    coturn: { instances: 2, vcpu: 4, memoryGiB: 4 },
  },
  "1k": {
    servers: {
      controlPlane: server(3, 4, 8, 100, "ssd"),
      application: server(5, 16, 32, 500, "ssd"),
      database: server(3, 8, 32, 1000, "nvme"),
      storage: server(4, 8, 16, 2000, "hdd"),
      calls: server(4, 8, 16, 100, "ssd"),
      compliance: server(1, 4, 16, 200, "ssd"),
      monitoring: server(1, 8, 32, 300, "ssd"),
    },
    synapse: {
      main: proc(2, 8),
      synchrotron: scaled(4, 1.5, 2),
      generic: scaled(2, 1.5, 2),
      eventPersister: scaled(2, 2, 3),
      federationSender: scaled(2, 1, 1),
      mainCpMax: 15,
      workerCpMax: 12,
      cpMin: 5,
    },
    synapseConfig: {
      cacheFactor: 1.0,
      eventCacheSize: 10_000,
      maxUploadMB: 100,
      rcMessage: { perSecond: 10, burstCount: 50 },
      federationMaxConcurrent: 10,
    },
    postgres: {
      instances: 3,
      vcpu: 8,
      memoryGiB: 32,
      storageGB: 1000,
      parameters: {
        max_connections: "300",
        shared_buffers: "8GB",
        effective_cache_size: "24GB",
        maintenance_work_mem: "2GB",
        work_mem: "26MB",
        max_wal_size: "8GB",
        checkpoint_completion_target: "0.9",
        autovacuum_max_workers: "4",
      },
    },
    redis: { synapse: proc(2, 4), livekit: proc(2, 2) },
    minio: { pools: 1, serversPerPool: 4, vcpu: 8, memoryGiB: 16, driveGB: 2000 },
    livekit: { instances: 2, vcpu: 8, memoryGiB: 16 },
    coturn: { instances: 2, vcpu: 8, memoryGiB: 8 },
  },
  "5k": {
    servers: {
      controlPlane: server(3, 8, 16, 200, "ssd"),
      application: server(8, 16, 64, 1000, "ssd"),
      database: server(3, 16, 64, 2000, "nvme"),
      storage: server(4, 16, 32, 4000, "hdd"),
      calls: server(6, 16, 32, 200, "ssd"),
      compliance: server(1, 8, 32, 500, "ssd"),
      monitoring: server(1, 8, 32, 500, "ssd"),
    },
    synapse: {
      main: proc(4, 12),
      synchrotron: scaled(6, 2, 3),
      generic: scaled(4, 2, 3),
      eventPersister: scaled(2, 3, 4),
      federationSender: scaled(4, 1.5, 2),
      mainCpMax: 18,
      workerCpMax: 12,
      cpMin: 5,
    },
    synapseConfig: {
      cacheFactor: 2.0,
      eventCacheSize: 20_000,
      maxUploadMB: 100,
      rcMessage: { perSecond: 15, burstCount: 75 },
      federationMaxConcurrent: 20,
    },
    postgres: {
      instances: 3,
      vcpu: 16,
      memoryGiB: 64,
      storageGB: 2000,
      parameters: {
        max_connections: "400",
        shared_buffers: "16GB",
        effective_cache_size: "48GB",
        maintenance_work_mem: "4GB",
        work_mem: "40MB",
        max_wal_size: "16GB",
        checkpoint_completion_target: "0.9",
        autovacuum_max_workers: "6",
        autovacuum_naptime: "30s",
      },
    },
    redis: { synapse: proc(4, 8), livekit: proc(2, 4) },
    minio: { pools: 1, serversPerPool: 4, vcpu: 16, memoryGiB: 32, driveGB: 4000 },
    livekit: { instances: 3, vcpu: 16, memoryGiB: 32 },
    coturn: { instances: 3, vcpu: 16, memoryGiB: 16 },
  },
  "10k": {
    servers: {
      controlPlane: server(3, 8, 16, 200, "ssd"),
      application: server(12, 32, 128, 2000, "ssd"),
      database: server(3, 32, 128, 4000, "nvme"),
      storage: server(8, 16, 32, 4000, "hdd"),
      calls: server(8, 16, 32, 200, "ssd"),
      compliance: server(1, 8, 32, 500, "ssd"),
      monitoring: server(1, 16, 64, 1000, "ssd"),
    },
    synapse: {
      main: proc(4, 16),
      synchrotron: scaled(8, 2, 4),
      generic: scaled(4, 2, 4),
      eventPersister: scaled(2, 4, 6),
      federationSender: scaled(4, 2, 3),
      mainCpMax: 20,
      workerCpMax: 15,
      cpMin: 5,
    },
    synapseConfig: {
      cacheFactor: 3.0,
      eventCacheSize: 30_000,
      maxUploadMB: 100,
      rcMessage: { perSecond: 20, burstCount: 100 },
      federationMaxConcurrent: 30,
    },
    postgres: {
      instances: 3,
      vcpu: 32,
      memoryGiB: 128,
      storageGB: 4000,
      parameters: {
        max_connections: "500",
        shared_buffers: "32GB",
        effective_cache_size: "96GB",
        maintenance_work_mem: "8GB",
        work_mem: "50MB",
        max_wal_size: "32GB",
        checkpoint_completion_target: "0.9",
        autovacuum_max_workers: "8",
        autovacuum_naptime: "20s",
      },
    },
    redis: { synapse: proc(8, 16), livekit: proc(4, 8) },
    minio: { pools: 2, serversPerPool: 4, vcpu: 16, memoryGiB: 32, driveGB: 4000 },
    livekit: { instances: 4, vcpu: 16, memoryGiB: 32 },
    coturn: { instances: 4, vcpu: 16, memoryGiB: 16 },
  },
  "20k": {
    servers: {
      controlPlane: server(3, 8, 16, 200, "ssd"),
      application: server(21, 32, 128, 2000, "ssd"),
      database: server(5, 32, 128, 4000, "nvme"),
      storage: server(12, 16, 32, 4000, "hdd"),
      calls: server(10, 16, 32, 200, "ssd"),
      compliance: server(1, 16, 64, 1000, "ssd"),
      monitoring: server(1, 16, 64, 1000, "ssd"),
    },
    synapse: {
      main: proc(4, 16),
      synchrotron: scaled(18, 2, 4),
      generic: scaled(8, 2, 4),
      eventPersister: scaled(4, 4, 6),
      federationSender: scaled(8, 2, 3),
      mainCpMax: 25,
      workerCpMax: 12,
      cpMin: 5,
    },
    synapseConfig: {
      cacheFactor: 4.0,
      eventCacheSize: 50_000,
      maxUploadMB: 100,
      rcMessage: { perSecond: 25, burstCount: 150 },
      federationMaxConcurrent: 50,
    },
    postgres: {
      instances: 5,
      vcpu: 32,
      memoryGiB: 128,
      storageGB: 4000,
      parameters: {
        max_connections: "600",
        shared_buffers: "32GB",
        effective_cache_size: "96GB",
        maintenance_work_mem: "8GB",
        work_mem: "64MB",
        max_wal_size: "64GB",
        checkpoint_completion_target: "0.9",
        autovacuum_max_workers: "10",
        autovacuum_naptime: "15s",
        autovacuum_vacuum_scale_factor: "0.05",
        autovacuum_analyze_scale_factor: "0.025",
      },
    },
    redis: { synapse: proc(8, 24), livekit: proc(4, 12) },
    minio: { pools: 3, serversPerPool: 4, vcpu: 16, memoryGiB: 32, driveGB: 4000 },
    livekit: { instances: 5, vcpu: 16, memoryGiB: 32 },
    coturn: { instances: 5, vcpu: 16, memoryGiB: 16 },
  },
};

/** The seed's rate limit for registrations; it gives one value (section 3.3) and no per-tier change. */
export const SEED_RC_REGISTRATION = { perSecond: 0.1, burstCount: 3 } as const;

/** The seed's `media_retention.remote_media_lifetime` (section 10.4), one value for every tier. */
export const SEED_REMOTE_MEDIA_LIFETIME_DAYS = 14;
