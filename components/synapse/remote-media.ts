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
import { containerResources, poolPlacement, RESTRICTED_CONTAINER, restrictedPod } from "../workload";
import { mediaStoreEnv, PYTHON_ENV } from "./manifests";
import { pythonPrelude } from "./scratch";
import { DATABASE_KEEPALIVES, type SynapseEndpoints } from "./config";

export type RemoteMediaSweep = SynapsePlan["remoteMediaSweep"];

/** Keys per listing page and per DeleteObjects request: S3's most for both. */
export const SWEEP_BATCH = 1000;
/** Exit status of a refusal that a retry cannot change (the Job fails at once, no retry). */
export const SWEEP_REFUSED = 2;

/**
 * A Python program for the Synapse image (boto3 and psycopg2 come with it); its arguments: the
 * database URI (the password in PGPASSWORD), bucket, endpoint, region, and the server name. Before
 * deleting anything it checks that the database is this server's Synapse (a local user) and that it
 * records remote media at all when the bucket holds some: an empty or foreign database would
 * otherwise doom every object. Exits ${SWEEP_REFUSED} on a refusal or when the listing and the database
 * disagree on order (deterministic: the Job fails without retrying), 1 when a deletion or anything
 * else failed (the Job retries).
 */
export function renderRemoteMediaSweep(sweep: Pick<RemoteMediaSweep, "graceMinutes">): string {
  return `${pythonPrelude("remote-media-sweep", "dsn")}import psycopg2
server_name = sys.argv[5]
GRACE_S, PREFIXES, BATCH, REFUSED = ${sweep.graceMinutes * 60}, ("remote_content/", "remote_thumbnail/"), ${SWEEP_BATCH}, ${SWEEP_REFUSED}
db = psycopg2.connect(dsn)
db.set_session(readonly=True, autocommit=True)

class Refused(Exception):
    pass

def listing(prefix, delimiter=None):
    extra = {"Delimiter": delimiter} if delimiter else {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": BATCH}, **extra):
        yield page

def origins(prefix):
    for page in listing(prefix, "/"):
        for common in page.get("CommonPrefixes", []):
            yield common["Prefix"][len(prefix):-1]

def scalar(query, *args):
    with db.cursor() as cursor:
        cursor.execute(query, args)
        return cursor.fetchone()[0]

def recorded(origin):
    """The file ids the database holds for one origin, in byte order. WITH HOLD in autocommit: the
    result is kept apart once read, so no snapshot stays open on the primary while the walk runs."""
    with db.cursor(name="file_ids", withhold=True) as cursor:
        cursor.itersize = BATCH
        cursor.execute('SELECT filesystem_id FROM remote_media_cache WHERE media_origin = %s ORDER BY filesystem_id COLLATE "C"', (origin,))
        previous = ""
        for (file_id,) in cursor:
            if file_id < previous:
                raise Refused(f"the database's file ids of {origin} are not in byte order ({file_id} after {previous})")
            previous = file_id
            yield file_id

def file_id(key, base):
    parts = key[len(base):].split("/")
    return "".join(parts[:3]) if len(parts) >= 3 and len(parts[0]) == 2 and len(parts[1]) == 2 else None

def walk(base, origin, doomed, counts, now):
    """Every object under base against the origin's recorded file ids; \`now\` is taken before the ids are read."""
    ids = recorded(origin)
    try:
        current, previous = next(ids, None), ""
        for page in listing(base):
            for item in page.get("Contents", []):
                key, fid = item["Key"], file_id(item["Key"], base)
                if fid is None:
                    counts["foreign"] += 1
                    continue
                if fid < previous:
                    raise Refused(f"{key} listed after a key of file id {previous}")
                previous = fid
                while current is not None and current < fid:
                    current = next(ids, None)
                if current == fid:
                    counts["recorded"] += 1
                elif now - item["LastModified"].timestamp() < GRACE_S:
                    counts["young"] += 1
                else:
                    doomed.append((key, item["Size"]))
                    if len(doomed) >= BATCH:
                        delete(doomed, counts)
    finally:
        ids.close()

def delete(doomed, counts):
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k, _ in doomed], "Quiet": True})
    failed = {e.get("Key") for e in answer.get("Errors", [])}
    for e in answer.get("Errors", [])[:5]:
        log(f"not deleted: {e.get('Key')}: {e.get('Code')} {e.get('Message')}", "ERROR")
    counts["requests"] += 1
    counts["failed"] += len(failed)
    counts["deleted"] += len(doomed) - len(failed)
    counts["bytes"] += sum(size for key, size in doomed if key not in failed)
    doomed.clear()

def check_database(listed):
    """With remote objects to judge: this server's Synapse, recording remote media. (Nothing to judge, nothing to check: a new deployment has no user yet.)"""
    if not listed:
        return
    if not scalar("SELECT EXISTS (SELECT 1 FROM users WHERE right(name, %s) = %s)", len(server_name) + 1, f":{server_name}"):
        raise Refused(f"the database has no user of {server_name}: not this server's Synapse database")
    if not scalar("SELECT EXISTS (SELECT 1 FROM remote_media_cache)"):
        raise Refused("the database records no remote media while the bucket holds some: nothing is deleted against an empty table")

counts = {"recorded": 0, "young": 0, "foreign": 0, "deleted": 0, "failed": 0, "bytes": 0, "requests": 0}
status = 0
try:
    # Origin by origin, content then thumbnails: a run cut short has made progress on both.
    every = sorted({origin for prefix in PREFIXES for origin in origins(prefix)})
    check_database(every)
    for origin in every:
        for prefix in PREFIXES:
            doomed = []
            try:
                walk(f"{prefix}{origin}/", origin, doomed, counts, time.time())
            except Refused as e:
                log(f"{prefix}{origin}: {e}; nothing more deleted there", "ERROR")
                doomed.clear()
                status = REFUSED
            if doomed:
                delete(doomed, counts)
except Refused as e:
    log(f"refused: {e}", "ERROR")
    sys.exit(REFUSED)
except Exception as e:
    log(f"{type(e).__name__}: {e}", "ERROR")
    sys.exit(1)
log(
    f"{counts['deleted']} objects of media no longer recorded deleted in {counts['requests']} requests ({counts['bytes'] >> 20} MiB), {counts['failed']} failed; "
    f"kept {counts['recorded']} recorded, {counts['young']} younger than {GRACE_S // 60} min, {counts['foreign']} not in Synapse's layout"
)
sys.exit(status or (1 if counts["failed"] else 0))
`;
}

