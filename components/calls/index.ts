/**
 * Call hosts: LiveKit and coturn, one process per call node (host networking, required
 * anti-affinity across both, the calls pool's taint tolerated), counts and sizes from the plan;
 * lk-jwt-service for Element Call; LiveKit's API/WebSocket behind a load balancer.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CALL_SERVICE_LABEL } from "../../sizing/inventory";
import type { Plan } from "../../sizing/types";
import { internetFacingNlb, type NlbOptions } from "../load-balancer";
import { componentLabels, ESSENTIAL_PRIORITY, LK_JWT, publicNames, SERVICE_NAMES } from "../naming";
import { SECRET_NAMES } from "../secrets";
import { COTURN_IMAGE, CURL_IMAGE, LIVEKIT_IMAGE, LK_JWT_SERVICE_IMAGE } from "../versions";
import { containerResources, disruptionBudget, poolPlacement, RESTRICTED_CONTAINER } from "../workload";
import { LIVEKIT_PORTS, lkJwtServiceEnv, renderLivekitConfig, renderTurnserverConf, TURN_PORT } from "./config";

/** coturn's Prometheus endpoint (the image is built with it; Debian's package is not). */
export const COTURN_METRICS_PORT = 9641;

/** The NLB's check of LiveKit's HTTP port: the same path as the readiness probe. */
const LIVEKIT_HEALTH_CHECK: NonNullable<NlbOptions["healthCheck"]> = { protocol: "http", path: "/", intervalSeconds: 10, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2 };

/** Label every call process carries: the anti-affinity on it keeps one call process per host. */
export const CALL_HOST_LABEL = { "matrix-scale/call-host": "true" };

export interface CallsArgs {
  livekit: Plan["livekit"];
  coturn: Plan["coturn"];
  serverName: string;
  target: Plan["target"];
  /** Namespace of lk-jwt-service (an ordinary workload). */
  namespace: string;
  /** Namespace of LiveKit and coturn (host networking), see callHostsNamespace. */
  hostNamespace: pulumi.Input<string>;
  provider: k8s.Provider;
  /** The PriorityClass lk-jwt-service runs at (Cluster.essentialPriority). */
  essentialPriority: pulumi.Resource;
  livekitSentinels: string[];
  /** Cluster ranges TURN must also refuse (VPC, pods, services) when not already private. */
  clusterCidrs: string[];
  certificateArn?: string;
  /** What the load-balancer Service waits for (on AWS: the load balancer controller). */
  serviceDependsOn?: pulumi.Resource[];
  secrets: {
    turnSharedSecret: pulumi.Output<string>;
    livekitApiKey: pulumi.Output<string>;
    livekitApiSecret: pulumi.Output<string>;
    redisLivekitPassword: pulumi.Output<string>;
  };
}

