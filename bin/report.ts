/** The plan CLI's outputs: the JSON contract (DESIGN.md) and the human report. */
import type { InventoryRow, Plan } from "../sizing/types";
import type { Consequence } from "./consequences";
import { statefulLosses, type LeafChange, type ResourceDiff } from "./diff";
import type { DeclaredResource } from "./mock-runtime";

export function planJson(plan: Plan, resources: readonly DeclaredResource[]) {
  return {
    ccu: plan.ccu,
    tier: plan.tier,
    tierCcu: plan.tierCcu,
    target: plan.target,
    inventory: plan.inventory.map(({ role, count, vcpu, memoryGiB, storageGB, rootDiskGB, instanceType, volumeType, monthlyUsd, countReason }) => ({
      role,
      count,
      vcpu,
      memoryGiB,
      storageGB,
      rootDiskGB,
      instanceType,
      volumeType,
      monthlyUsd,
      ...(countReason ? { countReason } : {}),
    })),
    totals: plan.totals,
    bill: plan.bill,
    synapse: {
      workers: Object.fromEntries(
        Object.values(plan.synapse.workers).map((w) => [
          w.type,
          {
            replicas: w.replicas,
            maxReplicas: w.maxReplicas,
            cpMin: w.cpMin,
            cpMax: w.cpMax,
            kind: w.kind,
            vcpu: w.resources.requests.vcpu,
            memoryGiB: w.resources.requests.memoryGiB,
            instances: w.instances,
          },
        ]),
      ),
      processes: plan.synapse.processes,
      processesAtMaxScale: plan.synapse.processesAtMaxScale,
      connections: plan.synapse.connections,
      connectionsAtMaxScale: plan.synapse.connectionsAtMaxScale,
      connectionsInRollout: plan.synapse.connectionsInRollout,
      connectionLimit: plan.synapse.connectionLimit,
      streamWriters: plan.synapse.streamWriters,
      singletons: plan.synapse.singletons,
      config: plan.synapse.config,
      autoscaling: plan.synapse.autoscaling,
    },
    routing: plan.routing,
    postgres: plan.postgres,
    redis: plan.redis,
    minio: plan.minio,
    livekit: plan.livekit,
    coturn: plan.coturn,
    monitoring: plan.monitoring,
    pools: plan.pools,
    resources: resources.map(({ type, name }) => ({ type, name })),
    warnings: plan.warnings,
    /** The headline again at the end, for readers of a long document's tail. */
    summary: { tier: plan.tier, ccu: plan.ccu, servers: plan.totals.servers, monthlyUsd: plan.totals.monthlyUsd, processes: plan.synapse.processes, warnings: plan.warnings.length },
  };
}

export type PlanJson = ReturnType<typeof planJson>;

/** The seed's one monitoring server survives nothing by design (docs/hardware.md); any other pool with pods must survive a node loss. */
function nMinus1Verdict(pool: Plan["pools"][number]): string {
  if (pool.pods === 0) return "-";
  if (pool.role === "monitoring") return "one server";
  return pool.fitsNMinus1 ? "ok" : "FAILS";
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n");
}

const usd = (n: number) => `$${Math.round(n).toLocaleString("en-US")}`;
const num = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 2 });
const pct = (n: number) => `${Math.round(n * 100)}%`;

