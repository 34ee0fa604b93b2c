/**
 * NetworkPolicies from the flow list (pure): per namespace the program owns, one policy that denies
 * all ingress and egress and one that lets every pod resolve names; then per group of the program's
 * pods, one policy holding every flow that starts or ends there. A flow between two of the program's
 * groups opens both ends; a flow to or from anything else opens the one end the program owns.
 */
import type * as k8s from "@pulumi/kubernetes";
import { componentLabels } from "../naming";
import { CLUSTER_DNS, DNS_PORTS, type Flow, type FlowPort, type OwnPods, type Peer } from "./flows";

interface NetworkPolicy {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: k8s.types.input.networking.v1.NetworkPolicySpec;
}
type PolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const LABELS = componentLabels("network-policy");

/** How `peer` is written in a policy of `namespace`. */
export function policyPeers(peer: Peer, namespace: string): PolicyPeer[] {
  if (peer.kind === "cidrs") return peer.cidrs.map((cidr) => ({ ipBlock: { cidr, ...(peer.except?.length ? { except: [...peer.except] } : {}) } }));
  const pods = peer.selector ? { podSelector: { matchLabels: { ...peer.selector } } } : {};
  if (peer.kind === "pods" && peer.namespace === namespace) return [pods];
  return [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } }, ...pods }];
}

const policyPorts = (ports: readonly FlowPort[]) => (ports.length ? { ports: ports.map(({ port, protocol }) => ({ port, protocol: protocol ?? "TCP" })) } : {});

const sameGroup = (a: Peer, b: OwnPods) => a.kind === "pods" && a.name === b.name && a.namespace === b.namespace;

/** The program's pod groups, each once, in the order the flows name them. */
export function ownGroups(flows: readonly Flow[]): OwnPods[] {
  const groups: OwnPods[] = [];
  for (const peer of flows.flatMap((f) => [f.from, f.to])) if (peer.kind === "pods" && !groups.some((g) => sameGroup(peer, g))) groups.push(peer);
  return groups;
}

export function groupPolicy(group: OwnPods, flows: readonly Flow[]): NetworkPolicy {
  const ingress = flows.filter((f) => sameGroup(f.to, group)).map((f) => ({ from: policyPeers(f.from, group.namespace), ...policyPorts(f.ports) }));
  const egress = flows.filter((f) => sameGroup(f.from, group)).map((f) => ({ to: policyPeers(f.to, group.namespace), ...policyPorts(f.ports) }));
  return {
    metadata: { name: `allow-${group.name}`, namespace: group.namespace, labels: LABELS },
    spec: {
      podSelector: { matchLabels: { ...group.selector } },
      policyTypes: [...(ingress.length ? ["Ingress"] : []), ...(egress.length ? ["Egress"] : [])],
      ...(ingress.length ? { ingress } : {}),
      ...(egress.length ? { egress } : {}),
    },
  };
}

export const DEFAULT_DENY = "default-deny";

/** Nothing in or out of the namespace's pods unless another policy allows it. */
export function defaultDeny(namespace: string): NetworkPolicy {
  return { metadata: { name: DEFAULT_DENY, namespace, labels: LABELS }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } };
}

/** Every pod of the namespace may ask the cluster's DNS. */
export function dnsEgress(namespace: string): NetworkPolicy {
  return {
    metadata: { name: "allow-dns", namespace, labels: LABELS },
    spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: policyPeers(CLUSTER_DNS, namespace), ...policyPorts(DNS_PORTS) }] },
  };
}

export function networkPolicies(namespaces: readonly string[], flows: readonly Flow[]): NetworkPolicy[] {
  return [...namespaces.flatMap((ns) => [defaultDeny(ns), dnsEgress(ns)]), ...ownGroups(flows).map((g) => groupPolicy(g, flows))];
}