export class Calls extends pulumi.ComponentResource {
  constructor(name: string, args: CallsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:calls:Calls", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const ns = args.namespace;
    const hostNs = args.hostNamespace;
    const names = publicNames(args.serverName);
    const s = args.secrets;

    // Auto-named like the ConfigMaps: a changed configuration is a new Secret, created before the old
    // one goes, and the new name rolls LiveKit. A fixed name would be deleted first (the provider
    // replaces a Secret whose data changes) and the engine would replace the Deployment with it.
    const livekitSecret = new k8s.core.v1.Secret(
      "livekit-config",
      {
        metadata: { namespace: hostNs, labels: componentLabels("livekit") },
        stringData: {
          "livekit.yaml": s.redisLivekitPassword.apply((redisPassword) => renderLivekitConfig(args.livekit, { sentinels: args.livekitSentinels, redisPassword, useExternalIp: true })),
          keys: pulumi.interpolate`${s.livekitApiKey}: ${s.livekitApiSecret}`,
        },
      },
      child,
    );
    const turnConfig = new k8s.core.v1.ConfigMap(
      "coturn",
      {
        metadata: { namespace: hostNs, labels: componentLabels("coturn") },
        immutable: true,
        data: { "turnserver.conf": renderTurnserverConf(args.coturn, { realm: args.serverName, extraDeniedCidrs: args.clusterCidrs }) },
      },
      child,
    );

    const hostDeployment = (app: "livekit" | "coturn", spec: Plan["coturn"], pod: Omit<k8s.types.input.core.v1.PodSpec, "containers"> & { containers: k8s.types.input.core.v1.Container[] }) => {
      const selector = { "app.kubernetes.io/name": app };
      const labels = { ...componentLabels(app, selector), ...CALL_HOST_LABEL };
      const placement = poolPlacement(spec.pool, selector, CALL_HOST_LABEL);
      new k8s.apps.v1.Deployment(
        app,
        {
          metadata: { name: app, namespace: hostNs, labels },
          spec: {
            replicas: spec.instances,
            selector: { matchLabels: selector },
            // One per host: a surge pod would have no free host, so replace in place, one at a time.
            strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
            template: {
              metadata: { labels },
              spec: {
                // One call process per host (any of them), on the service's own nodes (see nodeGroups),
                // each service spread over zones by itself.
                ...placement,
                nodeSelector: { ...placement.nodeSelector, [CALL_SERVICE_LABEL]: app },
                hostNetwork: true,
                dnsPolicy: "ClusterFirstWithHostNet",
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                ...pod,
              },
            },
          },
        },
        child,
      );
      new k8s.policy.v1.PodDisruptionBudget(app, disruptionBudget(app, hostNs, labels, selector), child);
    };

    hostDeployment("livekit", args.livekit, {
      containers: [
        {
          name: "livekit",
          image: LIVEKIT_IMAGE,
          args: ["--config", "/etc/livekit/livekit.yaml"],
          env: [{ name: "LIVEKIT_KEYS", valueFrom: { secretKeyRef: { name: livekitSecret.metadata.name, key: "keys" } } }],
          ports: [
            { name: "http", containerPort: LIVEKIT_PORTS.http },
            { name: "rtc-tcp", containerPort: LIVEKIT_PORTS.rtcTcp },
            { name: "metrics", containerPort: LIVEKIT_PORTS.metrics },
          ],
          resources: containerResources(args.livekit.resources),
          readinessProbe: { httpGet: { path: "/", port: LIVEKIT_PORTS.http }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: "/", port: LIVEKIT_PORTS.http }, periodSeconds: 10, failureThreshold: 6 },
          securityContext: RESTRICTED_CONTAINER,
          volumeMounts: [{ name: "config", mountPath: "/etc/livekit", readOnly: true }],
        },
      ],
      volumes: [{ name: "config", secret: { secretName: livekitSecret.metadata.name, items: [{ key: "livekit.yaml", path: "livekit.yaml" }] } }],
    });

