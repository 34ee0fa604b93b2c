/**
 * The outputs the docs quote are the CLI's real outputs today: every block between an
 * `<!-- output of: npm run plan -- ARGS … -->` (or `first lines of:`) marker and
 * `<!-- end of output -->` is compared with a fresh run of the command.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
const DOCS = join(ROOT, "docs");
const MARKER = /<!-- (output of|first lines of): npm run plan -- (.+?) \(checked by [^)]*\) -->\n([\s\S]*?)<!-- end of output -->/g;

const quoted = readdirSync(DOCS)
  .filter((f) => f.endsWith(".md"))
  .flatMap((file) => [...readFileSync(join(DOCS, file), "utf8").matchAll(MARKER)].map((m) => ({ file, kind: m[1]!, args: m[2]!.split(" "), text: m[3]! })));

const fenced = (text: string) => text.replace(/^```\n/, "").replace(/```\n$/, "");
/** Dates the plan counts from today (when media storage runs out) differ by the day the docs were written. */
const undated = (text: string) => text.replace(/\(around \d{4}-\d{2}-\d{2}\)/g, "(around <date>)");

describe("outputs quoted in docs/", () => {
  it("there are quoted outputs to check", () => {
    expect(quoted.length).toBeGreaterThanOrEqual(2);
  });

  it.each(quoted.map((q) => [`${q.file}: ${q.kind} plan ${q.args.join(" ")}`, q] as const))("%s is what the command prints today", (_name, q) => {
    const r = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "bin", "plan.ts"), ...q.args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const body = undated(fenced(q.text));
    const stdout = undated(r.stdout);
    if (q.kind === "output of") expect(body.trimEnd()).toBe(stdout.trimEnd());
    else expect(stdout.startsWith(body), `${q.file}: the quoted lines are not the start of today's output`).toBe(true);
  }, 120_000);
});
