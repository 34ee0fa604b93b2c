/**
 * npm run gate -- preview.json   (or: pulumi preview --json | npm run gate)
 * Exit 1 and one line per violation when a preview would replace or delete stateful resources.
 */
import { readFileSync } from "node:fs";
import { gate, type PreviewDocument } from "./gate";

const file = process.argv[2];
const text = readFileSync(file ?? 0, "utf8");
let preview: PreviewDocument;
try {
  preview = JSON.parse(text) as PreviewDocument;
} catch {
  process.stderr.write(`preview gate: ${file ?? "stdin"} is not the JSON of \`pulumi preview --json\`\n`);
  process.exit(2);
}
const violations = gate(preview);
if (violations.length) {
  process.stderr.write(`preview gate: refused, ${violations.length} stateful change(s):\n${violations.map((v) => `  ${v}`).join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(`preview gate: ${(preview.steps ?? []).length} steps, no stateful resource replaced or deleted\n`);
