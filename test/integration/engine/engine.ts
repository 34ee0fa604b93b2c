/**
 * The real Pulumi engine for tests: the CLI and the Kubernetes provider built by
 * scripts/install-pulumi.sh, driven through the Automation API with inline programs (the program
 * runs in this process, so no Node.js language host binary is needed), a local file backend and a
 * passphrase secrets provider, all under a temporary directory.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { LocalWorkspace, PulumiCommand, Stack, type EngineEvent, type PulumiFn } from "@pulumi/pulumi/automation";
import type { PreviewDocument } from "../../../bin/gate";
import { ROOT } from "../harness";

// Internal modules of the Automation API: the in-process language host its own preview uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LanguageServer } = require("@pulumi/pulumi/automation/server") as { LanguageServer: new (program: PulumiFn) => grpc.UntypedServiceImplementation & { onPulumiExit(hasError: boolean): void } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const langrpc = require("@pulumi/pulumi/proto/language_grpc_pb") as { LanguageRuntimeService: grpc.ServiceDefinition };

export const PULUMI_ROOT = join(ROOT, ".cache", "pulumi");
export const PULUMI_HOME = join(ROOT, ".cache", "pulumi-home");
export const PULUMI_BIN = join(PULUMI_ROOT, "bin", "pulumi");
export const PASSPHRASE = "matrix-scale-engine-test";

export function engineInstalled(): boolean {
  return existsSync(PULUMI_BIN);
}

export interface EngineProject {
  /** Working directory holding Pulumi.yaml (and the stack files the test copies in). */
  workDir: string;
  /** The file backend's directory. */
  stateDir: string;
  envVars: Record<string, string>;
}

/** A fresh project directory with the repository's Pulumi.yaml and, optionally, stack files. */
export function engineProject(stackFiles: readonly string[] = [], pulumiYaml = readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")): EngineProject {
  const workDir = mkdtempSync(join(tmpdir(), "engine-"));
  const stateDir = join(workDir, ".state");
  mkdirSync(stateDir);
  writeFileSync(join(workDir, "Pulumi.yaml"), pulumiYaml);
  // Pulumi.yaml names index.ts as `main` and the CLI checks that it exists; the tests run program.ts inline.
  writeFileSync(join(workDir, "index.ts"), "// The engine tests run ../program.ts as an inline Automation API program.\n");
  for (const file of stackFiles) copyFileSync(join(ROOT, file), join(workDir, file));
  return {
    workDir,
    stateDir,
    envVars: {
      PULUMI_BACKEND_URL: `file://${stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    },
  };
}

export async function engineStack(project: EngineProject, stackName: string, program: PulumiFn): Promise<Stack> {
  const pulumiCommand = await PulumiCommand.get({ root: PULUMI_ROOT });
  const ws = await LocalWorkspace.create({ workDir: project.workDir, program, pulumiHome: PULUMI_HOME, envVars: project.envVars, pulumiCommand });
  return Stack.createOrSelect(stackName, ws);
}

export interface PreviewRun {
  exitCode: number;
  document: PreviewDocument & { changeSummary?: Record<string, number> };
  stdout: string;
  stderr: string;
}

/**
 * `pulumi preview --json` as CI runs it (plus --show-sames), for an inline program: the Automation
 * API's own in-process language host serves the program, the CLI prints its JSON document and exit
 * status.
 */
export async function previewJson(stack: Stack, program: PulumiFn): Promise<PreviewRun> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  const languageServer = new LanguageServer(program);
  server.addService(langrpc.LanguageRuntimeService, languageServer);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const ws = stack.workspace as LocalWorkspace;
  // --show-sames: every resource gets a step, so a resource the engine leaves alone is seen as `same`.
  const args = ["preview", "--json", "--show-sames", `--client=127.0.0.1:${port}`, "--exec-kind", "auto.inline", "--stack", stack.name];
  let result: { stdout: string; stderr: string; code: number };
  try {
    result = await runCli(ws, args);
  } catch (error) {
    const failed = (error as { commandResult?: { stdout: string; stderr: string; code: number } }).commandResult;
    if (!failed) throw error;
    result = failed;
  } finally {
    languageServer.onPulumiExit(false);
    server.forceShutdown();
  }
  let document: PreviewRun["document"] = {};
  try {
    document = result.stdout.trim() ? JSON.parse(result.stdout) : {};
  } catch {
    /* a preview that failed before printing JSON: the gate judges the exit status */
  }
  return { exitCode: result.code, document, stdout: result.stdout, stderr: result.stderr };
}

/** The CLI with the workspace's environment (`run` is internal to the Automation API, stable since 3.130). */
export function runCli(ws: LocalWorkspace, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const command = ws.pulumiCommand as unknown as { run(args: string[], cwd: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number }> };
  return command.run(args, ws.workDir, { ...ws.envVars, PULUMI_HOME });
}

/** Engine events of an operation, for its steps (op and URN of every resource it touched). */
export function collectSteps(): { onEvent: (e: EngineEvent) => void; steps: { op: string; urn: string }[] } {
  const steps: { op: string; urn: string }[] = [];
  return {
    steps,
    onEvent: (e) => {
      const m = e.resOutputsEvent?.metadata;
      if (m) steps.push({ op: m.op, urn: m.urn });
    },
  };
}