    // coturn listens on the node's address; its public address comes from the instance metadata
    // service on AWS (written by the init container), else TURN advertises the node address.
    hostDeployment("coturn", args.coturn, {
      initContainers: [
        {
          name: "public-address",
          image: CURL_IMAGE,
          command: [
            "sh",
            "-c",
            'T=$(curl -s -m 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token || true); ' +
              'curl -s -m 2 -H "X-aws-ec2-metadata-token: $T" http://169.254.169.254/latest/meta-data/public-ipv4 > /run/turn/public-ip || true',
          ],
          resources: containerResources(args.coturn.resources),
          securityContext: RESTRICTED_CONTAINER,
          volumeMounts: [{ name: "runtime", mountPath: "/run/turn" }],
        },
      ],
      containers: [
        {
          name: "coturn",
          image: COTURN_IMAGE,
          command: [
            "sh",
            "-c",
            'PUBLIC=$(cat /run/turn/public-ip 2>/dev/null); exec turnserver -c /etc/coturn/turnserver.conf --listening-ip="$HOST_IP" --relay-ip="$HOST_IP" ' +
              '${PUBLIC:+--external-ip="$PUBLIC/$HOST_IP"} --static-auth-secret="$TURN_SECRET" --pidfile=/run/turn/turnserver.pid ' +
              `--prometheus --prometheus-port=${COTURN_METRICS_PORT}`,
          ],
          env: [
            { name: "HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
            { name: "TURN_SECRET", valueFrom: { secretKeyRef: { name: "turn-shared-secret", key: "secret" } } },
          ],
          ports: [
            { name: "turn-udp", containerPort: TURN_PORT, protocol: "UDP" },
            { name: "turn-tcp", containerPort: TURN_PORT, protocol: "TCP" },
            { name: "metrics", containerPort: COTURN_METRICS_PORT },
          ],
          resources: containerResources(args.coturn.resources),
          readinessProbe: { tcpSocket: { port: TURN_PORT }, periodSeconds: 5 },
          securityContext: RESTRICTED_CONTAINER,
          volumeMounts: [
            { name: "config", mountPath: "/etc/coturn", readOnly: true },
            { name: "runtime", mountPath: "/run/turn" },
          ],
        },
      ],
      volumes: [
        { name: "config", configMap: { name: turnConfig.metadata.name } },
        { name: "runtime", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
      ],
    });

    const aws = args.target === "aws";
    const tls = aws && args.certificateArn ? { certificateArn: args.certificateArn, ports: [443] } : undefined;
    new k8s.core.v1.Service(
      SERVICE_NAMES.livekit,
      {
        metadata: {
          name: SERVICE_NAMES.livekit,
          namespace: hostNs,
          labels: componentLabels("livekit"),
          ...(aws
            ? {
                annotations: internetFacingNlb({
                  tls,
                  // LiveKit sees the client's own address (it speaks no PROXY protocol).
                  targetGroupAttributes: ["preserve_client_ip.enabled=true"],
                  healthCheck: LIVEKIT_HEALTH_CHECK,
                }),
              }
            : {}),
        },
        spec: {
          type: aws ? "LoadBalancer" : "ClusterIP",
          selector: { "app.kubernetes.io/name": "livekit" },
          ports: [{ name: tls ? "https" : "http", port: tls ? 443 : 80, targetPort: LIVEKIT_PORTS.http }],
        },
      },
      { ...child, dependsOn: args.serviceDependsOn ?? [] },
    );

    const jwt = args.livekit.jwtService;
    const jwtSelector = LK_JWT.selector;
    const jwtLabels = componentLabels(SERVICE_NAMES.lkJwt, jwtSelector);
    new k8s.apps.v1.Deployment(
      SERVICE_NAMES.lkJwt,
      {
        metadata: { name: SERVICE_NAMES.lkJwt, namespace: ns, labels: jwtLabels },
        spec: {
          replicas: jwt.replicas,
          selector: { matchLabels: jwtSelector },
          template: {
            metadata: { labels: jwtLabels },
            spec: {
              ...poolPlacement(jwt.pool, jwtSelector, false),
              priorityClassName: ESSENTIAL_PRIORITY.name,
              securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "lk-jwt-service",
                  image: LK_JWT_SERVICE_IMAGE,
                  env: [
                    ...Object.entries(lkJwtServiceEnv({ livekitUrl: `wss://${names.livekit}`, port: LK_JWT.port, fullAccessHomeservers: [args.serverName] })).map(([name, value]) => ({ name, value })),
                    { name: "LIVEKIT_KEY", valueFrom: { secretKeyRef: { name: SECRET_NAMES.livekitApi, key: "key" } } },
                    { name: "LIVEKIT_SECRET", valueFrom: { secretKeyRef: { name: SECRET_NAMES.livekitApi, key: "secret" } } },
                  ],
                  ports: [{ name: "http", containerPort: LK_JWT.port }],
                  resources: containerResources(jwt.resources),
                  readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10 },
                  securityContext: RESTRICTED_CONTAINER,
                },
              ],
            },
          },
        },
      },
      { ...child, dependsOn: [args.essentialPriority] },
    );
    new k8s.core.v1.Service(SERVICE_NAMES.lkJwt, { metadata: { name: SERVICE_NAMES.lkJwt, namespace: ns, labels: jwtLabels }, spec: { selector: jwtSelector, ports: [{ name: "http", port: LK_JWT.port, targetPort: "http" }] } }, child);
    new k8s.policy.v1.PodDisruptionBudget(SERVICE_NAMES.lkJwt, disruptionBudget(SERVICE_NAMES.lkJwt, ns, jwtLabels, jwtSelector), child);
    this.registerOutputs({});
  }
}