export function countByType(resources: readonly DeclaredResource[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function humanReport(plan: Plan, resources: readonly DeclaredResource[]): string {
  const out: string[] = [];
  out.push(`matrix-scale plan: ${num(plan.ccu)} concurrent users → tier ${plan.tier} (${pct(plan.ccu / plan.tierCcu)} of ${num(plan.tierCcu)}), target ${plan.target}`);
  out.push(plan.warnings.length ? plan.warnings.map((w) => `  ! ${w}`).join("\n") : "  no warnings");

  out.push("\nServers");
  out.push(
    table(
      ["role", "count", "vCPU", "GiB", "volumes GB", "root GB", "instance", "volume", "$/month", "note"],
      [
        ...plan.inventory.map((r) => [r.role, r.count, r.vcpu, r.memoryGiB, num(r.storageGB), r.rootDiskGB, r.instanceType, r.volumeType, usd(r.monthlyUsd), r.countReason ?? ""]),
        ["total", plan.totals.servers, num(plan.totals.vcpu), num(plan.totals.memoryGiB), num(plan.totals.storageGB), "", "", "", "", "nodes and root disks; the bill below"],
      ],
    ),
  );
  out.push(`\nMonthly bill (AWS list prices, ${plan.bill.region}, read ${plan.bill.pricesAsOf}${plan.target === "aws" ? "" : "; AWS-equivalent estimate"})`);
  out.push(table(["item", "quantity", "of", "$/month"], [...plan.bill.lines.map((l) => [l.item, l.quantity, l.unit, usd(l.monthlyUsd)]), ["total", "", "", usd(plan.bill.monthlyUsd)]]));
  out.push(`not priced: ${plan.bill.notPriced.join(", ")}`);

  out.push("\nSynapse fleet");
  const workers = Object.values(plan.synapse.workers);
  out.push(
    table(
      ["type", "kind", "replicas", "max", "vCPU", "GiB", "cp_min", "cp_max", "conns@max"],
      workers.map((w) => [w.type, w.autoscaled ? "Deployment+HPA" : w.kind, w.replicas, w.maxReplicas, w.resources.requests.vcpu, w.resources.requests.memoryGiB, w.cpMin, w.cpMax, w.maxReplicas * w.cpMax]),
    ),
  );
  const s = plan.synapse;
  const up = s.autoscaling.scaleUp;
  out.push(
    `HPA CPU targets (from measured capacity, sizing/measured.ts): ${workers
      .filter((w) => w.autoscaled)
      .map((w) => `${w.type} ${w.hpaTargetCpuUtilisation}% of ${w.resources.requests.vcpu} vCPU`)
      .join(", ")}; up ${up.pods} pods per ${up.periodSeconds} s after a ${up.stabilizationWindowSeconds} s window`,
  );
  out.push(
    `processes ${s.processes} (${s.processesAtMaxScale} at max autoscale); database connections ${s.connections} (${s.connectionsAtMaxScale} at max, ${s.connectionsInRollout} mid-rollout) ` +
      `< 85% of max_connections ${plan.postgres.maxConnections} = ${num(s.connectionLimit)} [${plan.postgres.maxConnectionsSource}]`,
  );
  out.push(`stream writers: ${Object.entries(s.streamWriters).map(([k, v]) => `${k}→${v!.length > 1 ? `${v!.length} writers` : v![0]}`).join(", ")}`);
  out.push(
    `config: caches ×${s.config.cacheFactor}, event cache ${num(s.config.eventCacheSize)}, uploads ≤ ${s.config.maxUploadMB} MB, ` +
      `rc_message ${s.config.rcMessage.perSecond}/s burst ${s.config.rcMessage.burstCount}, federation concurrency ${s.config.federationMaxConcurrent}` +
      (s.federation ? "" : " (federation off)"),
  );
  out.push(`routing: HAProxy × ${plan.routing.haproxy.replicas}`);

  const pg = plan.postgres;
  const mio = plan.minio;
  out.push("\nData and calls");
  out.push(
    `PostgreSQL: ${pg.instances} instances (${pg.synchronousStandbys} synchronous standby), ${pg.resources.requests.vcpu} vCPU / ${pg.resources.requests.memoryGiB} GiB each ` +
      `(+ ${pg.backupPlugin.sidecar.requests.vcpu} vCPU / ${pg.backupPlugin.sidecar.requests.memoryGiB} GiB backup sidecar), ` +
      `${num(pg.storageGB)} GB volume (${pg.monthsCovered} months at ${num(pg.growthGBPerYear)} GB/year); ` +
      Object.entries(pg.parameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(" "),
  );
  for (const [name, r] of Object.entries(plan.redis)) {
    out.push(`Redis (${name}): ${r.instances} × ${r.resources.requests.vcpu} vCPU / ${r.resources.requests.memoryGiB} GiB, ${r.sentinels} Sentinels (quorum ${r.quorum}), ${r.persistence.toUpperCase()}, maxmemory ${r.maxmemoryMB} MB`);
  }
  out.push(
    `MinIO: ${mio.pools.length} pool(s) of ${mio.pools[0]!.servers} servers × ${mio.pools[0]!.drivesPerServer} drives × ${num(mio.pools[0]!.driveGB)} GB, ` +
      `EC:${mio.parity} over ${mio.erasureSetDrives}-drive sets; ${num(mio.rawGB)} GB raw, ${num(mio.usableGB)} GB usable; ` +
      `media grows ${num(mio.growthGBPerYear)} GB/year → ${mio.monthsCovered} months covered`,
  );
  out.push(`LiveKit: ${plan.livekit.instances} hosts × ${plan.livekit.resources.requests.vcpu} vCPU / ${plan.livekit.resources.requests.memoryGiB} GiB; coturn: ${plan.coturn.instances} hosts × ${plan.coturn.resources.requests.vcpu} vCPU / ${plan.coturn.resources.requests.memoryGiB} GiB`);

  out.push("\nNode pools (requests vs allocatable; application survives a node loss by rescheduling, the others by quorum, monitoring is one server)");
  out.push(
    table(
      ["pool", "nodes", "alloc vCPU", "alloc GiB", "pods", "req vCPU", "req GiB", "vCPU use", "mem use", "N-1"],
      plan.pools.map((p) => [p.role, p.nodes, p.allocatable.vcpu, p.allocatable.memoryGiB, p.pods, num(p.requested.vcpu), num(p.requested.memoryGiB), pct(p.utilisationNMinus1.vcpu), pct(p.utilisationNMinus1.memoryGiB), nMinus1Verdict(p)]),
    ),
  );

  out.push(`\nResources declared by the program (${resources.length})`);
  out.push(table(["type", "count"], countByType(resources)));
  return out.join("\n");
}

/** Each bill item before and after a move (0 where one side has none), and the total. */
export function billDifference(from: Plan, to: Plan): { item: string; before: number; after: number }[] {
  const cost = (p: Plan, item: string) => p.bill.lines.find((l) => l.item === item)?.monthlyUsd ?? 0;
  const items = unique([...from.bill.lines, ...to.bill.lines].map((l) => l.item));
  return [...items.map((item) => ({ item, before: cost(from, item), after: cost(to, item) })), { item: "total", before: from.bill.monthlyUsd, after: to.bill.monthlyUsd }];
}

const unique = <T>(list: readonly T[]): T[] => [...new Set(list)];
const signedUsd = (n: number) => `${n < 0 ? "−" : "+"}${usd(Math.abs(n))}`;

export interface TierMove {
  from: Plan;
  to: Plan;
  sizing: LeafChange[];
  resources: ResourceDiff;
  nodeGroupReplacements: string[];
  /** What happens while the move applies, beyond create/update/replace, and what to do by hand. */
  consequences: Consequence[];
}

const kind = (type: string) => type.replace(/^kubernetes:/, "").replace(/^[a-z0-9.]+\/[a-z0-9]+:/, "");

function headline(p: Plan): (string | number)[] {
  return [
    p.totals.servers,
    num(p.totals.vcpu),
    num(p.totals.memoryGiB),
    usd(p.totals.monthlyUsd),
    `${p.synapse.processes} (${p.synapse.processesAtMaxScale})`,
    `${p.synapse.connectionsInRollout} / ${num(p.synapse.connectionLimit)}`,
    p.postgres.maxConnections,
    `${num(p.postgres.storageGB)} GB`,
    `${p.minio.pools.length} / ${num(p.minio.usableGB)} GB`,
    `${p.livekit.instances} / ${p.coturn.instances}`,
  ];
}
const HEADLINE_ROWS = ["servers", "vCPU", "memory GiB", "monthly cost", "Synapse processes (at max autoscale)", "DB connections at max / 85% limit", "PostgreSQL max_connections", "database volume", "MinIO pools / usable", "LiveKit / coturn hosts"];

/** The tier move as a pull-request comment: sizing before/after, pools, every resource change classified. */
export function markdownTierMove(move: TierMove): string {
  const { from, to, resources } = move;
  const out: string[] = [];
  out.push(`### matrix-scale: ${from.tier} (${num(from.ccu)} users) → ${to.tier} (${num(to.ccu)} users)`, "");
  const before = headline(from);
  const after = headline(to);
  out.push("| | before | after |", "|---|---:|---:|");
  HEADLINE_ROWS.forEach((row, i) => out.push(`| ${row} | ${before[i]} | ${after[i]}${String(before[i]) === String(after[i]) ? "" : " ✱"} |`));
  out.push("", "**Node pools**", "", "| pool | before | after |", "|---|---:|---:|");
  for (const role of unique([...from.inventory, ...to.inventory].map((r) => r.role))) {
    const fmt = (r?: InventoryRow) => (r ? `${r.count} × ${r.instanceType}` : "—");
    out.push(`| ${role} | ${fmt(from.inventory.find((r) => r.role === role))} | ${fmt(to.inventory.find((r) => r.role === role))} |`);
  }
  out.push("", "**Monthly bill**", "", "| item | before | after | difference |", "|---|---:|---:|---:|");
  for (const line of billDifference(from, to)) out.push(`| ${line.item} | ${usd(line.before)} | ${usd(line.after)} | ${signedUsd(line.after - line.before)} |`);
  const changed = resources.changed;
  const count = (e: string) => changed.filter((c) => c.effect === e).length;
  out.push(
    "",
    `**Resources**: ${resources.added.length} added, ${resources.removed.length} removed, ${changed.length} changed (${count("replace")} replaced, ${count("restart")} restart their pods, ${count("in-place")} in place)`,
    "",
    "| change | resource | detail |",
    "|---|---|---|",
  );
  for (const r of resources.added) out.push(`| + add | ${kind(r.type)} \`${r.name}\` | |`);
  for (const r of resources.removed) out.push(`| − remove | ${kind(r.type)} \`${r.name}\` | ${r.stateful ? "**stateful**" : ""} |`);
  for (const c of changed) {
    const detail = c.effect === "restart" ? c.reason! : c.effect === "replace" ? `${c.stateful ? "**stateful** " : ""}${c.paths.slice(0, 3).join(", ")}${c.autoNamed ? " (the new one is created before the old is deleted)" : " (fixed name: the old one is deleted first)"}` : c.paths.slice(0, 4).join(", ");
    out.push(`| ~ ${c.effect} | ${kind(c.type)} \`${c.name}\` | ${detail} |`);
  }
  const losses = statefulLosses(resources);
  out.push("", losses.length ? `**⚠ Stateful resources at risk**:\n${losses.map((l) => `- ${l}`).join("\n")}` : "**Stateful resources**: none replaced or deleted ✓");
  if (move.consequences.length) {
    out.push("", "**While it applies, and by hand**", "", "| resource | what happens | by hand |", "|---|---|---|");
    for (const c of move.consequences) out.push(`| ${c.subject} | ${c.during} | ${c.byHand ?? ""} |`);
  }
  if (move.nodeGroupReplacements.length) out.push("", "**Node groups replaced (new group first)**", ...move.nodeGroupReplacements.map((n) => `- ${n}`));
  if (to.warnings.length) out.push("", "**Warnings after the move**", ...to.warnings.map((w) => `- ${w}`));
  return out.join("\n") + "\n";
}

export function humanTierMove(move: TierMove): string {
  const { from, to, sizing, resources } = move;
  const lines = [`moving ${from.ccu} users (tier ${from.tier}) → ${to.ccu} users (tier ${to.tier})`];
  lines.push(`\nSizing changes (${sizing.length})`);
  for (const c of sizing) lines.push(`  ${c.path}: ${String(c.before ?? "—")} → ${String(c.after ?? "—")}`);
  lines.push(`\nMonthly bill`);
  for (const line of billDifference(from, to)) if (line.before !== line.after) lines.push(`  ${line.item}: ${usd(line.before)} → ${usd(line.after)} (${signedUsd(line.after - line.before)})`);
  lines.push(`\nResources: ${resources.added.length} added, ${resources.removed.length} removed, ${resources.changed.length} changed`);
  for (const r of resources.added) lines.push(`  + ${r.type} ${r.name}`);
  for (const r of resources.removed) lines.push(`  - ${r.type} ${r.name}${r.stateful ? " (STATEFUL)" : ""}`);
  for (const r of resources.changed) lines.push(`  ~ ${r.effect.padEnd(8)} ${r.type} ${r.name}: ${r.effect === "restart" ? r.reason : r.paths.join(", ")}`);
  const losses = statefulLosses(resources);
  lines.push(losses.length ? `\nSTATEFUL RESOURCES AT RISK:\n${losses.map((l) => `  ! ${l}`).join("\n")}` : "\nStateful resources: none replaced or deleted");
  for (const note of move.nodeGroupReplacements) lines.push(`  ! ${note}`);
  if (move.consequences.length) {
    lines.push(`\nWhile it applies, and by hand (${move.consequences.length})`);
    for (const c of move.consequences) lines.push(`  * ${c.subject}: ${c.during}${c.byHand ? `\n      by hand: ${c.byHand}` : ""}`);
  }
  if (to.warnings.length) lines.push(`\nWarnings after the move:\n${to.warnings.map((w) => `  ! ${w}`).join("\n")}`);
  return `${lines.join("\n")}\n`;
}
