/**
 * npm run gate -- preview.json [--preview-exit-code N]
 * (or `pulumi preview --json | npm run gate`, which cannot carry the preview's exit status: CI hands
 * it over with --preview-exit-code)
 * Exit 1 and one line per reason when the preview failed (its exit status N, error diagnostics, no
 * steps) or would replace or delete stateful resources.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gate, type PreviewDocument } from "./gate";

const { values, positionals } = parseArgs({ options: { "preview-exit-code": { type: "string", default: "0" } }, allowPositionals: true });
const file = positionals[0];
const exitCodeText = values["preview-exit-code"]!;
if (!/^\d+$/.test(exitCodeText)) {
  process.stderr.write(`preview gate: --preview-exit-code ${JSON.stringify(exitCodeText)} is not an exit status; pass the status of \`pulumi preview\` ($?)\n`);
  process.exit(2);
}
const exitCode = Number(exitCodeText);
let preview: PreviewDocument = {};
const text = readFileSync(file ?? 0, "utf8");
try {
  preview = text.trim() ? (JSON.parse(text) as PreviewDocument) : {};
} catch {
  if (exitCode === 0) {
    process.stderr.write(`preview gate: ${file ?? "stdin"} is not the JSON of \`pulumi preview --json\`\n`);
    process.exit(2);
  }
}
const violations = gate(preview, exitCode);
if (violations.length) {
  process.stderr.write(`preview gate: refused, ${violations.length} reason(s):\n${violations.map((v) => `  ${v}`).join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(`preview gate: ${(preview.steps ?? []).length} steps, no stateful resource replaced or deleted\n`);
