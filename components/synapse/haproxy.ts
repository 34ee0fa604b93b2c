/** The HAProxy routing tier as plain Kubernetes objects (pure builders). */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../../sizing/types";
import { componentLabels, MONITORING_NAMESPACE, SERVICE_NAMES } from "../naming";
import { CHECKSUM_ANNOTATION, CONFIG_FILE } from "./manifests";
import { containerResources, poolPlacement, RESTRICTED_CONTAINER } from "../workload";
import { POD_PORTS } from "./topology";

export const HAPROXY_PORTS = { http: POD_PORTS.http, stats: 8405 } as const;
export const HAPROXY_SELECTOR = { "app.kubernetes.io/name": "haproxy", "app.kubernetes.io/component": "synapse-routing" };
const LABELS = componentLabels("synapse-routing", { "app.kubernetes.io/name": "haproxy" });
const CONFIG_DIR = "/usr/local/etc/haproxy";

export function haproxyDeployment(
  routing: Plan["routing"],
  namespace: string,
  image: string,
  configMap: pulumi.Input<string>,
  checksum: string,
): k8s.types.input.apps.v1.Deployment {
  const health = { httpGet: { path: "/healthz", port: "stats" } };
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
          securityContext: { runAsNonRoot: true, runAsUser: 99, runAsGroup: 99, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "haproxy",
              image,
              command: ["haproxy", "-db", "-f", `${CONFIG_DIR}/${CONFIG_FILE.haproxy}`],
              ports: [
                { name: "http", containerPort: HAPROXY_PORTS.http },
                { name: "stats", containerPort: HAPROXY_PORTS.stats },
              ],
              resources: containerResources(routing.haproxy.resources),
              readinessProbe: { ...health, periodSeconds: 5 },
              livenessProbe: { ...health, periodSeconds: 10, failureThreshold: 6 },
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name: configMap } },
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
}

/** On AWS an internet-facing NLB in front (client IPs preserved for federation balancing); elsewhere a ClusterIP for the operator's own load balancer. */
export function haproxyService(target: Plan["target"], namespace: string): k8s.types.input.core.v1.Service {
  return {
    metadata: {
      name: SERVICE_NAMES.haproxy,
      namespace,
      labels: LABELS,
      ...(target === "aws"
        ? {
            annotations: {
              "service.beta.kubernetes.io/aws-load-balancer-type": "external",
              "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
              "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
              "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
            },
          }
        : {}),
    },
    spec: {
      type: target === "aws" ? "LoadBalancer" : "ClusterIP",
      ...(target === "aws" ? { externalTrafficPolicy: "Local" } : {}),
      selector: HAPROXY_SELECTOR,
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    },
  };
}

export function haproxyNetworkPolicy(namespace: string): k8s.types.input.networking.v1.NetworkPolicy {
  return {
    metadata: { name: SERVICE_NAMES.haproxy, namespace, labels: LABELS },
    spec: {
      podSelector: { matchLabels: HAPROXY_SELECTOR },
      policyTypes: ["Ingress"],
      ingress: [
        { ports: [{ port: "http" }] },
        { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": MONITORING_NAMESPACE } } }], ports: [{ port: "stats" }] },
      ],
    },
  };
}
