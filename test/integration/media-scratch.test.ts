/**
 * The media worker's scratch does not fill: the Synapse fleet from the rendered files with one media
 * worker whose local store and temporary directory are tmpfs mounts of exactly the plan's sizes
 * (`scratch.mediaGiB`, `scratch.mediaTmpGiB`; in a private mount namespace of that process, so a full
 * one fails uploads at once, as an evicted pod would), and beside it the rendered scratch cleaner, in
 * the same namespace, as the media pod runs it. Two phases through HAProxy:
 * - steady: more media than the store holds, in multipart-sized files (the provider uploads those in
 *   parts, reading the local copy again for each), four at a time: every upload succeeds, the store
 *   stays near the plan's threshold, every medium downloads intact (the trimmed ones from the object
 *   store);
 * - burst: three times the plan's uploads in flight at once, each of the tier's largest size, sent
 *   slowly: HAProxy queues what is over the plan's number, so the temporary directory, sized for
 *   that number, holds them all, and every upload succeeds;
 * - flood: once the cleaner is quiet again, more than the store holds at once, each of the tier's
 *   largest size, sent as fast as loopback carries them: the fastest a media worker stores,
 *   measured, is within the plan's assumption, and the store, which counts above its threshold the
 *   uploads in flight and one set more, holds them.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_BUCKET } from "../../components/naming";
import { renderScratchCleaner } from "../../components/synapse/scratch";
import { parseSettings, plan } from "../../sizing";
import { SYNAPSE_SCRATCH } from "../../sizing/additions";
import { PYTHON, Services, waitFor } from "./harness";
import { bootFleet, parseJsonLog, reducedTier, registerUser, type Fleet } from "./synapse-fleet";

const BOOT_TIMEOUT = 1_200_000;
const ADMIN_FROM = "127.0.0.1";
/** Above boto3's 8 MB multipart threshold. */
const STEADY_FILE_MIB = 12;
const STEADY_AT_ONCE = 4;
/** The steady phase's pace: 20 MiB/s, hundreds of times the plan's peak media rate per worker. */
const STEADY_MIB_PER_SECOND = 20;
/** How long each burst upload takes to send. */
const BURST_SEND_SECONDS = 10;
/** Everything the test starts in the media worker's namespace stops by itself after this. */
const BOUND_SECONDS = 1200;
const MIB = 1024 * 1024;

