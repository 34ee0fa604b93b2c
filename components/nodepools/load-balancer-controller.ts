/**
 * The AWS Load Balancer Controller from its pinned chart, in kube-system: it creates the NLBs for
 * Services marked `aws-load-balancer-type: external` (or of its load balancer class), which the
 * in-tree cloud provider leaves alone. Its IAM role trusts exactly its service account (IRSA) and
 * carries the controller's published policy as a customer-managed policy.
 */
import * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PoolRole } from "../../sizing/settings";
import { AWS_LOAD_BALANCER_CONTROLLER_CHART, AWS_LOAD_BALANCER_CONTROLLER_VERSION } from "../versions";
import type { Resources } from "../../sizing/types";
import { containerResources, pinnedChart, poolPlacement, type ChartOptions } from "../workload";
import { irsaRole, type ServiceAccountRef } from "./irsa";
import { awsTags } from "./network";
/**
 * The controller's IAM policy as the npm package @aws-quickstart/eks-blueprints 1.19.0 publishes it
 * (dist/addons/aws-loadbalancer-controller/iam-policy.js, for the `aws` partition), next to its
 * default chart 3.4.0; upstream's docs/install/iam_policy.json has had the same statements since
 * v2.13. test/components/load-balancing.test.ts compares the two (scripts/install-eks-blueprints.sh).
 */
import CONTROLLER_POLICY from "./aws-load-balancer-controller-policy.json";

export const CONTROLLER_SERVICE_ACCOUNT: ServiceAccountRef = { namespace: "kube-system", name: "aws-load-balancer-controller" };
const CONTROLLER_CHART = { chart: "aws-load-balancer-controller", repo: "https://aws.github.io/eks-charts" } as const;
/** The chart's pod labels (its release is named after the chart). */
const CONTROLLER_SELECTOR = { "app.kubernetes.io/name": "aws-load-balancer-controller" };

export interface LoadBalancerControllerArgs {
  clusterName: pulumi.Input<string>;
  region: string;
  vpcId: pulumi.Input<string>;
  /** The cluster's OIDC provider, which the controller's role trusts. */
  oidcProvider: aws.iam.OpenIdConnectProvider;
  provider: k8s.Provider;
  pool: PoolRole;
  /** The plan's `routing.loadBalancerController`. */
  size: { replicas: number; resources: Resources };
  charts?: ChartOptions;
}

function controllerValues(args: Pick<LoadBalancerControllerArgs, "clusterName" | "region" | "vpcId" | "pool" | "size">, roleArn: pulumi.Input<string>): Record<string, unknown> {
  return {
    clusterName: args.clusterName,
    region: args.region,
    vpcId: args.vpcId,
    replicaCount: args.size.replicas,
    image: { tag: AWS_LOAD_BALANCER_CONTROLLER_VERSION },
    serviceAccount: { create: true, name: CONTROLLER_SERVICE_ACCOUNT.name, annotations: { "eks.amazonaws.com/role-arn": roleArn } },
    // A LoadBalancer Service that does not ask for this controller (type `external` or its class) keeps its own.
    enableServiceMutatorWebhook: false,
    // The webhook certificate in the cluster is looked up and kept (Chart v4 renders as `helm template
    // --dry-run=server`); otherwise every render makes a new one and every update replaces it.
    keepTLSSecret: true,
    resources: containerResources(args.size.resources),
    podDisruptionBudget: { maxUnavailable: 1 },
    ...poolPlacement(args.pool, CONTROLLER_SELECTOR, false),
  };
}

export class LoadBalancerController extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly chart: k8s.helm.v4.Chart;

  constructor(name: string, args: LoadBalancerControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:nodepools:LoadBalancerController", name, {}, opts);
    const child = { parent: this };
    const id = `${name}-aws-load-balancer-controller`;
    const policy = new aws.iam.Policy(id, { description: `AWS Load Balancer Controller ${AWS_LOAD_BALANCER_CONTROLLER_VERSION}`, policy: JSON.stringify(CONTROLLER_POLICY), tags: awsTags(id) }, child);
    this.role = irsaRole(id, args.oidcProvider, CONTROLLER_SERVICE_ACCOUNT, awsTags(id), child);
    const attachment = new aws.iam.RolePolicyAttachment(id, { role: this.role.name, policyArn: policy.arn }, child);
    this.chart = pinnedChart(
      CONTROLLER_CHART.chart,
      { ...CONTROLLER_CHART, version: AWS_LOAD_BALANCER_CONTROLLER_CHART, namespace: CONTROLLER_SERVICE_ACCOUNT.namespace, values: controllerValues(args, this.role.arn) },
      { parent: this, provider: args.provider, dependsOn: [attachment] },
      args.charts,
    );
    this.registerOutputs({});
  }
}
