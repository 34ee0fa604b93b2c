/** The deployment's network isolation: the NetworkPolicies generated from its flow list (flows.ts). */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { networkFlows, type FlowContext } from "./flows";
import { DEFAULT_DENY, networkPolicies } from "./policies";

export interface NetworkIsolationArgs extends FlowContext {
  provider: k8s.Provider;
}

export class NetworkIsolation extends pulumi.ComponentResource {
  constructor(name: string, args: NetworkIsolationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:network:NetworkIsolation", name, {}, opts);
    const { provider, ...context } = args;
    const policies = networkPolicies([context.namespace, context.callHostsNamespace], networkFlows(context));
    const declare = (policy: (typeof policies)[number], dependsOn: pulumi.Resource[] = []) =>
      new k8s.networking.v1.NetworkPolicy(`${policy.metadata.namespace}-${policy.metadata.name}`, policy, { parent: this, provider, dependsOn });
    // On a running deployment the denial lands last, once every connection it must keep is allowed.
    const allows = policies.filter((p) => p.metadata.name !== DEFAULT_DENY).map((p) => declare(p));
    for (const deny of policies.filter((p) => p.metadata.name === DEFAULT_DENY)) declare(deny, allows);
    this.registerOutputs({});
  }
}
