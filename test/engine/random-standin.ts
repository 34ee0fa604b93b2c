/**
 * TEST-ONLY STAND-IN for the `random` resource provider (pulumi-resource-random), used by the engine
 * tests because the Go module proxy does not serve the real provider. Never used by operators:
 * `pulumi up` with the Pulumi CLI installs the real plugin. scripts/install-pulumi.sh installs this
 * file as the plugin version @pulumi/random asks for.
 *
 * It implements exactly the resources the program declares (components/secrets.ts) with the real
 * provider's contract for them: values generated once at create from a CSPRNG; every input forces a
 * replacement; RandomPassword `result`/`bcryptHash` and RandomBytes `base64`/`hex` are marked secret
 * by the SDK itself (additionalSecretOutputs), so the engine treats them as the real ones.
 */
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import * as provider from "@pulumi/pulumi/provider";

const RANDOM_VERSION: string = require("@pulumi/random/package.json").pulumi.version;

const ALPHABETS = {
  upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  lower: "abcdefghijklmnopqrstuvwxyz",
  numeric: "0123456789",
  special: "!@#$%&*()-_=+[]{}<>:?",
} as const;

interface StringInputs {
  length: number;
  upper?: boolean;
  lower?: boolean;
  numeric?: boolean;
  special?: boolean;
  overrideSpecial?: string;
}

export function randomText(inputs: StringInputs): string {
  const pick = (flag: boolean | undefined) => flag !== false;
  const alphabet = [
    pick(inputs.upper) ? ALPHABETS.upper : "",
    pick(inputs.lower) ? ALPHABETS.lower : "",
    pick(inputs.numeric) ? ALPHABETS.numeric : "",
    pick(inputs.special) ? (inputs.overrideSpecial ?? ALPHABETS.special) : "",
  ].join("");
  if (!alphabet) throw new Error("random stand-in: no character class enabled");
  return Array.from({ length: inputs.length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** The resource's own type: the last of the URN's type chain (parent types come first, `$`-joined). */
const typeOf = (urn: string) => urn.split("::")[2]!.split("$").pop()!;

function outputs(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      // bcryptHash is not used by the program; the real provider would compute one.
      return { ...inputs, result: randomText(inputs as unknown as StringInputs), bcryptHash: "" };
    case "random:index/randomString:RandomString":
      return { ...inputs, result: randomText(inputs as unknown as StringInputs) };
    case "random:index/randomBytes:RandomBytes": {
      const bytes = randomBytes(Number(inputs.length));
      return { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    default:
      throw new Error(`random stand-in: ${type} is not implemented (the program does not declare it)`);
  }
}

const OUTPUTS_ONLY = new Set(["result", "bcryptHash", "base64", "hex"]);



/** The inputs the stand-in implements, per type, with the real provider's defaults. Any other input is refused. */
const INPUTS: Record<string, Record<string, unknown>> = {
  "random:index/randomPassword:RandomPassword": { upper: true, lower: true, numeric: true, special: true },
  "random:index/randomString:RandomString": { upper: true, lower: true, numeric: true, special: true },
  "random:index/randomBytes:RandomBytes": {},
};
const IMPLEMENTED = new Set(["length", "upper", "lower", "numeric", "special", "overrideSpecial"]);

const standIn: provider.Provider = {
  version: RANDOM_VERSION,
  async check(urn, _olds, news) {
    const defaults = INPUTS[typeOf(urn)];
    if (!defaults) return { failures: [{ property: "", reason: `random stand-in: ${typeOf(urn)} is not implemented (the program does not declare it)` }] };
    const unsupported = Object.keys(news).filter((k) => k !== "__defaults" && !IMPLEMENTED.has(k) && !(k in defaults));
    if (unsupported.length) return { failures: unsupported.map((property) => ({ property, reason: "random stand-in: this input is not implemented (the program does not set it)" })) };
    const length = Number(news.length);
    if (!Number.isInteger(length) || length < 1) return { failures: [{ property: "length", reason: "length must be a positive integer" }] };
    return { inputs: { ...defaults, ...news } };
  },
  async diff(_id, _urn, olds, news) {
    // olds are the last state: inputs plus generated values; only inputs take part in the diff.
    const keys = new Set([...Object.keys(news), ...Object.keys(olds)].filter((k) => !OUTPUTS_ONLY.has(k) && k !== "__defaults"));
    const replaces = [...keys].filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
  async create(urn, inputs) {
    const outs = outputs(typeOf(urn), inputs);
    // As the real provider: a RandomString's id is its result; the others have an opaque id.
    return { id: typeOf(urn) === "random:index/randomString:RandomString" ? String(outs.result) : randomUUID(), outs };
  },
  async read(id, _urn, props) {
    return { id, props };
  },
  async delete() {},
};

void provider.main(standIn, process.argv.slice(2));
