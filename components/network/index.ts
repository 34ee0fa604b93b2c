/** The deployment's network isolation: the NetworkPolicies generated from its flow list (flows.ts). */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { networkFlows, type FlowContext } from "./flows";
import { networkPolicies } from "./policies";

export interface NetworkIsolationArgs extends FlowContext {
  provider: k8s.Provider;
}

export class NetworkIsolation extends pulumi.ComponentResource {
  constructor(name: string, args: NetworkIsolationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:network:NetworkIsolation", name, {}, opts);
    const { provider, ...context } = args;
    for (const policy of networkPolicies([context.namespace, context.callHostsNamespace], networkFlows(context))) {
      new k8s.networking.v1.NetworkPolicy(`${policy.metadata.namespace}-${policy.metadata.name}`, policy, { parent: this, provider });
    }
    this.registerOutputs({});
  }
}
