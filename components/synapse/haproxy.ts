/** The HAProxy routing tier as plain Kubernetes objects (pure builders). */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../../sizing/types";
import { componentLabels, ESSENTIAL_PRIORITY, SERVICE_NAMES, TLS_POLICY_ANNOTATIONS } from "../naming";
import { internetFacingNlb, NLB_ANNOTATION } from "../load-balancer";
import { CHECKSUM_ANNOTATION, CONFIG_FILE } from "./manifests";
import { containerResources, poolPlacement, RESTRICTED_CONTAINER } from "../workload";

/** HTTPS (client and federation), HTTP (redirects only), metrics and health. */
export const HAPROXY_PORTS = { https: 8443, http: 8080, stats: 8405 } as const;
export const HAPROXY_SELECTOR = { "app.kubernetes.io/name": "haproxy", "app.kubernetes.io/component": "synapse-routing" };
const LABELS = componentLabels("synapse-routing", { "app.kubernetes.io/name": "haproxy" });
const CONFIG_DIR = "/usr/local/etc/haproxy";
const TLS_DIR = "/usr/local/etc/haproxy-tls";
/** Where HAProxy reads the certificate when it terminates TLS (the key is `tls.key` beside it). */
export const HAPROXY_CERTIFICATE = `${TLS_DIR}/tls.crt`;

export function haproxyDeployment(
  routing: Plan["routing"],
  namespace: string,
  image: string,
  configMap: pulumi.Input<string>,
  checksum: string,
): k8s.types.input.apps.v1.Deployment {
  const health = { httpGet: { path: "/healthz", port: "stats" }, timeoutSeconds: routing.edge.healthCheck.timeoutSeconds };
  const tls = routing.edge.tls.terminatesAt === "haproxy" ? routing.edge.tls.secretName : undefined;
  return {
    metadata: { name: SERVICE_NAMES.haproxy, namespace, labels: LABELS },
    spec: {
      replicas: routing.haproxy.replicas,
      selector: { matchLabels: HAPROXY_SELECTOR },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: LABELS, annotations: { [CHECKSUM_ANNOTATION]: checksum } },
        spec: {
          ...poolPlacement(routing.haproxy.pool, HAPROXY_SELECTOR, false),
          priorityClassName: ESSENTIAL_PRIORITY.name,
          // fsGroup: the kubelet gives the TLS Secret's files to this group (0440), or uid 99 could not read the key.
          securityContext: { runAsNonRoot: true, runAsUser: 99, runAsGroup: 99, fsGroup: 99, fsGroupChangePolicy: "OnRootMismatch", seccompProfile: { type: "RuntimeDefault" } },
          // Behind the NLB: keep serving while the target deregisters, then let long-polls finish.
          terminationGracePeriodSeconds: routing.edge.loadBalancer.haproxyTerminationGraceSeconds,
          containers: [
            {
              name: "haproxy",
              image,
              command: ["haproxy", "-db", "-f", `${CONFIG_DIR}/${CONFIG_FILE.haproxy}`],
              ports: [
                { name: "https", containerPort: HAPROXY_PORTS.https },
                { name: "http", containerPort: HAPROXY_PORTS.http },
                { name: "stats", containerPort: HAPROXY_PORTS.stats },
              ],
              resources: containerResources(routing.haproxy.resources),
              lifecycle: { preStop: { sleep: { seconds: routing.edge.loadBalancer.haproxyPreStopSeconds } } },
              readinessProbe: { ...health, periodSeconds: 5 },
              livenessProbe: { ...health, periodSeconds: 10, failureThreshold: 6 },
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                ...(tls ? [{ name: "tls", mountPath: TLS_DIR, readOnly: true }] : []),
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: configMap } },
            ...(tls ? [{ name: "tls", secret: { secretName: tls, defaultMode: 0o440 } }] : []),
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
}

/**
 * On AWS an internet-facing NLB from the AWS Load Balancer Controller, IP targets, the client's
 * address passed with PROXY protocol v2, TLS ending at the NLB with the ACM certificate.
 * Elsewhere a ClusterIP for the operator's own load balancer. Port 80 only redirects to HTTPS.
 */
export function haproxyService(routing: Plan["routing"], target: Plan["target"], namespace: string): k8s.types.input.core.v1.Service {
  const aws = target === "aws";
  const { tls, loadBalancer } = routing.edge;
  return {
    metadata: {
      name: SERVICE_NAMES.haproxy,
      namespace,
      labels: LABELS,
      annotations: {
        [TLS_POLICY_ANNOTATIONS.redirectOnlyPorts]: "80",
        ...(aws
          ? {
              ...internetFacingNlb({
                ...(tls.terminatesAt === "load-balancer" ? { tls: { certificateArn: tls.certificateArn, ports: [443] } } : {}),
                targetGroupAttributes: [`deregistration_delay.timeout_seconds=${loadBalancer.deregistrationSeconds}`],
              }),
              [`${NLB_ANNOTATION}-proxy-protocol`]: "*",
            }
          : {}),
        ...(tls.terminatesAt === "haproxy" ? { [TLS_POLICY_ANNOTATIONS.tls]: "passthrough" } : {}),
      },
    },
    spec: {
      type: aws ? "LoadBalancer" : "ClusterIP",
      selector: HAPROXY_SELECTOR,
      ports: [
        { name: "https", port: 443, targetPort: "https" },
        { name: "http", port: 80, targetPort: "http" },
      ],
    },
  };
}

