/**
 * The mock runtime with each registration's dependencies (explicit and through its inputs)
 * recorded from the mock monitor, as `type::name`: what the engine orders by.
 */
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { runProgram, type MockRun } from "../bin/mock-runtime";
import type { RawSettings } from "../sizing/settings";

let recording: Map<string, string[]> | undefined;
let timeouts: Map<string, { create: string; update: string }> | undefined;
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string } | undefined;
}
const register = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (this: MockMonitor, req: RegisterRequest, callback: (err: unknown, response: unknown) => void) {
  const byTypeAndName = (urn: string) => {
    const [, , qualifiedType, name] = urn.split("::");
    return `${qualifiedType!.split("$").pop()}::${name}`;
  };
  recording?.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList().map(byTypeAndName));
  const t = req.getCustomtimeouts();
  if (t && (t.getCreate() || t.getUpdate())) timeouts?.set(`${req.getType()}::${req.getName()}`, { create: t.getCreate(), update: t.getUpdate() });
  return register.call(this, req, callback);
};

export interface RunWithDependencies {
  run: MockRun;
  /** `type::name` → the `type::name` of everything it waits for. */
  dependencies: Map<string, string[]>;
  /** `type::name` → the engine's custom timeouts, where set. */
  timeouts: Map<string, { create: string; update: string }>;
}

export async function runRecordingDependencies(raw: RawSettings): Promise<RunWithDependencies> {
  const dependencies = (recording = new Map());
  const recorded = (timeouts = new Map());
  try {
    return { run: await runProgram(raw), dependencies, timeouts: recorded };
  } finally {
    recording = undefined;
    timeouts = undefined;
  }
}
