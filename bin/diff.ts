/** What moving from one plan to another changes: sizing leaves and declared resources. */
import { effectOf, isStateful, restartReason, type Effect } from "./changes";
import type { DeclaredResource } from "./mock-runtime";

export interface LeafChange {
  path: string;
  before: unknown;
  after: unknown;
}

const KEY_FIELDS = ["role", "type", "name"] as const;

/** Flattens to leaf paths; arrays of records are keyed by role/type/name so rows line up across tiers. */
export function flatten(value: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) {
    if (value.every((v) => v !== null && typeof v === "object" && !Array.isArray(v))) {
      value.forEach((item, i) => {
        const key = KEY_FIELDS.map((k) => (item as Record<string, unknown>)[k]).find((k) => typeof k === "string");
        flatten(item, `${prefix}[${key ?? i}]`, out);
      });
    } else out.set(prefix, JSON.stringify(value));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
  return out;
}

export function leafChanges(before: unknown, after: unknown): LeafChange[] {
  const a = flatten(before);
  const b = flatten(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.filter((p) => a.get(p) !== b.get(p)).map((path) => ({ path, before: a.get(path), after: b.get(path) }));
}

export interface ChangedResource {
  type: string;
  name: string;
  paths: string[];
  /** The strongest effect among the changed paths. */
  effect: Effect;
  /** For restarts: why the pods roll. */
  reason?: string;
  stateful: boolean;
  /** Named by the provider: a replacement is created before the old object is deleted. */
  autoNamed: boolean;
}

export interface ResourceDiff {
  added: { type: string; name: string }[];
  removed: { type: string; name: string; stateful: boolean }[];
  changed: ChangedResource[];
}

const RANK: Record<Effect, number> = { "in-place": 0, restart: 1, replace: 2 };

function classify(type: string, name: string, paths: string[], autoNamed: boolean): ChangedResource {
  const effect = paths.map((p) => effectOf(type, p)).reduce<Effect>((a, b) => (RANK[b] > RANK[a] ? b : a), "in-place");
  const templatePaths = paths.filter((p) => effectOf(type, p) === "restart");
  return { type, name, paths, effect, ...(effect === "restart" ? { reason: restartReason(templatePaths) } : {}), stateful: isStateful({ type, name }), autoNamed };
}

export function resourceDiff(before: readonly DeclaredResource[], after: readonly DeclaredResource[]): ResourceDiff {
  const index = (list: readonly DeclaredResource[]) => new Map(list.map((r) => [r.urn, r]));
  const a = index(before);
  const b = index(after);
  const ref = (r: DeclaredResource) => ({ type: r.type, name: r.name });
  return {
    added: [...b.values()].filter((r) => !a.has(r.urn)).map(ref),
    removed: [...a.values()].filter((r) => !b.has(r.urn)).map((r) => ({ ...ref(r), stateful: isStateful(r) })),
    changed: [...b.values()]
      .filter((r) => a.has(r.urn))
      .map((r) => classify(r.type, r.name, leafChanges(a.get(r.urn)!.inputs, r.inputs).map((c) => c.path), r.autoName !== undefined))
      .filter((c) => c.paths.length > 0),
  };
}

/** Stateful resources a change would replace or delete: must be empty for a safe move. */
export function statefulLosses(diff: ResourceDiff): string[] {
  return [
    ...diff.removed.filter((r) => r.stateful).map((r) => `${r.type} ${r.name} would be deleted`),
    ...diff.changed.filter((c) => c.stateful && c.effect === "replace").map((c) => `${c.type} ${c.name} would be replaced (${c.paths.filter((p) => effectOf(c.type, p) === "replace").join(", ")})`),
  ];
}
