/**
 * The CI preview gate: reads `pulumi preview --json` and refuses a preview that failed (the command's
 * exit status, an error diagnostic, or no steps at all: a preview that ran always has a step for
 * the root stack, even when nothing changes) and any step that would replace or delete a stateful
 * resource (see ./changes.ts), or remove a pool's last node group.
 */
import { isStateful } from "./changes";

export interface PreviewStep {
  op: string;
  urn: string;
  replaceReasons?: string[];
  diffReasons?: string[];
}

export interface PreviewDiagnostic {
  severity?: string;
  message?: string;
  urn?: string;
}

export interface PreviewDocument {
  steps?: PreviewStep[];
  diagnostics?: PreviewDiagnostic[];
}

/** Operations that destroy the existing object (replacements either way round, and deletions). */
export const DESTRUCTIVE_OPS: ReadonlySet<string> = new Set(["replace", "create-replacement", "delete-replaced", "delete", "discard", "discard-replaced"]);

export function parseUrn(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  if (parts.length < 4) throw new Error(`not a Pulumi URN: ${urn}`);
  const typeChain = parts[2]!;
  return { type: typeChain.slice(typeChain.lastIndexOf("$") + 1), name: parts.slice(3).join("::") };
}

const nodeGroupPool = (name: string) => /^[^-]+-([a-z]+)-/.exec(name)?.[1];

/** Why the preview itself failed: its exit status, its error diagnostics, or no steps. */
export function previewFailures(preview: PreviewDocument, exitCode = 0): string[] {
  const failures: string[] = [];
  if (exitCode !== 0) failures.push(`pulumi preview exited ${exitCode}: its plan is incomplete and cannot be judged`);
  for (const d of preview.diagnostics ?? []) {
    if (d.severity === "error") failures.push(`the preview reported an error${d.urn ? ` on ${parseUrn(d.urn).name}` : ""}: ${(d.message ?? "").trim().split("\n")[0]}`);
  }
  if (!preview.steps?.length) failures.push("the preview has no steps: it did not run (a preview that ran lists at least the root stack)");
  return failures;
}

export function gate(preview: PreviewDocument, exitCode = 0): string[] {
  const steps = preview.steps ?? [];
  const violations: string[] = previewFailures(preview, exitCode);
  for (const step of steps) {
    if (!DESTRUCTIVE_OPS.has(step.op)) continue;
    const { type, name } = parseUrn(step.urn);
    const why = step.replaceReasons?.length ? ` (changes to ${step.replaceReasons.join(", ")} force a replacement)` : step.diffReasons?.length ? ` (${step.diffReasons.join(", ")})` : "";
    if (isStateful({ type, name })) violations.push(`${step.op}: ${type} ${name} holds data${why}`);
    if (type === "aws:eks/nodeGroup:NodeGroup" && step.op === "delete") {
      const pool = nodeGroupPool(name);
      const replaced = steps.some((s) => s.op === "create" && parseUrn(s.urn).type === type && nodeGroupPool(parseUrn(s.urn).name) === pool);
      if (!replaced) violations.push(`delete: ${type} ${name} is the ${pool} pool's node group and no new group replaces it`);
    }
  }
  return violations;
}
