/**
 * How PostgreSQL applies a change to each parameter the plan sets: `pg_settings.context` as
 * PostgreSQL 17 documents it (chapter 19, "Server Configuration"; view pg_settings, chapter 53):
 * `postmaster` needs a server restart, `sighup` a reload, `user` applies to new sessions.
 * test/integration/postgres.test.ts reads the same column from a real server for every parameter
 * any tier sets, so a parameter added to the plan without an entry here, or one whose context
 * differs, fails there.
 */
export type ParameterContext = "postmaster" | "sighup" | "user" | "superuser";

export const PARAMETER_CONTEXT: Readonly<Record<string, ParameterContext>> = {
  max_connections: "postmaster",
  shared_buffers: "postmaster",
  wal_buffers: "postmaster",
  autovacuum_max_workers: "postmaster",
  effective_cache_size: "user",
  maintenance_work_mem: "user",
  work_mem: "user",
  random_page_cost: "user",
  effective_io_concurrency: "user",
  max_wal_size: "sighup",
  checkpoint_completion_target: "sighup",
  autovacuum_naptime: "sighup",
  autovacuum_vacuum_scale_factor: "sighup",
  autovacuum_analyze_scale_factor: "sighup",
  archive_timeout: "sighup",
};

/**
 * A hot standby refuses to run with a lower value than its primary for these (PostgreSQL 17,
 * section 26.4.5 "Administrator's Overview"). Raising one restarts the standbys first; lowering
 * one must reach the primary first, so CloudNativePG restarts the primary in place, without a
 * switchover, before the standbys (its rolling-update code: "PendingRestartForDecrease").
 */
export const HOT_STANDBY_SENSITIVE = ["max_connections", "max_prepared_transactions", "max_locks_per_transaction", "max_wal_senders", "max_worker_processes"] as const;
