/** MinIO server arguments and the bucket/user setup script (pure). */
import type { MinioPlan } from "../../sizing/types";
import { BACKUP_BUCKET, MEDIA_BUCKET } from "../naming";
import { SECRET_NAMES } from "../secrets";

export const MINIO_PORTS = { api: 9000, console: 9001 } as const;
export const MINIO_SELECTOR = { "app.kubernetes.io/name": "minio" } as const;
export const MINIO_SETUP_SELECTOR = { "app.kubernetes.io/component": "minio-setup" } as const;
/** The Job that restarts every server together, and its ServiceAccount and Role (components/coordinated-restart.ts). */
export const MINIO_RESTART_NAME = "minio-restart";
export const MINIO_RESTART_SELECTOR = { "app.kubernetes.io/component": MINIO_RESTART_NAME } as const;

/** How a pool's servers and drives are addressed: one MinIO ellipsis argument per pool. */
export type PoolEndpoint = (poolIndex: number, servers: number, drivesPerServer: number) => string;

/** Kubernetes: pods minio-pool-<i>-{0...n-1} behind the headless Service, drives /data{0...d-1}. */
export function kubernetesPoolEndpoint(namespace: string, headlessService: string): PoolEndpoint {
  return (pool, servers, drives) =>
    `http://minio-pool-${pool}-{0...${servers - 1}}.${headlessService}.${namespace}.svc.cluster.local:${MINIO_PORTS.api}/data{0...${drives - 1}}`;
}

/** Every pool, in order: pools are only ever appended, so existing arguments never change. */
export function minioServerArgs(minio: MinioPlan, endpoint: PoolEndpoint, listen: { address: string; console: string }): string[] {
  return ["server", "--address", listen.address, "--console-address", listen.console, ...minio.pools.map((p, i) => endpoint(i, p.servers, p.drivesPerServer))];
}

/** The STANDARD storage class parity, fixed by the first pool. */
export function storageClassEnv(minio: MinioPlan): Record<string, string> {
  return { MINIO_STORAGE_CLASS_STANDARD: `EC:${minio.parity}` };
}

/** A least-privilege policy: read and write one bucket, nothing else. */
export function bucketPolicy(bucket: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: [`arn:aws:s3:::${bucket}`] },
      { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  });
}

export interface BucketUser {
  bucket: string;
  /** Environment variable names holding the user's access and secret keys. */
  accessKeyEnv: string;
  secretKeyEnv: string;
  /** The Kubernetes Secret holding the user's keys (`accessKey`, `secretKey`). */
  secret: string;
}

/** The deployment's buckets, each with its own user: the setup Job reads the keys from the Secret into the named variables. */
export const DEPLOYMENT_BUCKETS: readonly BucketUser[] = [
  { bucket: MEDIA_BUCKET, accessKeyEnv: "MEDIA_ACCESS_KEY", secretKeyEnv: "MEDIA_SECRET_KEY", secret: SECRET_NAMES.minioSynapse },
  { bucket: BACKUP_BUCKET, accessKeyEnv: "BACKUP_ACCESS_KEY", secretKeyEnv: "BACKUP_SECRET_KEY", secret: SECRET_NAMES.minioBackup },
];

/** Where the script writes its files: the Job's /tmp (an emptyDir), or TMPDIR where one is set. */
const TMP = "${TMPDIR:-/tmp}";

/** mc script: buckets, one user per bucket with its own policy. Idempotent; keys come from the environment. */
export function setupScript(endpoint: string, users: readonly BucketUser[]): string {
  const lines = ["set -e", `mc alias set store ${endpoint} "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"`];
  for (const u of users) {
    lines.push(
      `mc mb --ignore-existing store/${u.bucket}`,
      `cat > "${TMP}/${u.bucket}.json" <<'POLICY'\n${bucketPolicy(u.bucket)}\nPOLICY`,
      `mc admin policy create store ${u.bucket}-rw "${TMP}/${u.bucket}.json"`,
      `mc admin user add store "$${u.accessKeyEnv}" "$${u.secretKeyEnv}"`,
      // Attaching a policy already attached succeeds (the integration test runs the script twice).
      `mc admin policy attach store ${u.bucket}-rw --user "$${u.accessKeyEnv}"`,
    );
  }
  return lines.join("\n") + "\n";
}
