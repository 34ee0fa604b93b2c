/**
 * The hardware tier on AWS: a VPC across three zones (or an existing one), an EKS cluster with
 * access entries and control-plane logs, one managed node group per inventory role with the plan's
 * instance type, count, disk, labels and taints, the EBS CSI driver with its IAM role, and the
 * kubeconfig every workload's provider uses. @pulumi/aws directly, so the mock runtime sees it all.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NodeGroupSpec } from "../../sizing/inventory";
import type { Settings } from "../../sizing/settings";
import type { InventoryRow, Plan } from "../../sizing/types";
import { LIVEKIT_PORTS, TURN_PORT } from "../calls/config";
import { componentLabels } from "../naming";
import { irsaRole } from "./irsa";
import { awsTags as tags, callHostIngress, subnetCidrs } from "./network";
import { ZONE_COUNT } from "../../sizing/inventory";

export { LoadBalancerController } from "./load-balancer-controller";
export { backupRole } from "./backup";

/**
 * The region's first three availability zones by name (names differ by region and account: not
 * every region has an `a`, `b` and `c`). Local and Wavelength zones are not availability zones. No
 * state filter: a zone that is impaired during an incident must not change the list (its subnets
 * and node groups are named by zone), and new zones take later letters.
 */
export async function regionZones(): Promise<string[]> {
  const found = await aws.getAvailabilityZones({ allAvailabilityZones: false, filters: [{ name: "zone-type", values: ["availability-zone"] }] });
  if (found.names.length < ZONE_COUNT) throw new Error(`the region has ${found.names.length} availability zones; matrix-scale needs ${ZONE_COUNT}`);
  return [...found.names].sort().slice(0, ZONE_COUNT);
}

export interface NodePoolsArgs {
  aws: Settings["aws"];
  /** Three availability zones of the region (settings, or regionZones). */
  zones: readonly string[];
  inventory: readonly InventoryRow[];
  calls: Pick<Plan, "livekit" | "coturn">;
  /** The node groups to create (sizing's nodeGroups). */
  groups: readonly NodeGroupSpec[];
}

const assumeRole = (service: string) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });

export class NodePools extends pulumi.ComponentResource {
  readonly kubeconfig: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  readonly vpcCidr: string;
  /** The public subnets' ranges, where the call hosts' node addresses are. */
  readonly callHostCidrs: pulumi.Input<string>[];
  readonly vpcId: pulumi.Output<string>;
  /** The cluster's OIDC identity provider: what IRSA roles trust. */
  readonly oidcProvider: aws.iam.OpenIdConnectProvider;