interface Uploaded {
  mxc: string;
  sha256: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("media scratch: more media than the store holds, more uploads at once than the plan lets through; nothing fails", () => {
  const services = new Services("media-scratch");
  const thePlan = reducedTier(plan(parseSettings({ ccu: 100, serverName: "media.matrix.test", edge: { adminCidrs: [`${ADMIN_FROM}/32`] } })), {});
  const scratch = thePlan.synapse.scratch;
  const maxUploadMiB = thePlan.synapse.config.maxUploadMB;
  const storeMiB = scratch.mediaGiB * 1024;
  const tmpMiB = scratch.mediaTmpGiB * 1024;
  const steadyFiles = Math.ceil((storeMiB * 1.25) / STEADY_FILE_MIB);
  const burstFiles = 3 * scratch.uploadsInFlight;
  const floodFiles = Math.ceil((storeMiB * 1.25) / maxUploadMiB);
  /** What the plan lets complete above the cleaner's threshold: the uploads in flight and one set more. */
  const inFlightMiB = scratch.uploadsInFlight * maxUploadMiB;
  const cleanerScript = join(services.dir, "scratch-cleaner.py");
  const usageLog = join(services.dir, "usage.log");
  const pids = join(services.dir, "namespace.pids");
  let fleet: Fleet;
  let token: string;
  const uploaded: Uploaded[] = [];
  const failures: string[] = [];
  let burstMaxQueue = 0;
  let floodMiBPerSecond = 0;

  /** One request through HAProxy; a body is sent in `chunks` pieces over `sendMs`. */
  const send = (method: string, path: string, body?: Buffer, sendMs = 0) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = httpsRequest(
        new URL(path, fleet.baseUrl),
        {
          method,
          localAddress: ADMIN_FROM,
          ca: readFileSync(fleet.ca.certificate),
          headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/octet-stream", "Content-Length": body.length } : {}) },
          timeout: 300_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on("error", reject);
      if (!body || sendMs === 0) return req.end(body);
      const pieces = 20;
      const size = Math.ceil(body.length / pieces);
      void (async () => {
        for (let i = 0; i < pieces; i++) {
          req.write(body.subarray(i * size, (i + 1) * size));
          await sleep(sendMs / pieces);
        }
        req.end();
      })();
    });

  const upload = async (label: string, data: Buffer, sendMs = 0) => {
    const r = await send("POST", `/_matrix/media/v3/upload?filename=${label}.bin`, data, sendMs);
    if (r.status !== 200) failures.push(`${label}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    else uploaded.push({ mxc: (JSON.parse(r.body.toString()) as { content_uri: string }).content_uri, sha256: createHash("sha256").update(data).digest("hex") });
  };

  const samples = (column: 0 | 1) => readFileSync(usageLog, "utf8").split("\n").filter((l) => l.trim()).map((l) => Number(l.trim().split(/\s+/)[column]));

  beforeAll(async () => {
    writeFileSync(cleanerScript, renderScratchCleaner(scratch.cleanup));
    // The media worker's own mount namespace: its store and TMPDIR tmpfs mounts of the plan's sizes,
    // the cleaner and a usage sampler beside it (both bounded in time, their pids kept to stop them).
    const inNamespace = (store: string, objectStore: { endpoint: string; bucket: string; region: string }) => {
      const tmp = join(services.dir, "media-tmp");
      return [
        `mkdir -p '${store}' '${tmp}'`,
        `mount -t tmpfs -o size=${storeMiB}m tmpfs '${store}'`,
        `mount -t tmpfs -o size=${tmpMiB}m tmpfs '${tmp}'`,
        `export TMPDIR='${tmp}'`,
        `{ timeout ${BOUND_SECONDS} '${PYTHON}' '${cleanerScript}' '${store}' '${objectStore.bucket}' '${objectStore.endpoint}' '${objectStore.region}' & echo $! >> '${pids}'; }`,
        `{ timeout ${BOUND_SECONDS} sh -c 'while :; do echo "$(df -m --output=used "$1" | tail -n 1) $(df -m --output=used "$2" | tail -n 1)" >> "$3"; sleep 0.2; done' sampler '${store}' '${tmp}' '${usageLog}' & echo $! >> '${pids}'; }`,
        'exec "$0" "$@"',
      ].join(" && ");
    };
    fleet = await bootFleet(thePlan, () => 1, "media-scratch-fleet", {
      prefixFor: (p, paths) => (p.type === "mediaRepository" ? ["unshare", "--mount", "--propagation", "private", "sh", "-c", inNamespace(paths.mediaStore, paths.objectStore)] : undefined),
    });
    token = (await registerUser(fleet, "uploader", "correct horse battery staple", ADMIN_FROM)).token;

    // Steady: files of STEADY_FILE_MIB, STEADY_AT_ONCE at a time, at STEADY_MIB_PER_SECOND.
    const started = Date.now();
    for (let i = 0; i < steadyFiles; i += STEADY_AT_ONCE) {
      const due = started + ((i * STEADY_FILE_MIB) / STEADY_MIB_PER_SECOND) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      await Promise.all(Array.from({ length: Math.min(STEADY_AT_ONCE, steadyFiles - i) }, (_, k) => upload(`steady${i + k}`, randomBytes(STEADY_FILE_MIB * MIB))));
    }

    // Burst: every upload at once, each of the tier's largest size, each sent over BURST_SEND_SECONDS.
    const queueOf = async () => {
      const metrics = await (await fetch(fleet.statsUrl)).text();
      return Number(/^haproxy_backend_max_queue\{proxy="media_upload"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    };
    await Promise.all(Array.from({ length: burstFiles }, (_, k) => upload(`burst${k}`, randomBytes(maxUploadMiB * MIB - 1024), BURST_SEND_SECONDS * 1000)));
    burstMaxQueue = await queueOf();

    // Flood: after a quiet period longer than the cleaner's (its next round may be a whole period
    // away), every upload at once, each of the tier's largest size, sent at once (one body: each
    // upload is a medium of its own).
    await sleep((scratch.cleanup.everySeconds + 2) * 1000);
    const body = randomBytes(maxUploadMiB * MIB - 1024);
    const floodStarted = performance.now();
    await Promise.all(Array.from({ length: floodFiles }, (_, k) => upload(`flood${k}`, body)));
    floodMiBPerSecond = (floodFiles * maxUploadMiB) / ((performance.now() - floodStarted) / 1000);
  }, BOOT_TIMEOUT);

  afterAll(async () => {
    if (existsSync(pids)) for (const pid of readFileSync(pids, "utf8").split("\n").filter(Boolean)) try { process.kill(Number(pid)); } catch { /* already gone */ }
    await fleet?.stop();
    await services.stopAll();
  }, 120_000);

  it("every upload is accepted: more than the store holds, and three times the plan's uploads in flight at once", () => {
    expect(failures).toEqual([]);
    expect(uploaded).toHaveLength(steadyFiles + burstFiles + floodFiles);
    expect(steadyFiles * STEADY_FILE_MIB).toBeGreaterThan(storeMiB);
    // Unqueued, the burst's bodies would not fit the temporary directory at once.
    expect(burstFiles * maxUploadMiB).toBeGreaterThan(tmpMiB);
  });

  it("HAProxy let the plan's uploads in flight through and queued the rest; the temporary directory held them", () => {
    expect(burstMaxQueue).toBeGreaterThan(0);
    const tmpPeak = Math.max(...samples(1));
    // More than one upload's body at once (the sampler sees the spooled bodies), no more than the plan's number.
    expect(tmpPeak).toBeGreaterThan(maxUploadMiB);
    expect(tmpPeak).toBeLessThanOrEqual(scratch.uploadsInFlight * maxUploadMiB + 16);
    console.log(`media scratch burst: ${burstFiles} uploads of ${maxUploadMiB} MiB at once, HAProxy queued up to ${burstMaxQueue}; TMPDIR peak ${tmpPeak} MiB of ${tmpMiB}`);
  });

  it("the cleaner kept the store near the plan's threshold, far from its size", async () => {
    const log = await waitFor("the cleaner's log", async () => (fleet.services.log("synapse-media-repository-0").includes('"namespace": "scratch-cleaner"') ? fleet.services.log("synapse-media-repository-0") : undefined), 30_000);
    expect(log).toMatch(new RegExp(`MiB of copies removed, \\d+ MiB left \\(trim above ${scratch.cleanup.trimAboveMiB} MiB to ${scratch.cleanup.trimToMiB} MiB\\)`));
    expect(log).not.toContain('"level": "ERROR"');
    const storePeak = Math.max(...samples(0));
    expect(storePeak).toBeGreaterThan(scratch.cleanup.trimAboveMiB);
    // Above the threshold by no more than the plan counts there (the uploads in flight and one set
    // completed before the next round); the store never filled, though the flood alone was larger.
    expect(floodFiles * maxUploadMiB).toBeGreaterThan(storeMiB);
    expect(storePeak).toBeLessThanOrEqual(scratch.cleanup.trimAboveMiB + 2 * inFlightMiB);
    expect(storePeak).toBeLessThan(storeMiB);
    console.log(`media scratch: ${steadyFiles * STEADY_FILE_MIB + (burstFiles + floodFiles) * maxUploadMiB} MiB uploaded into a ${storeMiB} MiB store; peak ${storePeak} MiB, trim above ${scratch.cleanup.trimAboveMiB} MiB, the plan's bound ${scratch.cleanup.trimAboveMiB + 2 * inFlightMiB} MiB`);
  });

  it("a media worker flooded over loopback stores no faster than the plan assumes, so less than a set arrives between two of the cleaner's rounds", () => {
    expect(floodMiBPerSecond).toBeLessThanOrEqual(SYNAPSE_SCRATCH.mediaWorkerStoreMiBPerSecond);
    expect(SYNAPSE_SCRATCH.mediaWorkerStoreMiBPerSecond * scratch.cleanup.everySeconds).toBeLessThan(inFlightMiB);
    console.log(`media scratch flood: ${floodFiles} uploads of ${maxUploadMiB} MiB at ${floodMiBPerSecond.toFixed(0)} MiB/s (the plan assumes at most ${SYNAPSE_SCRATCH.mediaWorkerStoreMiBPerSecond}); one set of ${scratch.uploadsInFlight} in ${(inFlightMiB / floodMiBPerSecond).toFixed(1)} s, a cleaner round every ${scratch.cleanup.everySeconds} s`);
  });

  it("every medium downloads intact, the trimmed ones from the object store, where every upload is", async () => {
    const sample = [...uploaded.slice(0, 12), ...uploaded.slice(-4)];
    for (const { mxc, sha256 } of sample) {
      const r = await send("GET", `/_matrix/client/v1/media/download/${mxc.slice("mxc://".length)}`);
      expect(r.status, mxc).toBe(200);
      expect(createHash("sha256").update(r.body).digest("hex"), mxc).toBe(sha256);
    }
    const objects = fleet.minio.s3("list", MEDIA_BUCKET).split("\n").filter((k) => k.startsWith("local_content/"));
    expect(objects.length).toBe(uploaded.length);
  });

  it("with the object store down an upload fails (500), and the media worker's log says why: the request's JSON line carries the exception's traceback", async () => {
    await fleet.services.stop("minio");
    const r = await send("POST", "/_matrix/media/v3/upload?filename=store-down.bin", randomBytes(64 * 1024));
    expect(r.status).toBe(500);
    // Synapse writes the access line once the response has gone out: wait (bounded) until the failed upload's is in the log.
    const uploadAccess = /Processed request: .* 500 "POST \/_matrix\/media\/v3\/upload/;
    const { records } = await waitFor(
      "the failed upload's access line in the media worker's log",
      async () => {
        const parsed = parseJsonLog(fleet.services.log("synapse-media-repository-0"));
        return parsed.records.some((l) => uploadAccess.test(l.log)) ? parsed : undefined;
      },
      10_000,
    );
    const failed = records.filter((l) => l.level === "ERROR" && l.log.startsWith("Failed handle request"));
    // The only failed request: every upload before it was accepted.
    expect(failed).toHaveLength(1);
    const [error] = failed;
    expect(error!.exc_traceback).toMatch(/^Traceback \(most recent call last\):\n/);
    // The frames name where it failed: the provider's upload through boto3, refused by the stopped server.
    expect(error!.exc_traceback).toMatch(/s3_storage_provider\.py/);
    expect(error!.exc_traceback).toMatch(/botocore/);
    expect(error!.exc_traceback!.trimEnd().split("\n").pop()).toMatch(new RegExp(`^(\\w+\\.)*${error!.exc_type}: `));
    // The same request id as the worker's access line for that upload, so Loki joins the two.
    const access = records.find((l) => l.request === error!.request && uploadAccess.test(l.log));
    expect(access, JSON.stringify(error)).toBeDefined();
  });
});
