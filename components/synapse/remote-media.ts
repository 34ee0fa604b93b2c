/**
 * The sweep of other servers' media from the object store (pure renderer). Synapse's remote-media
 * retention deletes a medium's rows (`remote_media_cache` and its thumbnails) and its local copies,
 * but the S3 storage provider never deletes an object: without the sweep the bucket keeps every
 * medium ever fetched from another server. The sweep deletes the `remote_content/` and
 * `remote_thumbnail/` objects whose medium has no row any more and which are older than the grace
 * (Synapse stores a fetched file before it records its row). A medium still in use keeps its row, so
 * its objects stay; one fetched again gets a new file id, so a new key.
 *
 * Keys are Synapse's layout (MediaFilePaths): `remote_content/<origin>/<id[0:2]>/<id[2:4]>/<id[4:]>`
 * and `remote_thumbnail/<origin>/<id[0:2]>/<id[2:4]>/<id[4:]>/<thumbnail>`. The object store lists
 * keys in byte order, and for one origin that is the order of the file ids (the separators sit at
 * fixed places): the sweep walks each origin's listing beside the database's file ids of that origin
 * in the same order, a page and a batch at a time, whatever the bucket's size.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { SynapsePlan } from "../../sizing/types";
import { componentLabels } from "../naming";
import { containerResources, poolPlacement, RESTRICTED_CONTAINER } from "../workload";
import { mediaStoreEnv, PYTHON_ENV } from "./manifests";

export type RemoteMediaSweep = SynapsePlan["remoteMediaSweep"];

/**
 * A Python program for the Synapse image (boto3 and psycopg2 come with it); its arguments: the
 * database URI (the password in PGPASSWORD), bucket, endpoint, region. Exits non-zero when a
 * deletion failed or the listing and the database disagree on order (nothing more is deleted then).
 */
export function renderRemoteMediaSweep(sweep: Pick<RemoteMediaSweep, "graceMinutes">): string {
  return `import json, sys, time
import boto3, psycopg2
dsn, bucket, endpoint, region = sys.argv[1:5]
GRACE_S, PREFIXES, BATCH = ${sweep.graceMinutes * 60}, ("remote_content/", "remote_thumbnail/"), 1000
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
db = psycopg2.connect(dsn)
db.set_session(readonly=True)

def log(message, level="INFO"):
    print(json.dumps({"log": message, "namespace": "remote-media-sweep", "level": level, "time": round(time.time(), 2)}), flush=True)

def listing(prefix, delimiter=None):
    extra = {"Delimiter": delimiter} if delimiter else {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": BATCH}, **extra):
        yield page

def origins(prefix):
    for page in listing(prefix, "/"):
        for common in page.get("CommonPrefixes", []):
            yield common["Prefix"][len(prefix):-1]

def recorded(origin):
    """The file ids the database holds for one origin, in byte order."""
    try:
        with db.cursor(name="file_ids") as cursor:
            cursor.itersize = BATCH * 10
            cursor.execute('SELECT filesystem_id FROM remote_media_cache WHERE media_origin = %s ORDER BY filesystem_id COLLATE "C"', (origin,))
            for (file_id,) in cursor:
                yield file_id
    finally:
        # Ends the read-only transaction: no snapshot held while other origins are listed.
        db.rollback()

class OutOfOrder(Exception):
    pass

def file_id(key, base):
    parts = key[len(base):].split("/")
    return "".join(parts[:3]) if len(parts) >= 3 and len(parts[0]) == 2 and len(parts[1]) == 2 else None

def sweep(prefix, origin, doomed, counts):
    base = f"{prefix}{origin}/"
    ids, now = recorded(origin), time.time()
    try:
        walk(base, ids, doomed, counts, now)
    finally:
        ids.close()

def walk(base, ids, doomed, counts, now):
    current, previous = next(ids, None), ""
    for page in listing(base):
        for item in page.get("Contents", []):
            key, fid = item["Key"], file_id(item["Key"], base)
            if fid is None:
                counts["foreign"] += 1
                continue
            if fid < previous:
                raise OutOfOrder(f"{key} listed after a key of file id {previous}")
            previous = fid
            while current is not None and current < fid:
                current = next(ids, None)
            if current == fid:
                counts["recorded"] += 1
            elif now - item["LastModified"].timestamp() < GRACE_S:
                counts["young"] += 1
            else:
                doomed.append(key)
                counts["bytes"] += item["Size"]
                if len(doomed) >= BATCH:
                    delete(doomed, counts)

def delete(doomed, counts):
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in doomed], "Quiet": True})
    errors = answer.get("Errors", [])
    for e in errors[:5]:
        log(f"not deleted: {e.get('Key')}: {e.get('Code')} {e.get('Message')}", "ERROR")
    counts["failed"] += len(errors)
    counts["deleted"] += len(doomed) - len(errors)
    doomed.clear()

counts = {"recorded": 0, "young": 0, "foreign": 0, "deleted": 0, "failed": 0, "bytes": 0}
failed = False
for prefix in PREFIXES:
    for origin in origins(prefix):
        doomed = []
        try:
            sweep(prefix, origin, doomed, counts)
        except OutOfOrder as e:
            log(f"{prefix}{origin}: the listing is not in file-id order, nothing more deleted there: {e}", "ERROR")
            doomed.clear()
            failed = True
        if doomed:
            delete(doomed, counts)
log(
    f"{counts['deleted']} objects of media no longer recorded deleted ({counts['bytes'] >> 20} MiB), {counts['failed']} failed; "
    f"kept {counts['recorded']} recorded, {counts['young']} younger than {GRACE_S // 60} min, {counts['foreign']} not in Synapse's layout"
)
sys.exit(1 if failed or counts["failed"] else 0)
`;
}