  constructor(name: string, args: NodePoolsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("matrix-scale:nodepools:NodePools", name, {}, opts);
    const child = { parent: this };
    const zones = args.zones;
    this.vpcCidr = args.aws.vpcCidr;

    let privateSubnets: pulumi.Input<string>[];
    let publicSubnets: pulumi.Input<string>[];
    let vpcId: pulumi.Input<string>;
    if (args.aws.vpcId) {
      vpcId = args.aws.vpcId;
      privateSubnets = args.aws.privateSubnetIds!;
      publicSubnets = args.aws.publicSubnetIds!;
      this.callHostCidrs = publicSubnets.map((id) => aws.ec2.getSubnetOutput({ id }, child).cidrBlock);
    } else {
      const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: this.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags(`${name}-vpc`) }, child);
      vpcId = vpc.id;
      const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags(`${name}-igw`) }, child);
      const publicRoutes = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags(`${name}-public`) }, child);
      const cidrs = subnetCidrs(this.vpcCidr, zones.length);
      this.callHostCidrs = cidrs.public;
      publicSubnets = zones.map((zone, i) => {
        const subnet = new aws.ec2.Subnet(
          `${name}-public-${zone}`,
          { vpcId: vpc.id, cidrBlock: cidrs.public[i]!, availabilityZone: zone, mapPublicIpOnLaunch: true, tags: { ...tags(`${name}-public-${zone}`), "kubernetes.io/role/elb": "1" } },
          child,
        );
        new aws.ec2.RouteTableAssociation(`${name}-public-${zone}`, { subnetId: subnet.id, routeTableId: publicRoutes.id }, child);
        return subnet.id;
      });
      privateSubnets = zones.map((zone, i) => {
        // One NAT gateway per zone: losing a zone never cuts the others off.
        const eip = new aws.ec2.Eip(`${name}-nat-${zone}`, { domain: "vpc", tags: tags(`${name}-nat-${zone}`) }, child);
        const nat = new aws.ec2.NatGateway(`${name}-nat-${zone}`, { allocationId: eip.id, subnetId: publicSubnets[i]!, tags: tags(`${name}-nat-${zone}`) }, child);
        const routes = new aws.ec2.RouteTable(`${name}-private-${zone}`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tags(`${name}-private-${zone}`) }, child);
        const subnet = new aws.ec2.Subnet(
          `${name}-private-${zone}`,
          { vpcId: vpc.id, cidrBlock: cidrs.private[i]!, availabilityZone: zone, tags: { ...tags(`${name}-private-${zone}`), "kubernetes.io/role/internal-elb": "1" } },
          child,
        );
        new aws.ec2.RouteTableAssociation(`${name}-private-${zone}`, { subnetId: subnet.id, routeTableId: routes.id }, child);
        return subnet.id;
      });
    }

    // requireDeployable refuses target aws without it.
    const apiAccessCidrs = args.aws.apiAccessCidrs!;
    const clusterRole = new aws.iam.Role(`${name}-cluster`, { assumeRolePolicy: assumeRole("eks.amazonaws.com"), tags: tags(`${name}-cluster`) }, child);
    new aws.iam.RolePolicyAttachment(`${name}-cluster`, { role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" }, child);
    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        version: args.aws.kubernetesVersion,
        roleArn: clusterRole.arn,
        vpcConfig: {
          subnetIds: [...privateSubnets, ...publicSubnets],
          endpointPrivateAccess: true,
          // Open to the internet only from the operator's CIDR blocks; none keeps the API inside the VPC.
          endpointPublicAccess: apiAccessCidrs.length > 0,
          ...(apiAccessCidrs.length > 0 ? { publicAccessCidrs: apiAccessCidrs } : {}),
        },
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
        enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        tags: tags(`${name}-eks`),
      },
      child,
    );
    this.clusterName = cluster.name;
    this.vpcId = pulumi.output(vpcId);

    this.oidcProvider = new aws.iam.OpenIdConnectProvider(
      `${name}-oidc`,
      { url: cluster.identities.apply((ids) => ids[0]!.oidcs[0]!.issuer), clientIdLists: ["sts.amazonaws.com"], tags: tags(`${name}-oidc`) },
      child,
    );
    const ebsRole = irsaRole(`${name}-ebs-csi`, this.oidcProvider, { namespace: "kube-system", name: "ebs-csi-controller-sa" }, tags(`${name}-ebs-csi`), child);
    new aws.iam.RolePolicyAttachment(`${name}-ebs-csi`, { role: ebsRole.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" }, child);

    const nodeRole = new aws.iam.Role(`${name}-nodes`, { assumeRolePolicy: assumeRole("ec2.amazonaws.com"), tags: tags(`${name}-nodes`) }, child);
    const nodePolicies = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
      (policy) => new aws.iam.RolePolicyAttachment(`${name}-nodes-${policy}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}` }, child),
    );

    // Call hosts are reachable from the internet on exactly the call ports.
    const callSg = new aws.ec2.SecurityGroup(
      `${name}-call-hosts`,
      {
        vpcId,
        description: "matrix-scale call hosts: TURN and LiveKit media only",
        ingress: callHostIngress(TURN_PORT, LIVEKIT_PORTS.rtcTcp, args.calls.coturn.ports, args.calls.livekit.ports).map((r) => ({ ...r, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] })),
        egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
        tags: tags(`${name}-call-hosts`),
      },
      child,
    );

    const groups = args.groups.map(({ id, row, count, labels, zone }) => {
      const calls = row.role === "calls";
      const template = new aws.ec2.LaunchTemplate(
        `${name}-${id}`,
        {
          blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: row.rootDiskGB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
          // One hop: the node reaches the metadata service, a pod behind it does not (pods use IRSA).
          metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
          ...(calls ? { vpcSecurityGroupIds: [callSg.id, cluster.vpcConfig.clusterSecurityGroupId] } : {}),
          tagSpecifications: [{ resourceType: "instance", tags: tags(`${name}-${row.role}`) }],
        },
        child,
      );
      // The instance type is part of the name: changing it adds a new group before the old one
      // is removed (never a delete-first replacement).
      return new aws.eks.NodeGroup(
        `${name}-${id}-${row.instanceType.replace(".", "-")}`,
        {
          clusterName: cluster.name,
          nodeRoleArn: nodeRole.arn,
          // A zonal pool's group lives in its zone's subnet only; call hosts are public.
          subnetIds: calls ? publicSubnets : zone === undefined ? privateSubnets : [privateSubnets[zone]!],
          instanceTypes: [row.instanceType],
          scalingConfig: { desiredSize: count, minSize: count, maxSize: count },
          updateConfig: { maxUnavailable: 1 },
          launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
          labels,
          taints: row.taints.map((t) => ({ key: t.key, value: t.value, effect: "NO_SCHEDULE" })),
          tags: { ...tags(`${name}-${row.role}`), ...componentLabels(row.role) },
        },
        { ...child, dependsOn: nodePolicies },
      );
    });

    // The VPC CNI as a managed add-on with its network policy agent: without it NetworkPolicies are stored, not enforced.
    new aws.eks.Addon(
      `${name}-vpc-cni`,
      { clusterName: cluster.name, addonName: "vpc-cni", configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }), resolveConflictsOnCreate: "OVERWRITE", resolveConflictsOnUpdate: "OVERWRITE" },
      child,
    );
    new aws.eks.Addon(`${name}-ebs-csi`, { clusterName: cluster.name, addonName: "aws-ebs-csi-driver", serviceAccountRoleArn: ebsRole.arn, resolveConflictsOnUpdate: "OVERWRITE" }, { ...child, dependsOn: groups });

    this.kubeconfig = pulumi.secret(
      pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([clusterName, endpoint, ca]) =>
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": ca.data } }],
          contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
          "current-context": clusterName,
          users: [{ name: clusterName, user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", clusterName, "--region", args.aws.region] } } }],
        }),
      ),
    );
    this.registerOutputs({ clusterName: this.clusterName });
  }
}
