/**
 * Every credential the deployment uses, generated once with @pulumi/random (kept in state as
 * Pulumi secrets) and stored as Kubernetes Secrets, one per consumer. Nothing here ever reaches a
 * ConfigMap or a plain output: consumers mount or reference the Secret by name.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { componentLabels, DATABASE } from "./naming";

export interface SecretsArgs {
  namespace: pulumi.Input<string>;
  /** The call hosts' namespace: coturn reads the TURN secret there. */
  callHostsNamespace: pulumi.Input<string>;
  provider: k8s.Provider;
}

/** Kubernetes Secret names the other components reference. */
export const SECRET_NAMES = {
  synapse: "synapse-secrets",
  postgresOwner: "postgres-synapse-owner",
  redisSynapse: "redis-synapse-auth",
  redisLivekit: "redis-livekit-auth",
  minioRoot: "minio-root",
  minioSynapse: "minio-synapse-media",
  minioBackup: "minio-database-backups",
  livekitApi: "livekit-api",
  turn: "turn-shared-secret",
} as const;

const PASSWORD_LENGTH = 48;

/** Values a component renders into its own Secret-backed files (all Pulumi secrets). */
export interface SynapseSecretOutputs {
  macaroonSecretKey: pulumi.Output<string>;
  registrationSharedSecret: pulumi.Output<string>;
  formSecret: pulumi.Output<string>;
  workerReplicationSecret: pulumi.Output<string>;
  signingKey: pulumi.Output<string>;
}

export class Secrets extends pulumi.ComponentResource {
  readonly turnSharedSecret: pulumi.Output<string>;
  readonly livekitApiKey: pulumi.Output<string>;
  readonly livekitApiSecret: pulumi.Output<string>;
  readonly postgresPassword: pulumi.Output<string>;
  readonly redisSynapsePassword: pulumi.Output<string>;
  readonly redisLivekitPassword: pulumi.Output<string>;
  readonly synapse: SynapseSecretOutputs;
  readonly names = SECRET_NAMES;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:secrets:Secrets", name, {}, opts);
    // Protected: a `pulumi destroy` that stops at the protected data still deletes every unprotected
    // resource it reaches, and new credentials would lock the retained database and stores out.
    const child = { parent: this, protect: true };
    // Alphanumeric only: these values land in YAML, URLs and command lines unquoted.
    const password = (id: string) =>
      new random.RandomPassword(`${name}-${id}`, { length: PASSWORD_LENGTH, special: false }, child).result;
    const token = (id: string, length: number) =>
      new random.RandomString(`${name}-${id}`, { length, special: false, upper: false }, child).result;

    const signingSeed = new random.RandomBytes(`${name}-signing-key`, { length: 32 }, child);
    const signingKeyId = token("signing-key-id", 6);
    const signingKey = pulumi.secret(
      pulumi.interpolate`ed25519 a_${signingKeyId} ${signingSeed.base64.apply((b64) => b64.replace(/=+$/, ""))}`,
    );
    this.turnSharedSecret = password("turn");
    this.livekitApiKey = pulumi.secret(pulumi.interpolate`API${token("livekit-key", 12)}`);
    this.livekitApiSecret = password("livekit-secret");

    const store = (id: Exclude<keyof typeof SECRET_NAMES, "synapse">, stringData: Record<string, pulumi.Input<string>>, type = "Opaque", namespace = args.namespace, resourceName: string = SECRET_NAMES[id]) =>
      new k8s.core.v1.Secret(
        resourceName,
        {
          metadata: { name: SECRET_NAMES[id], namespace, labels: componentLabels("secrets") },
          type,
          stringData,
        },
        { ...child, provider: args.provider },
      );

    this.synapse = {
      macaroonSecretKey: password("macaroon"),
      registrationSharedSecret: password("registration"),
      formSecret: password("form"),
      workerReplicationSecret: password("replication"),
      signingKey,
    };
    this.postgresPassword = password("postgres-owner");
    this.redisSynapsePassword = password("redis-synapse");
    // The Synapse component renders its own Secret (config files) from `this.synapse`.
    store("postgresOwner", { username: DATABASE.owner, password: this.postgresPassword }, "kubernetes.io/basic-auth");
    store("redisSynapse", { password: this.redisSynapsePassword });
    this.redisLivekitPassword = password("redis-livekit");
    store("redisLivekit", { password: this.redisLivekitPassword });
    store("minioRoot", { rootUser: token("minio-root-user", 16), rootPassword: password("minio-root") });
    store("minioSynapse", { accessKey: token("minio-synapse-key", 20), secretKey: password("minio-synapse") });
    store("minioBackup", { accessKey: token("minio-backup-key", 20), secretKey: password("minio-backup") });
    store("livekitApi", { key: this.livekitApiKey, secret: this.livekitApiSecret });
    store("turn", { secret: this.turnSharedSecret });
    store("turn", { secret: this.turnSharedSecret }, "Opaque", args.callHostsNamespace, `${SECRET_NAMES.turn}-call-hosts`);

    this.registerOutputs({ names: SECRET_NAMES });
  }
}
