/**
 * npm run plan -- --ccu N [--json] [--from M] [--stack NAME|FILE.yaml] [--target aws|kubernetes]
 *
 * Offline: sizes the tier and runs the real program under Pulumi's mock runtime, so it needs no
 * Pulumi CLI, credentials, cloud or cluster. Bad input: exit 1 and one line on stderr.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mermaid, svg } from "./diagram";
import { STORAGE_OUTPUT } from "../program";
import { parseSettings, plan, PlanError, SettingsError, storageState, type Plan, type StorageState } from "../sizing";
import { nodeGroups, POOL_LABEL } from "../sizing/inventory";
import type { RawSettings } from "../sizing/settings";
import { consequences } from "./consequences";
import { leafChanges, resourceDiff, statefulLosses } from "./diff";
import { runProgram, type MockRun } from "./mock-runtime";
import { humanReport, humanTierMove, markdownTierMove, planJson, type TierMove } from "./report";
import { readStackFile, StackFileError } from "./stackfile";

class UsageError extends Error {}

/** The stack's `storage` output as `pulumi stack output storage --json` prints it (empty: a new stack). */
function readStorage(file: string): StorageState | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UsageError(`--storage ${file}: cannot read the file`);
  }
  if (!text.trim() || text.trim() === "null" || text.trim() === "{}") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--storage ${file}: not JSON; write it with \`pulumi stack output storage --json\``);
  }
  const s = value as Partial<StorageState>;
  const whole = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
  const poolsOk = Array.isArray(s?.minio?.pools) && s.minio.pools.every((p) => p && whole(p.servers) && whole(p.drivesPerServer) && whole(p.driveGB));
  if (!s || !poolsOk || typeof s.minio?.parity !== "number" || typeof s.postgres?.storageGB !== "number") {
    throw new UsageError(`--storage ${file}: not the stack's storage output (expected minio.pools, minio.parity, postgres.storageGB); write it with \`pulumi stack output storage --json\``);
  }
  return s as StorageState;
}

const USAGE = "usage: npm run plan -- --ccu N [--json] [--from M [--markdown] [--storage FILE]] [--diagram [--out DIR]] [--stack NAME|FILE.yaml] [--target aws|kubernetes]";
const DEFAULT_STACK = "dev";

function settingsFor(values: { stack?: string; ccu?: string; target?: string }, ccu?: string): RawSettings {
  const raw = readStackFile(values.stack ?? DEFAULT_STACK);
  if (ccu !== undefined) {
    raw.ccu = ccu;
    delete raw.tier; // the stack's explicit tier belongs to its own ccu
  }
  if (values.target !== undefined) raw.target = values.target;
  return raw;
}

/** Placeholders for what a deployment on AWS requires and the offline diff does not read: it only compares objects. */
const OFFLINE_AWS = { certificateArn: "arn:aws:acm:us-east-1:000000000000:certificate/offline-plan", apiAccessCidrs: [] as string[] };

function offlineDeployable(raw: RawSettings): RawSettings {
  const aws = (raw.aws ?? {}) as Record<string, unknown>;
  return raw.target === "aws" ? { ...raw, aws: { ...OFFLINE_AWS, ...aws } } : raw;
}

/** Plan and program run; with `previous`, as a stack that already holds that storage would see them. */
async function evaluate(raw: RawSettings, asOf: Date, previous?: StorageState): Promise<{ plan: Plan; run: MockRun }> {
  const thePlan = plan(parseSettings(raw), { asOf, ...(previous ? { previous } : {}) });
  const run = await runProgram(offlineDeployable(raw), { asOf, ...(previous ? { previousOutputs: { [STORAGE_OUTPUT]: previous } } : {}) });
  return { plan: thePlan, run };
}

/** Node groups whose instance type changes: AWS replaces those; the program adds the new group first. */
/**
 * Node groups a move replaces (their instance type changes; the group's name carries it, so the
 * new group is created before the old is deleted), with the procedure that honours the
 * PodDisruptionBudgets: EKS drains a deleted group's nodes but force-terminates them after its own
 * timeout. The Pulumi names are the program's (components/nodepools: `matrix-<id>` launch templates,
 * `matrix-<id>-<type>` groups).
 */
