/**
 * The MinIO setup Job's rendered script (`setupScript` over `deploymentBuckets`), run by real mc
 * (built from the Go module proxy) against a real MinIO, twice, as the Job does whenever it is
 * replaced:
 * - least privilege: each bucket's user reads, writes, lists and deletes in its own bucket and is
 *   refused in the other one and when creating a bucket;
 * - the media bucket's lifecycle as MinIO applies it: objects at the keys Synapse's own path code
 *   gives other servers' media and thumbnails carry MinIO's expiry (the `x-amz-expiration` header),
 *   on the date S3's rule gives for the plan's days; objects at the keys of the server's own media
 *   carry none. Nothing is expired here (the shortest rule is a day).
 */
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentBuckets, setupScript } from "../../components/objectstore/server";
import { planFor } from "../helpers";
import { PYTHON, runMcScript, Services, startMinio, type Minio } from "./harness";

const DAY_MS = 86_400_000;
const OTHER_SERVER = "other.matrix.test";
const MEDIA_ID = "AbCdEfGhIjKlMnOpQrStUvWx";

/** Media-store keys from Synapse's own code (synapse/media/filepath.py), the paths the S3 provider stores under. */
function synapseMediaKeys(): { remote: string[]; local: string[] } {
  const script = [
    "import json",
    "from synapse.media.filepath import MediaFilePaths",
    "p = MediaFilePaths('/store')",
    `s, m = ${JSON.stringify(OTHER_SERVER)}, ${JSON.stringify(MEDIA_ID)}`,
    "print(json.dumps({",
    "  'remote': [p.remote_media_filepath_rel(s, m), p.remote_media_thumbnail_rel(s, m, 32, 32, 'image/png', 'scale')],",
    "  'local': [p.local_media_filepath_rel(m), p.local_media_thumbnail_rel(m, 32, 32, 'image/png', 'scale')],",
    "}))",
  ].join("\n");
  const r = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { remote: string[]; local: string[] };
}

/** S3's published rule: creation time plus the days, rounded up to the next midnight UTC. */
function s3ExpiryDate(lastModified: Date, days: number): Date {
  const t = lastModified.getTime() + days * DAY_MS;
  return new Date(Math.ceil(t / DAY_MS) * DAY_MS);
}

describe("MinIO setup: the rendered mc script against a real MinIO", () => {
  const services = new Services("minio-setup");
  const thePlan = planFor(5000);
  const days = thePlan.synapse.config.remoteMediaLifetimeDays;
  const buckets = deploymentBuckets(days);
  const keys = Object.fromEntries(buckets.flatMap((b) => [[b.accessKeyEnv, `${b.envPrefix.toLowerCase()}-${randomBytes(6).toString("hex")}`], [b.secretKeyEnv, randomBytes(20).toString("hex")]]));
  const userOf = (b: (typeof buckets)[number]) => [keys[b.accessKeyEnv]!, keys[b.secretKeyEnv]!] as const;
  const media = buckets.find((b) => b.lifecycle)!;
  let minio: Minio;

  beforeAll(async () => {
    minio = await startMinio(services, "minio", "setup-test-root", randomBytes(20).toString("hex"), [join(services.dir, "drive")]);
    const script = setupScript(minio.endpoint, buckets);
    for (let run = 0; run < 2; run++) runMcScript(script, { ...minio.rootEnv, ...keys });
  }, 180_000);
  afterAll(() => services.stopAll());

  it("renders two buckets, media with a lifecycle and backups without", () => {
    expect(buckets.map((b) => Boolean(b.lifecycle))).toEqual([true, false]);
  });

  it("each bucket's user reads, writes, lists and deletes in its own bucket only, and creates no bucket", () => {
    for (const own of buckets) {
      const [key, secret] = userOf(own);
      const [written] = minio.s3As(key, secret, "fill", own.bucket, "probe/", "1", "1024").split("\n");
      const [name, sha] = written!.split(" ");
      expect(minio.s3As(key, secret, "check", own.bucket)).toContain(`${name} ${sha}`);
      minio.s3As(key, secret, "delete", own.bucket, name!);
      expect(minio.s3As(key, secret, "list", own.bucket)).not.toContain(name);
      for (const other of buckets.filter((b) => b !== own)) {
        expect(() => minio.s3As(key, secret, "list", other.bucket)).toThrow(/AccessDenied/);
        expect(() => minio.s3As(key, secret, "fill", other.bucket, "probe/", "1", "16")).toThrow(/AccessDenied/);
      }
      expect(() => minio.s3As(key, secret, "mkbucket", `${own.bucket}-extra`)).toThrow(/AccessDenied/);
    }
  });

  it(`other servers' media and thumbnails expire ${days} days after they were stored (S3's date rule); the server's own media never`, () => {
    const [key, secret] = userOf(media);
    const paths = synapseMediaKeys();
    const expiryOf = (path: string) => {
      minio.s3As(key, secret, "write", media.bucket, path, "64");
      return JSON.parse(minio.s3As(key, secret, "expiration", media.bucket, path)) as { expiration: string; lastModified: string };
    };
    for (const path of paths.remote) {
      const { expiration, lastModified } = expiryOf(path);
      const date = /expiry-date="([^"]+)"/.exec(expiration)?.[1];
      expect(date, `${path}: ${expiration}`).toBeDefined();
      expect(new Date(date!).toISOString(), path).toBe(s3ExpiryDate(new Date(lastModified), days).toISOString());
    }
    for (const path of paths.local) expect(expiryOf(path).expiration, path).toBe("");
  });

  it("the backup bucket has no lifecycle (barman-cloud's retention deletes what it no longer needs)", () => {
    const backup = buckets.find((b) => !b.lifecycle)!;
    expect(JSON.parse(minio.s3("lifecycle", backup.bucket))).toEqual([]);
  });
});
