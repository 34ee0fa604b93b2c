/**
 * `npm run -s images -- --stack <name>`: the images a stack deploys that this project builds
 * (.github/workflows/images.yml), or the stack's own replacements, one per line. The workflow waits
 * for each to be in its registry before `pulumi up`: a pod must never wait for an image still building.
 */
import { parseSettings } from "../sizing";
import { readStackFile } from "./stackfile";
import { MC_IMAGE, MINIO_IMAGE, SYNAPSE_IMAGE } from "../components/versions";

export function builtImages(raw: Record<string, unknown>): string[] {
  const { kubernetes } = parseSettings(raw);
  return [kubernetes.synapseImage ?? SYNAPSE_IMAGE, kubernetes.minioImage ?? MINIO_IMAGE, kubernetes.mcImage ?? MC_IMAGE];
}

if (require.main === module) {
  const at = process.argv.indexOf("--stack");
  const stack = at > 0 ? process.argv[at + 1] : undefined;
  if (!stack) {
    console.error("usage: npm run -s images -- --stack <name>");
    process.exit(2);
  }
  console.log(builtImages(readStackFile(stack)).join("\n"));
}
