/**
 * The restore drill: a real PostgreSQL with the tier's parameters archives its WAL and takes a base
 * backup with barman-cloud (what CloudNativePG's Barman Cloud plugin runs in its sidecar, from PyPI)
 * into a real MinIO, exactly as the rendered ObjectStore configures it, under the server name the
 * plugin uses (the Cluster's name); rows are written after the base backup; the
 * primary is stopped; a fresh PostgreSQL is restored from the object store to a point in time, and
 * every row is checked. docs/data-tier.md's restore runbook follows the same steps.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterSpec, CLUSTER_NAME, objectStoreSpec } from "../../components/postgres/cluster";
import { BACKUP_BUCKET } from "../../components/naming";
import type { Plan } from "../../sizing/types";
import { TIER_USERS } from "../fixtures/seed";
import { planFor } from "../helpers";
import { asPostgres, ownedByPostgres, ROOT, runPostgres, scaledForThisMachine, Services, startMinio, startPostgres, waitFor, type Minio, type Postgres } from "./harness";

// The venv's own path: PostgreSQL runs these tools as the postgres user, which may not enter the checkout.
const BARMAN = join(realpathSync(join(ROOT, ".cache", "venv-barman")), "bin");
const KEY = "drill-access-key";
const SECRET = "drill-secret-key-0123456789";
const ROWS_PER_PHASE = 500;

interface ObjectStore {
  destinationPath: string;
  endpointURL: string;
  data: { compression: string };
  wal: { compression: string };
}

describe("restore drill (5k tier's parameters): base backup and WAL in the object store, point-in-time restore into a fresh PostgreSQL", () => {
  const primaryHost = new Services("drill-primary");
  const targetHost = new Services("drill-restored");
  const storeHost = new Services("drill-store");
  let plan: Plan;
  let store: ObjectStore;
  let minio: Minio;
  let primary: Postgres;
  let parameters: Record<string, string>;
  const measured = { rpoSeconds: 0, restoreSeconds: 0, baseBackupSeconds: 0 };

  /** A barman-cloud tool with the Cluster's object store settings, as the instance manager calls it. */
  const cloud = (tool: string, compression?: string) =>
    [`${BARMAN}/${tool}`, "--cloud-provider", "aws-s3", "--endpoint-url", store.endpointURL, ...(compression ? [`--${compression}`] : [])].join(" ");
  const credentials = `env AWS_ACCESS_KEY_ID=${KEY} AWS_SECRET_ACCESS_KEY=${SECRET}`;
  const run = (command: string) => {
    const r = spawnSync("sh", ["-c", `${credentials} ${command}`], { encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) throw new Error(`${command.split(" ")[0]} failed: ${r.stdout}${r.stderr}`);
    return r.stdout.trim();
  };
  const archived = (pg: Postgres, lsn: string) => pg.psql(`SELECT coalesce(last_archived_wal >= pg_walfile_name('${lsn}'), false) FROM pg_stat_archiver`) === "t";
  /** Writes a phase's rows; returns the WAL position after their commit. */
  /** Inserts a phase's rows; the WAL position after them, and when they committed on PostgreSQL's clock (epoch seconds). */
  const insertPhase = (phase: string, from: number) => {
    // psql prints the INSERT's tag, then the SELECT's row.
    const [lsn, committedAt] = primary
      .psql(`INSERT INTO drill SELECT i, '${phase}', md5(i::text) FROM generate_series(${from}, ${from + ROWS_PER_PHASE - 1}) i; SELECT pg_current_wal_lsn(), extract(epoch from clock_timestamp())`)
      .trim()
      .split("\n")
      .at(-1)!
      .split("|");
    return { lsn: lsn!, committedAt: Number(committedAt) };
  };

  beforeAll(async () => {
    // PostgreSQL runs the archive and restore commands as itself: they must be within its reach.
    const [cmd, ...args] = asPostgres(`${BARMAN}/barman-cloud-wal-archive`, ["--version"]);
    const reach = spawnSync(cmd!, args, { encoding: "utf8" });
    if (reach.status !== 0) throw new Error(`PostgreSQL's user cannot run ${BARMAN}/barman-cloud-wal-archive: ${reach.stderr}${reach.error ?? ""}`);
    plan = planFor(TIER_USERS["5k"]!);
    minio = await startMinio(storeHost, "minio", KEY, SECRET, [join(storeHost.dir, "drive")]);
    const backup = { kind: "minio", endpoint: minio.endpoint, bucket: BACKUP_BUCKET, credentialsSecret: "x" } as const;
    const spec = clusterSpec(plan.postgres, { image: "x", storageClass: "x", ownerSecret: "x", backup }) as { postgresql: { parameters: Record<string, string> } };
    store = (objectStoreSpec(plan.postgres, backup) as { configuration: ObjectStore }).configuration;
    minio.s3("mkbucket", BACKUP_BUCKET);
    parameters = scaledForThisMachine(spec.postgresql.parameters);
    primary = await startPostgres(primaryHost, {
      ...parameters,
      archive_mode: "on",
      archive_command: `${credentials} ${cloud("barman-cloud-wal-archive", store.wal.compression)} ${store.destinationPath} ${CLUSTER_NAME} %p`,
    });
    primary.psql("CREATE TABLE drill (id int PRIMARY KEY, phase text NOT NULL, payload text NOT NULL)");
  }, 120_000);
  afterAll(async () => {
    await Promise.all([primaryHost.stopAll(), targetHost.stopAll(), storeHost.stopAll()]);
    console.log(`| base backup | recovery point (commit to archived, quiet database) | restore to a point in time |\n|---:|---:|---:|\n| ${measured.baseBackupSeconds} s | ${measured.rpoSeconds} s (archive_timeout ${parameters?.archive_timeout}) | ${measured.restoreSeconds} s |`);
  }, 60_000);

  it("archives WAL and takes a base backup into the object store", async () => {
    insertPhase("before-backup", 1);
    const started = Date.now();
    run(`${cloud("barman-cloud-backup", store.data.compression)} -h ${primary.socketDir} -p ${primary.port} -U postgres --name drill ${store.destinationPath} ${CLUSTER_NAME}`);
    measured.baseBackupSeconds = Math.round((Date.now() - started) / 100) / 10;
    const backups = run(`${cloud("barman-cloud-backup-list")} --format json ${store.destinationPath} ${CLUSTER_NAME}`);
    expect((JSON.parse(backups) as { backups_list: { status: string }[] }).backups_list.map((b) => b.status)).toEqual(["DONE"]);
  }, 300_000);

  it("a commit on a quiet database reaches the object store within the plan's archive_timeout", async () => {
    // Measured on PostgreSQL's own clock (the commit, and pg_stat_archiver's time for the segment), so
    // neither this test's polling nor a slow psql start on a loaded machine counts.
    const { lsn, committedAt } = insertPhase("after-backup", ROWS_PER_PHASE + 1);
    await waitFor("the commit's WAL segment archived", async () => (archived(primary, lsn) ? true : undefined), (plan.postgres.backup.archiveTimeoutS + 60) * 1000, 500);
    const archivedAt = Number(primary.psql("SELECT extract(epoch from last_archived_time) FROM pg_stat_archiver"));
    measured.rpoSeconds = Math.round((archivedAt - committedAt) * 10) / 10;
    expect(measured.rpoSeconds).toBeLessThanOrEqual(plan.postgres.backup.archiveTimeoutS + 15);
  }, 180_000);

  it("restores into a fresh PostgreSQL to a point in time: every row before it, none after", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const target = primary.psql("SELECT clock_timestamp()");
    await new Promise((r) => setTimeout(r, 1100));
    const { lsn: after } = insertPhase("after-target", 2 * ROWS_PER_PHASE + 1);
    primary.psql("SELECT pg_switch_wal()");
    await waitFor("the last segment archived", async () => (archived(primary, after) ? true : undefined), 60_000, 500);
    // The primary is gone: the restore reads only the object store.
    await primaryHost.stop("postgres");

    const started = Date.now();
    const data = join(targetHost.dir, "pgdata");
    mkdirSync(data, { recursive: true });
    run(`${cloud("barman-cloud-restore")} ${store.destinationPath} ${CLUSTER_NAME} latest ${data}`);
    writeFileSync(join(data, "recovery.signal"), "");
    ownedByPostgres(targetHost.dir, data);
    const restored = await runPostgres(
      targetHost,
      data,
      {
        ...parameters,
        restore_command: `${credentials} ${cloud("barman-cloud-wal-restore")} ${store.destinationPath} ${CLUSTER_NAME} %f %p`,
        recovery_target_time: target,
        recovery_target_action: "promote",
      },
      "SELECT NOT pg_is_in_recovery()",
      240_000,
    );
    measured.restoreSeconds = Math.round((Date.now() - started) / 100) / 10;

    const counts = restored.psql("SELECT phase || '=' || count(*) FROM drill GROUP BY phase ORDER BY phase").split("\n");
    expect(counts).toEqual([`after-backup=${ROWS_PER_PHASE}`, `before-backup=${ROWS_PER_PHASE}`]);
    // Every row as it was written: its id, its phase, its payload.
    expect(restored.psql(`SELECT count(*) FROM drill WHERE payload <> md5(id::text) OR (phase = 'before-backup') <> (id <= ${ROWS_PER_PHASE})`)).toBe("0");
    expect(restored.psql(`SELECT min(id) || '-' || max(id) FROM drill`)).toBe(`1-${2 * ROWS_PER_PHASE}`);
  }, 420_000);
});