export function nodeGroupReplacements(from: Plan, to: Plan): string[] {
  if (to.target !== "aws") return [];
  const before = new Map(nodeGroups(from).map((g) => [g.id, g.row.instanceType]));
  const replaced = nodeGroups(to).filter((g) => before.has(g.id) && before.get(g.id) !== g.row.instanceType);
  const roles = [...new Set(replaced.map((g) => g.row.role))];
  return roles.map((role) => {
    const groups = replaced.filter((g) => g.row.role === role);
    const oldType = before.get(groups[0]!.id)!;
    const newType = groups[0]!.row.instanceType;
    const targets = groups.flatMap((g) => [`--target '**::matrix-${g.id}'`, `--target '**::matrix-${g.id}-${newType.replace(".", "-")}'`]).join(" ");
    return (
      `node group ${role}: ${oldType} → ${newType} replaces ${groups.length === 1 ? "the group" : `its ${groups.length} groups (${groups.map((g) => g.id).join(", ")})`}; the new group is created before the old one is removed. ` +
      `EKS force-terminates the old nodes after its own timeout whatever the PodDisruptionBudgets say; to honour them: ` +
      `(1) pulumi up ${targets} (the new groups); ` +
      `(2) kubectl drain -l ${POOL_LABEL}=${role},node.kubernetes.io/instance-type=${oldType} --ignore-daemonsets --delete-emptydir-data (evicts through the budgets; waits for each); ` +
      `(3) pulumi up (deletes the emptied old groups)`
    );
  });
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ccu: { type: "string" },
      from: { type: "string" },
      stack: { type: "string" },
      storage: { type: "string" },
      target: { type: "string" },
      json: { type: "boolean", default: false },
      markdown: { type: "boolean", default: false },
      diagram: { type: "boolean", default: false },
      out: { type: "string", default: "out/diagrams" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.ccu === undefined && values.stack === undefined) throw new UsageError(`--ccu or --stack is required; ${USAGE}`);
  if (values.storage !== undefined && values.from === undefined) throw new UsageError(`--storage goes with --from: it plans a tier move around what the stack holds; ${USAGE}`);
  const asOf = new Date();
  if (values.diagram) {
    const thePlan = plan(parseSettings(settingsFor(values, values.ccu)), { asOf });
    mkdirSync(values.out!, { recursive: true });
    const base = join(values.out!, thePlan.tier);
    writeFileSync(`${base}.mmd`, mermaid(thePlan));
    writeFileSync(`${base}.svg`, svg(thePlan));
    process.stdout.write(`wrote ${base}.mmd and ${base}.svg\n`);
    return 0;
  }
  if (values.from === undefined) {
    const to = await evaluate(settingsFor(values, values.ccu), asOf);
    process.stdout.write(values.json ? `${JSON.stringify(planJson(to.plan, to.run.resources), null, 2)}\n` : `${humanReport(to.plan, to.run.resources)}\n`);
    return 0;
  }
  const held = values.storage === undefined ? undefined : readStorage(values.storage);
  const from = await evaluate(settingsFor(values, values.from), asOf, held);
  const to = await evaluate(settingsFor(values, values.ccu), asOf, held ?? storageState(from.plan));
  const move: TierMove = {
    from: from.plan,
    to: to.plan,
    sizing: leafChanges(planJson(from.plan, []), planJson(to.plan, [])),
    resources: resourceDiff(from.run.resources, to.run.resources),
    nodeGroupReplacements: nodeGroupReplacements(from.plan, to.plan),
    consequences: consequences(from.run.resources, to.run.resources),
  };
  if (values.json) {
    const { sizing, resources, nodeGroupReplacements: replacements, consequences: effects } = move;
    process.stdout.write(`${JSON.stringify({ from: from.plan.tier, to: to.plan.tier, sizing, resources, nodeGroupReplacements: replacements, consequences: effects, statefulLosses: statefulLosses(resources) }, null, 2)}\n`);
  } else process.stdout.write(values.markdown ? markdownTierMove(move) : humanTierMove(move));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = [SettingsError, PlanError, UsageError, StackFileError].some((kind) => error instanceof kind);
    const message = error instanceof Error ? error.message : String(error);
    const argError = error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`${known || argError ? message : `unexpected error: ${message}`}\n`);
    process.exit(known || argError ? 1 : 2);
  },
);
