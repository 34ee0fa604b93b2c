/**
 * The media store does not fill: the Synapse fleet from the rendered files with one media worker
 * whose store is a tmpfs of exactly the plan's size (`scratch.mediaGiB`, in a private mount namespace
 * of that process, so a full store fails uploads at once, like an evicted pod would), and beside it
 * the rendered scratch cleaner, in the same namespace, as the media pod runs it. More media than the
 * store holds go up through HAProxy; every upload succeeds, the store stays near the plan's trim
 * threshold, and every medium, the trimmed early ones included, downloads intact (from the object
 * store, which the S3 provider wrote before each upload completed).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_BUCKET } from "../../components/naming";
import { renderScratchCleaner } from "../../components/synapse/scratch";
import { parseSettings, plan } from "../../sizing";
import { Services } from "./harness";
import { bootFleet, reducedTier, registerUser, type Fleet } from "./synapse-fleet";

const BOOT_TIMEOUT = 900_000;
const ADMIN_FROM = "127.0.0.1";
const FILE_MIB = 4;
/** Uploads per second: 20 MiB/s, hundreds of times the plan's peak media rate per worker. */
const UPLOADS_PER_SECOND = 5;
/** Everything the test starts in the media worker's namespace stops by itself after this. */
const BOUND_SECONDS = 900;

interface Uploaded {
  mxc: string;
  sha256: string;
}

describe("media scratch: more media than the store holds, nothing fails", () => {
  const services = new Services("media-scratch");
  const thePlan = reducedTier(plan(parseSettings({ ccu: 100, serverName: "media.matrix.test", edge: { adminCidrs: [`${ADMIN_FROM}/32`] } })), {});
  const scratch = thePlan.synapse.scratch;
  const storeMiB = scratch.mediaGiB * 1024;
  const total = Math.ceil((storeMiB * 1.25) / FILE_MIB);
  const cleanerScript = join(services.dir, "scratch-cleaner.sh");
  const usageLog = join(services.dir, "usage.log");
  const pids = join(services.dir, "namespace.pids");
  let fleet: Fleet;
  let token: string;
  const uploaded: Uploaded[] = [];
  const failures: string[] = [];

  const send = (method: string, path: string, body?: Buffer) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const url = new URL(path, fleet.baseUrl);
      const req = httpsRequest(
        url,
        {
          method,
          localAddress: ADMIN_FROM,
          ca: readFileSync(fleet.ca.certificate),
          headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/octet-stream", "Content-Length": body.length } : {}) },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on("error", reject);
      req.end(body);
    });

  beforeAll(async () => {
    writeFileSync(cleanerScript, renderScratchCleaner(scratch.cleanup));
    // The media worker's own mount namespace: its store a tmpfs of the plan's size, the cleaner and a
    // usage sampler beside it (both bounded in time, their pids kept to stop them).
    const inNamespace = (store: string) =>
      [
        `mkdir -p '${store}'`,
        `mount -t tmpfs -o size=${storeMiB}m tmpfs '${store}'`,
        `{ timeout ${BOUND_SECONDS} sh '${cleanerScript}' '${store}' & echo $! >> '${pids}'; }`,
        `{ timeout ${BOUND_SECONDS} sh -c 'while :; do df -m --output=used "$1" | tail -n 1 >> "$2"; sleep 0.2; done' sampler '${store}' '${usageLog}' & echo $! >> '${pids}'; }`,
        'exec "$0" "$@"',
      ].join(" && ");
    fleet = await bootFleet(thePlan, () => 1, "media-scratch-fleet", {
      prefixFor: (p, paths) => (p.type === "mediaRepository" ? ["unshare", "--mount", "--propagation", "private", "sh", "-c", inNamespace(paths.mediaStore)] : undefined),
    });
    token = (await registerUser(fleet, "uploader", "correct horse battery staple", ADMIN_FROM)).token;

    const started = Date.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / UPLOADS_PER_SECOND;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const data = randomBytes(FILE_MIB * 1024 * 1024);
      const r = await send("POST", `/_matrix/media/v3/upload?filename=f${i}.bin`, data);
      if (r.status !== 200) failures.push(`upload ${i}: ${r.status} ${r.body.toString().slice(0, 200)}`);
      else uploaded.push({ mxc: (JSON.parse(r.body.toString()) as { content_uri: string }).content_uri, sha256: createHash("sha256").update(data).digest("hex") });
    }
  }, BOOT_TIMEOUT);

  afterAll(async () => {
    if (existsSync(pids)) for (const pid of readFileSync(pids, "utf8").split("\n").filter(Boolean)) try { process.kill(Number(pid)); } catch { /* already gone */ }
    await fleet?.stop();
    await services.stopAll();
  }, 120_000);

  it("uploads files past the store's size (the plan's scratch.mediaGiB), every one accepted", () => {
    expect(failures).toEqual([]);
    expect(uploaded).toHaveLength(total);
    expect(total * FILE_MIB).toBeGreaterThan(storeMiB);
  });

  it("the cleaner trimmed the store to the plan's window, and it never came near the limit", () => {
    const log = fleet.services.log("synapse-media-repository-0");
    expect(log).toMatch(new RegExp(`media scratch: \\d+ MiB used, above ${scratch.cleanup.trimAboveMiB} MiB`));
    const samples = readFileSync(usageLog, "utf8").split("\n").filter(Boolean).map(Number);
    expect(samples.length).toBeGreaterThan(100);
    const peak = Math.max(...samples);
    // Above the threshold by about what arrives in one cleaner period at the test's pace (half a period
    // more for the cleaner's own work and a slow machine), far below the store's size.
    expect(peak).toBeLessThanOrEqual(scratch.cleanup.trimAboveMiB + 1.5 * scratch.cleanup.everySeconds * UPLOADS_PER_SECOND * FILE_MIB);
    expect(peak).toBeLessThan(storeMiB);
    console.log(`media scratch: ${total * FILE_MIB} MiB uploaded into a ${storeMiB} MiB store; peak ${peak} MiB, trim above ${scratch.cleanup.trimAboveMiB} MiB`);
  });

  it("every medium downloads intact, the early ones (no longer in the store) from the object store", async () => {
    const sample = [...uploaded.slice(0, 20), ...uploaded.slice(-5)];
    for (const { mxc, sha256 } of sample) {
      const r = await send("GET", `/_matrix/client/v1/media/download/${mxc.slice("mxc://".length)}`);
      expect(r.status, mxc).toBe(200);
      expect(createHash("sha256").update(r.body).digest("hex"), mxc).toBe(sha256);
    }
    // Every upload is in the object store: the provider stored each before its request completed.
    const objects = fleet.minio.s3("list", MEDIA_BUCKET).split("\n").filter((k) => k.startsWith("local_content/"));
    expect(objects.length).toBe(total);
  });
});