/** A libpq URI for Synapse's role (the password comes from PGPASSWORD), with Synapse's keepalives and the client's name. */
export function databaseUri(db: SynapseEndpoints["database"], applicationName: string): string {
  const options = new URLSearchParams({ application_name: applicationName, ...Object.fromEntries(Object.entries(DATABASE_KEEPALIVES).map(([k, v]) => [k, String(v)])) });
  return `postgresql://${db.user}@${db.host}:${db.port}/${db.name}?${options}`;
}

export const REMOTE_MEDIA_SWEEP_NAME = "synapse-remote-media-sweep";
export const REMOTE_MEDIA_SWEEP_SELECTOR = { "app.kubernetes.io/component": REMOTE_MEDIA_SWEEP_NAME } as const;

export interface RemoteMediaSweepInputs {
  sweep: RemoteMediaSweep;
  namespace: string;
  image: string;
  /** The database as a libpq URI without its password (the owner Secret's `password` key supplies it). */
  databaseUri: string;
  /** The server's name: the database must hold a user of it. */
  serverName: string;
  databaseSecret: string;
  objectStore: { endpoint: string; bucket: string; region: string };
  mediaSecret: string;
  uid: number;
}

/** The daily Job, in the Synapse image, as the media workers' user on the bucket and Synapse's role on the database. */
export function remoteMediaSweepCronJob(inputs: RemoteMediaSweepInputs): k8s.types.input.batch.v1.CronJob {
  const { sweep, objectStore } = inputs;
  const labels = componentLabels(REMOTE_MEDIA_SWEEP_NAME);
  return {
    metadata: { name: REMOTE_MEDIA_SWEEP_NAME, namespace: inputs.namespace, labels },
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
          // A refusal would refuse again: the Job fails at once (the alert on the last success tells).
          podFailurePolicy: { rules: [{ action: "FailJob", onExitCodes: { containerName: "sweep", operator: "In", values: [SWEEP_REFUSED] } }] },
          template: {
            metadata: { labels },
            spec: {
              ...poolPlacement("application", REMOTE_MEDIA_SWEEP_SELECTOR, false),
              restartPolicy: "Never",
              securityContext: restrictedPod(inputs.uid),
              automountServiceAccountToken: false,
              containers: [
                {
                  name: "sweep",
                  image: inputs.image,
                  command: ["python", "-c", renderRemoteMediaSweep(sweep), inputs.databaseUri, objectStore.bucket, objectStore.endpoint, objectStore.region, inputs.serverName],
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