export const REMOTE_MEDIA_SWEEP_SELECTOR = { "app.kubernetes.io/component": "synapse-remote-media-sweep" } as const;

export interface RemoteMediaSweepInputs {
  sweep: RemoteMediaSweep;
  namespace: string;
  image: string;
  /** The database as a libpq URI without its password (the owner Secret's `password` key supplies it). */
  databaseUri: string;
  databaseSecret: string;
  objectStore: { endpoint: string; bucket: string; region: string };
  mediaSecret: string;
  uid: number;
}

/** The daily Job, in the Synapse image, as the media workers' user on the bucket and Synapse's role on the database. */
export function remoteMediaSweepCronJob(inputs: RemoteMediaSweepInputs): k8s.types.input.batch.v1.CronJob {
  const { sweep, objectStore } = inputs;
  const labels = componentLabels(REMOTE_MEDIA_SWEEP_SELECTOR["app.kubernetes.io/component"]);
  return {
    metadata: { name: REMOTE_MEDIA_SWEEP_SELECTOR["app.kubernetes.io/component"], namespace: inputs.namespace, labels },
    spec: {
      schedule: sweep.schedule,
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      // A run missed by more than its own deadline waits for the next day.
      startingDeadlineSeconds: sweep.deadlineSeconds,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: sweep.retries,
          activeDeadlineSeconds: sweep.deadlineSeconds,
          template: {
            metadata: { labels },
            spec: {
              ...poolPlacement("application", REMOTE_MEDIA_SWEEP_SELECTOR, false),
              restartPolicy: "Never",
              securityContext: { runAsUser: inputs.uid, runAsGroup: inputs.uid, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
              automountServiceAccountToken: false,
              containers: [
                {
                  name: "sweep",
                  image: inputs.image,
                  command: ["python", "-c", renderRemoteMediaSweep(sweep), inputs.databaseUri, objectStore.bucket, objectStore.endpoint, objectStore.region],
                  env: [...PYTHON_ENV, { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: inputs.databaseSecret, key: "password" } } }, ...mediaStoreEnv(inputs.mediaSecret)],
                  resources: containerResources(sweep.resources),
                  securityContext: RESTRICTED_CONTAINER,
                },
              ],
            },
          },
        },
      },
    },
  };
}
