/**
 * The media workers' scratch cleaner (pure renderer). The S3 storage provider uploads each medium
 * from its local copy (media_store_path/<path>) and never removes it, and only one media worker runs
 * Synapse's media retention: without a cleaner each worker's store fills at the rate media arrive.
 * A copy goes once the object store holds it whole (a HEAD with the same size: never one whose
 * upload is still running, multipart or queued), when it is older than the plan's window, or, above
 * the plan's threshold, oldest first down to the window's size; a round starts every period of the
 * plan's. Synapse fetches a removed copy from the object store when it needs one (downloads stream
 * from there, thumbnailing re-fetches it). Empty directories go after an hour, so a store does not
 * fill with them.
 */
import type { SynapsePlan } from "../../sizing/types";

export type ScratchCleanup = SynapsePlan["scratch"]["cleanup"];

/**
 * What the media programs share: their first argument (`first`) and the media bucket's (bucket,
 * endpoint, region), a boto3 client on it, and `log`, which writes JSON lines like Synapse's.
 */
export function pythonPrelude(namespace: string, first: string): string {
  return `import json, sys, time
import boto3
${first}, bucket, endpoint, region = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)

def log(message, level="INFO"):
    print(json.dumps({"log": message, "namespace": "${namespace}", "level": level, "time": round(time.time(), 2)}), flush=True)

`;
}

/** A Python program for the Synapse image (boto3 comes with the provider); its arguments: store, bucket, endpoint, region. */
export function renderScratchCleaner(cleanup: ScratchCleanup): string {
  return `${pythonPrelude("scratch-cleaner", "store")}import os, signal
import botocore.exceptions
MIB = 1 << 20
KEEP_S, EVERY_S, ABOVE, TO, EMPTY_DIR_S = ${cleanup.keepMinutes * 60}, ${cleanup.everySeconds}, ${cleanup.trimAboveMiB} * MIB, ${cleanup.trimToMiB} * MIB, 3600
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

def stored(key, size):
    try:
        return s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == size
    except botocore.exceptions.ClientError as e:
        # Not there (yet). Anything else (keys refused, a wrong region) is an error to see, not a copy to keep.
        if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise

def copies():
    found = []
    for root, _, names in os.walk(store):
        for name in names:
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            found.append((st.st_mtime, st.st_size, path))
    return sorted(found)

while True:
    started = time.monotonic()
    try:
        now, listed = time.time(), copies()
        used = sum(size for _, size, _ in listed)
        trimming, removed, unstored = used > ABOVE, 0, 0
        for mtime, size, path in listed:
            if now - mtime <= KEEP_S and not (trimming and used > TO):
                break
            if not stored(os.path.relpath(path, store), size):
                unstored += 1
                continue
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            used -= size
            removed += size
        for root, dirs, names in os.walk(store, topdown=False):
            if root == store or dirs or names:
                continue
            try:
                if now - os.stat(root).st_mtime > EMPTY_DIR_S:
                    os.rmdir(root)
            except OSError:
                pass
        if removed or unstored:
            log(f"{removed // MIB} MiB of copies removed, {used // MIB} MiB left (trim above {ABOVE // MIB} MiB to {TO // MIB} MiB); {unstored} not yet in the object store kept")
    except Exception as e:
        log(f"{type(e).__name__}: {e}", "ERROR")
    # Rounds start every EVERY_S (the plan's bound on what arrives between two), however long one took.
    time.sleep(max(0.0, EVERY_S - (time.monotonic() - started)))
`;
}
