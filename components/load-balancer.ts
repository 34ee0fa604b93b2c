/**
 * Service annotations the AWS Load Balancer Controller reads: an internet-facing NLB with IP
 * targets (the pods' own addresses, no node hop), optionally TLS with an ACM certificate.
 */

/** Prefix of every annotation the controller reads on a Service. */
export const NLB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer";
/** The class the controller serves (the alternative to the `aws-load-balancer-type: external` annotation). */
export const NLB_LOAD_BALANCER_CLASS = "service.k8s.aws/nlb";
/** TLS 1.3 and 1.2 only. */
export const NLB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface NlbOptions {
  /** TLS ends at the NLB on these ports (numbers or port names) with this ACM certificate. */
  tls?: { certificateArn: string; ports: readonly (number | string)[] };
  /** Target group attributes, `key=value` each (e.g. `preserve_client_ip.enabled=true`). */
  targetGroupAttributes?: readonly string[];
  healthCheck?: { protocol: "http" | "tcp"; path?: string; intervalSeconds: number; timeoutSeconds: number; healthyThreshold: number; unhealthyThreshold: number };
}

export function internetFacingNlb(options: NlbOptions = {}): Record<string, string> {
  const a = NLB_ANNOTATION;
  const { tls, targetGroupAttributes, healthCheck } = options;
  return {
    // `external`: the in-tree cloud provider leaves the Service alone and the controller takes it.
    [`${a}-type`]: "external",
    [`${a}-nlb-target-type`]: "ip",
    [`${a}-scheme`]: "internet-facing",
    [`${a}-attributes`]: "load_balancing.cross_zone.enabled=true",
    ...(tls ? { [`${a}-ssl-cert`]: tls.certificateArn, [`${a}-ssl-ports`]: tls.ports.join(","), [`${a}-ssl-negotiation-policy`]: NLB_TLS_POLICY } : {}),
    ...(targetGroupAttributes?.length ? { [`${a}-target-group-attributes`]: targetGroupAttributes.join(",") } : {}),
    ...(healthCheck
      ? {
          [`${a}-healthcheck-protocol`]: healthCheck.protocol,
          [`${a}-healthcheck-port`]: "traffic-port",
          ...(healthCheck.path ? { [`${a}-healthcheck-path`]: healthCheck.path } : {}),
          [`${a}-healthcheck-interval`]: String(healthCheck.intervalSeconds),
          [`${a}-healthcheck-timeout`]: String(healthCheck.timeoutSeconds),
          [`${a}-healthcheck-healthy-threshold`]: String(healthCheck.healthyThreshold),
          [`${a}-healthcheck-unhealthy-threshold`]: String(healthCheck.unhealthyThreshold),
        }
      : {}),
  };
}
