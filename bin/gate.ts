/**
 * The CI preview gate: reads `pulumi preview --json` and refuses any step that would replace or
 * delete a stateful resource (see ./changes.ts), or remove a pool's last node group.
 */
import { isStateful } from "./changes";

export interface PreviewStep {
  op: string;
  urn: string;
  replaceReasons?: string[];
  diffReasons?: string[];
}

export interface PreviewDocument {
  steps?: PreviewStep[];
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

export function gate(preview: PreviewDocument): string[] {
  const steps = preview.steps ?? [];
  const violations: string[] = [];
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
