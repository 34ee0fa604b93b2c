/** The GitHub Actions workflow operators use: preview with the policy pack and the gate, then up. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const workflow = parse(readFileSync(join(__dirname, "..", "..", ".github", "workflows", "stacks.yml"), "utf8")) as Obj;
const steps = (job: string) => workflow.jobs[job].steps as Obj[];
/** A step that runs the preview, keeps its exit status and hands both to the gate. */
const gatesOnExitStatus = (s: Obj) => /pulumi preview [^\n]*--json[^\n]*> preview\.json \|\| status=\$\?\n\s*npm run -s gate -- preview\.json --preview-exit-code "\$status"/.test(String(s.run ?? ""));

const PULUMI_VERSION = (JSON.parse(readFileSync(join(__dirname, "..", "..", "versions.json"), "utf8")) as { pulumi: string }).pulumi.replace(/^v/, "");

describe("stacks workflow", () => {
  it("every job runs the Pulumi CLI the engine tests run (versions.json), installed before its first use", () => {
    for (const job of ["preview", "up"]) {
      const list = steps(job);
      const actions = list.filter((s) => String(s.uses ?? "").startsWith("pulumi/actions@"));
      expect(actions.length).toBeGreaterThan(0);
      for (const a of actions) expect(String(a.with?.["pulumi-version"]), job).toBe(PULUMI_VERSION);
      const firstCli = list.findIndex((s) => /\bpulumi (preview|stack)\b/.test(String(s.run ?? "")));
      const install = list.findIndex((s) => String(s.uses ?? "").startsWith("pulumi/actions@"));
      expect(install, job).toBeLessThan(firstCli);
    }
  });

  it("runs on pull requests and pushes to main that touch a stack file", () => {
    expect(workflow.on.pull_request.paths).toContain("Pulumi.*.yaml");
    expect(workflow.on.push.branches).toEqual(["main"]);
  });

  it("a pull request gets the tier diff as a comment, a preview with the policy pack, and the gate", () => {
    const preview = steps("preview");
    const tierDiff = preview.findIndex((s) => String(s.run ?? "").includes("npm run -s plan -- --stack") && String(s.run).includes("--markdown"));
    expect(tierDiff).toBeGreaterThan(-1);
    // Planned around the stack's own storage output, read with a CLI installed before it.
    expect(String(preview[tierDiff]!.run)).toMatch(/pulumi stack output storage --json [^\n]*> storage\.json[\s\S]*--storage storage\.json/);
    expect(preview.slice(0, tierDiff).some((s) => String(s.uses ?? "").startsWith("pulumi/actions@") && !s.with?.command)).toBe(true);
    const pulumi = preview.find((s) => String(s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command)!;
    expect(pulumi.with).toMatchObject({ command: "preview", diff: true, "comment-on-pr": true, policyPacks: "policy" });
    expect(preview.filter(gatesOnExitStatus)).toHaveLength(1);
  });

  it("merging gates the exact change again, then runs up, one stack at a time", () => {
    const up = steps("up");
    const gateIndex = up.findIndex(gatesOnExitStatus);
    const upIndex = up.findIndex((s) => s.with?.command === "up");
    expect(gateIndex).toBeGreaterThan(-1);
    expect(upIndex).toBeGreaterThan(gateIndex);
    expect(workflow.jobs.up.strategy["max-parallel"]).toBe(1);
  });
});

describe.each([
  { job: "minio", module: "github.com/minio/minio", versionKey: "minio", repositoryKey: "minioImageRepository", arg: "MINIO_VERSION", image: "MINIO_IMAGE" },
  { job: "mc", module: "github.com/minio/mc", versionKey: "mc", repositoryKey: "mcImageRepository", arg: "MC_VERSION", image: "MC_IMAGE" },
] as const)("images workflow: the $job image the program deploys by default is the source the tests run", ({ job: name, module, versionKey, repositoryKey, arg, image }) => {
  const root = join(__dirname, "..", "..");
  const versions = JSON.parse(readFileSync(join(root, "versions.json"), "utf8")) as Record<string, string>;
  const images = parse(readFileSync(join(root, ".github", "workflows", "images.yml"), "utf8")) as Obj;
  const dockerfile = readFileSync(join(root, "images", name, "Dockerfile"), "utf8");
  const escaped = module.replaceAll(".", "\\.").replaceAll("/", "\\/");

  it(`builds images/${name} with versions.json's module version and tags it with that version, as components/versions.ts names it; the tests build the same`, async () => {
    const named = (await import("../../components/versions"))[image];
    const job = images.jobs[name].steps as Obj[];
    const read = String(job.find((s) => s.id === "version")!.run);
    expect(read).toContain(`jq -r .${versionKey} versions.json`);
    expect(read).toContain(`jq -r .${repositoryKey} versions.json`);
    const build = job.find((s) => String(s.uses ?? "").startsWith("docker/build-push-action@"))!;
    expect(build.with).toMatchObject({ context: `images/${name}`, "build-args": `${arg}=\${{ steps.version.outputs.${versionKey} }}`, tags: `\${{ steps.version.outputs.repository }}:\${{ steps.version.outputs.${versionKey} }}`, push: "${{ github.event_name != 'pull_request' }}" });
    expect(named).toBe(`${versions[repositoryKey]}:${versions[versionKey]}`);
    expect(dockerfile).toMatch(new RegExp(`go install [^\\n]*"${escaped}@\\$\\{${arg}\\}"`));
    const installer = readFileSync(join(root, "scripts", "install-integration.sh"), "utf8");
    expect(installer).toMatch(new RegExp(`^go_tool ${name} ${escaped} "\\$\\(version ${versionKey}\\)"$`, "m"));
    expect(installer).toMatch(/go install "\$package@\$version"/);
  });
});

describe("images workflow: MinIO's release has the CVE-2025-62506 fix", () => {
  const root = join(__dirname, "..", "..");
  const versions = JSON.parse(readFileSync(join(root, "versions.json"), "utf8")) as { minio: string; minioImageRepository: string };
  it("that version's commit is after the release that fixed CVE-2025-62506, and the settings check accepts the default while it refuses the last published official image", async () => {
    const { parseSettings, SettingsError } = await import("../../sizing");
    const { MINIO_FIRST_FIXED_RELEASE } = await import("../../sizing/settings");
    // A Go pseudo-version carries its commit's UTC time (yyyymmddhhmmss), the release tag its UTC time too.
    const commit = /^v0\.0\.0-(\d{14})-[0-9a-f]{12}$/.exec(versions.minio)![1]!;
    const fixed = MINIO_FIRST_FIXED_RELEASE.replace(/^RELEASE\./, "").replace(/[-TZ:]/g, "");
    expect(commit > fixed, `${commit} after ${fixed}`).toBe(true);
    const { MINIO_IMAGE } = await import("../../components/versions");
    expect(parseSettings({ ccu: 100, serverName: "matrix.test.example", kubernetes: { minioImage: MINIO_IMAGE } }).kubernetes.minioImage).toBe(MINIO_IMAGE);
    expect(() => parseSettings({ ccu: 100, serverName: "matrix.test.example", kubernetes: { minioImage: "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z" } })).toThrow(SettingsError);
  });
});

describe("images workflow: the Synapse image the program deploys has the media provider built in from the file the tests install", () => {
  const root = join(__dirname, "..", "..");
  const versions = JSON.parse(readFileSync(join(root, "versions.json"), "utf8")) as { synapse: string; synapseImage: string; synapseMediaImageRepository: string };
  const images = parse(readFileSync(join(root, ".github", "workflows", "images.yml"), "utf8")) as Obj;
  const requirements = readFileSync(join(root, "images", "synapse", "requirements.txt"), "utf8");
  const job = images.jobs.synapse.steps as Obj[];
  const run = (script: string) => execFileSync("bash", ["-c", script], { cwd: root, encoding: "utf8" });

  it("the workflow's tag, computed by its own shell, is the image components/versions.ts deploys, built on the pinned upstream release", async () => {
    const { SYNAPSE_IMAGE, UPSTREAM_SYNAPSE_IMAGE } = await import("../../components/versions");
    const outputs = Object.fromEntries(
      run(String(job.find((s) => s.id === "version")!.run).replaceAll('>> "$GITHUB_OUTPUT"', ""))
        .trim()
        .split("\n")
        .map((l) => l.split("=") as [string, string]),
    );
    expect(outputs.tag).toBe(SYNAPSE_IMAGE);
    expect(outputs.upstream).toBe(UPSTREAM_SYNAPSE_IMAGE);
    expect(SYNAPSE_IMAGE.startsWith(`${versions.synapseMediaImageRepository}:v${versions.synapse}-`)).toBe(true);
    const build = job.find((s) => String(s.uses ?? "").startsWith("docker/build-push-action@"))!;
    expect(build.with).toMatchObject({ context: "images/synapse", "build-args": "SYNAPSE_IMAGE=${{ steps.version.outputs.upstream }}", tags: "${{ steps.version.outputs.tag }}" });
    expect(images.on.pull_request.paths).toContain("images/**");
  });

  it("the tag hashes every file the image is made from: the Dockerfile and each file it copies", async () => {
    const { SYNAPSE_IMAGE_FILES } = await import("../../components/versions");
    const dockerfile = readFileSync(join(root, "images", "synapse", "Dockerfile"), "utf8");
    const copied = [...dockerfile.matchAll(/^COPY\s+(\S+)\s/gm)].map((m) => m[1]!);
    expect(copied.length).toBeGreaterThanOrEqual(2);
    expect([...SYNAPSE_IMAGE_FILES].sort()).toEqual(["Dockerfile", ...copied].sort());
  });

  it("a merge never deploys an image still building: pulumi up waits for every image the stack deploys, and a change to images/ runs the stacks", async () => {
    const { builtImages } = await import("../../bin/images");
    const { MC_IMAGE, MINIO_IMAGE, SYNAPSE_IMAGE } = await import("../../components/versions");
    const { readStackFile } = await import("../../bin/stackfile");
    expect(builtImages(readStackFile("prod"))).toEqual([SYNAPSE_IMAGE, MINIO_IMAGE, MC_IMAGE]);
    expect(builtImages({ ...readStackFile("dev"), kubernetes: { synapseImage: "registry.example.net/synapse:v1" } })[0]).toBe("registry.example.net/synapse:v1");
    const up = steps("up");
    const wait = up.findIndex((s) => /npm run -s images -- --stack "\$\{\{ matrix\.stack \}\}"/.test(String(s.run ?? "")) && /docker manifest inspect "\$image"/.test(String(s.run)));
    const apply = up.findIndex((s) => s.with?.command === "up");
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThan(apply);
    expect(workflow.on.push.paths).toContain("images/**");
    expect(workflow.on.pull_request.paths).toContain("images/**");
  });

  it("the image and the tests install the same file, every requirement pinned with a hash and nothing else pulled in; pods install nothing", async () => {
    const lines = requirements.split("\n").filter((l) => l && !l.startsWith("#"));
    const pins = lines.filter((l) => !l.trim().startsWith("--hash"));
    expect(pins.length).toBeGreaterThanOrEqual(2);
    for (const pin of pins) expect(pin, pin).toMatch(/^[A-Za-z0-9_.-]+==[^\s]+ \\$/);
    expect(lines.filter((l) => /--hash=sha256:[0-9a-f]{64}$/.test(l.trim()))).toHaveLength(pins.length);
    expect(pins.some((p) => p.startsWith("synapse-s3-storage-provider=="))).toBe(true);
    const dockerfile = readFileSync(join(root, "images", "synapse", "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/pip install --no-cache-dir --no-deps --require-hashes -r \/tmp\/media-provider-requirements\.txt/);
    const installer = readFileSync(join(root, "scripts", "install-integration.sh"), "utf8");
    expect(installer).toMatch(/--no-deps --require-hashes -r "\$media_requirements"/);
    expect(installer).toContain('media_requirements="$PWD/images/synapse/requirements.txt"');
    const { runProgram } = await import("../../bin/mock-runtime");
    const { SYNAPSE_IMAGE } = await import("../../components/versions");
    const out = await runProgram({ ccu: 1000, serverName: "matrix.test.example" });
    const media = out.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && r.name === "synapse-media-repository")!;
    const pod = (media.inputs.spec as Obj).template.spec as Obj;
    // The gate, Synapse, and the scratch cleaner beside it.
    expect([...pod.initContainers, ...pod.containers].map((c: Obj) => c.image)).toEqual([SYNAPSE_IMAGE, SYNAPSE_IMAGE, SYNAPSE_IMAGE]);
    expect(JSON.stringify(pod)).not.toMatch(/pip install|PYTHONPATH/);
  });
});
