/**
 * The MinIO setup Job's rendered script (`setupScript` over `DEPLOYMENT_BUCKETS`), run by real mc
 * (built from the Go module proxy) against a real MinIO, twice, as the Job runs whenever it is
 * replaced (`set -e`: any failing command fails the run). Least privilege: each bucket's user
 * reads, writes, lists and deletes in its own bucket and is refused in every other one and when
 * creating a bucket. Every Synapse fleet of the tests makes its bucket with the same script and
 * runs its media workers as the media user (synapse-fleet.ts).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEPLOYMENT_BUCKETS } from "../../components/objectstore/server";
import { Services, setupBuckets, startMinio, type Minio } from "./harness";
import { randomBytes } from "node:crypto";

describe("MinIO setup: the rendered mc script against a real MinIO", () => {
  const services = new Services("minio-setup");
  let minio: Minio;
  let keys: Record<string, string>;

  beforeAll(async () => {
    minio = await startMinio(services, "minio", "setup-test-root", randomBytes(20).toString("hex"), [join(services.dir, "drive")]);
    keys = setupBuckets(minio, 2);
  }, 180_000);
  afterAll(() => services.stopAll());

  it("each bucket's user reads, writes, lists and deletes in its own bucket only, and creates no bucket", () => {
    for (const own of DEPLOYMENT_BUCKETS) {
      const [key, secret] = [keys[own.accessKeyEnv]!, keys[own.secretKeyEnv]!];
      const [written] = minio.s3As(key, secret, "fill", own.bucket, "probe/", "1", "1024").split("\n");
      const [name, sha] = written!.split(" ");
      expect(minio.s3As(key, secret, "check", own.bucket)).toContain(`${name} ${sha}`);
      minio.s3As(key, secret, "delete", own.bucket, name!);
      expect(minio.s3As(key, secret, "list", own.bucket)).not.toContain(name);
      for (const other of DEPLOYMENT_BUCKETS.filter((b) => b !== own)) {
        expect(() => minio.s3As(key, secret, "list", other.bucket)).toThrow(/AccessDenied/);
        expect(() => minio.s3As(key, secret, "fill", other.bucket, "probe/", "1", "16")).toThrow(/AccessDenied/);
      }
      expect(() => minio.s3As(key, secret, "mkbucket", `${own.bucket}-extra`)).toThrow(/AccessDenied/);
    }
  });

  it("the root user sees exactly the deployment's buckets", () => {
    expect(minio.s3("buckets").split("\n").sort()).toEqual(DEPLOYMENT_BUCKETS.map((b) => b.bucket).sort());
  });
});
