/**
 * Load balancing on EKS under Pulumi's mock runtime: the AWS Load Balancer Controller from its
 * pinned chart, its IRSA role and published IAM policy, the Services that wait for it, LiveKit's
 * NLB; none of it on the kubernetes target.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { MockRun } from "../../bin/mock-runtime";
import committedPolicy from "../../components/nodepools/aws-load-balancer-controller-policy.json";
import { irsaTrustPolicy } from "../../components/nodepools/irsa";
import versions from "../../versions.json";
import { runRecordingDependencies, type RunWithDependencies } from "../dependencies";
import { parseSettings, plan } from "../../sizing";
import { podsByPool } from "../../sizing/pools";
import { SERVER_NAME, TEST_API_ACCESS_CIDRS } from "../helpers";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = join(__dirname, "../..");
const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d";
const ACCOUNT = "123456789012";
const CONTROLLER_SA = "system:serviceaccount:kube-system:aws-load-balancer-controller";
const LB = "service.beta.kubernetes.io/aws-load-balancer";

const declare = (settings: Obj): Promise<RunWithDependencies> => runRecordingDependencies({ serverName: SERVER_NAME, ...settings });
const one = (run: MockRun, type: string, name: string) => {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  expect(found, `${type} ${name}`).toHaveLength(1);
  return found[0]!.inputs as Obj;
};
const CHART = "kubernetes:helm.sh/v4:Chart";
const SERVICE = "kubernetes:core/v1:Service";

describe("target aws, with an ACM certificate", () => {
  let ctx: RunWithDependencies;
  beforeAll(async () => {
    ctx = await declare({ ccu: 1000, target: "aws", aws: { region: "eu-west-1", certificateArn: CERTIFICATE, apiAccessCidrs: TEST_API_ACCESS_CIDRS } });
  }, 60_000);

  it("the controller: the pinned chart in kube-system, two replicas on the application pool, its own service account annotated with its role, no Service mutator", () => {
    const chart = one(ctx.run, CHART, "aws-load-balancer-controller");
    expect(chart).toMatchObject({
      chart: "aws-load-balancer-controller",
      version: versions.awsLoadBalancerControllerChart,
      repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
      namespace: "kube-system",
    });
    expect(chart.values).toMatchObject({
      clusterName: "matrix-eks",
      region: "eu-west-1",
      vpcId: "matrix-vpc-id",
      replicaCount: 2,
      image: { tag: versions.awsLoadBalancerController },
      serviceAccount: { create: true, name: "aws-load-balancer-controller", annotations: { "eks.amazonaws.com/role-arn": `arn:aws:iam::${ACCOUNT}:role/matrix-aws-load-balancer-controller` } },
      enableServiceMutatorWebhook: false,
      keepTLSSecret: true,
      nodeSelector: { "matrix-scale/pool": "application" },
      tolerations: [],
      podDisruptionBudget: { maxUnavailable: 1 },
    });
    // The policy pack's rules hold for the chart's own Deployment too.
    for (const kind of ["requests", "limits"]) expect(Object.keys(chart.values.resources[kind]).sort(), kind).toEqual(["cpu", "memory"]);
    // What the application pool's packing counts for it (sizing/pools.ts) is what the chart asks for.
    const planned = plan(parseSettings({ ccu: 1000, serverName: SERVER_NAME, target: "aws", aws: { region: "eu-west-1", certificateArn: CERTIFICATE, apiAccessCidrs: TEST_API_ACCESS_CIDRS } }));
    const size = planned.routing.loadBalancerController!;
    expect(chart.values.replicaCount).toBe(size.replicas);
    expect(chart.values.resources).toEqual({ requests: { cpu: `${size.resources.requests.vcpu * 1000}m`, memory: `${size.resources.requests.memoryGiB * 1024}Mi` }, limits: { cpu: `${size.resources.limits.vcpu * 1000}m`, memory: `${size.resources.limits.memoryGiB * 1024}Mi` } });
    expect(podsByPool(planned).application.base.filter((p) => p.owner === "aws-load-balancer-controller")).toHaveLength(size.replicas);
    // Since 3.0.0 the chart and the controller share their version.
    expect(versions.awsLoadBalancerController).toBe(`v${versions.awsLoadBalancerControllerChart}`);
  });

  it("its role trusts exactly the controller's service account, through the cluster's OIDC provider", () => {
    const oidc = one(ctx.run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "matrix-oidc");
    const issuer = String(oidc.url).replace(/^https:\/\//, "");
    const trust = JSON.parse(one(ctx.run, "aws:iam/role:Role", "matrix-aws-load-balancer-controller").assumeRolePolicy);
    expect(trust).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { [`${issuer}:sub`]: CONTROLLER_SA, [`${issuer}:aud`]: "sts.amazonaws.com" } },
        },
      ],
    });
    // The EBS CSI driver's role comes from the same helper, for its own service account only.
    const ebs = JSON.parse(one(ctx.run, "aws:iam/role:Role", "matrix-ebs-csi").assumeRolePolicy);
    expect(ebs.Statement[0].Condition.StringEquals).toEqual({ [`${issuer}:sub`]: "system:serviceaccount:kube-system:ebs-csi-controller-sa", [`${issuer}:aud`]: "sts.amazonaws.com" });
  });

  it("the controller's published policy is a customer-managed policy attached to that role, before the chart", () => {
    const policy = one(ctx.run, "aws:iam/policy:Policy", "matrix-aws-load-balancer-controller");
    expect(JSON.parse(policy.policy)).toEqual(committedPolicy);
    const attachment = one(ctx.run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "matrix-aws-load-balancer-controller");
    expect(attachment).toEqual({ role: "matrix-aws-load-balancer-controller", policyArn: `arn:aws:iam::${ACCOUNT}:policy/matrix-aws-load-balancer-controller` });
    expect(ctx.dependencies.get(`${CHART}::aws-load-balancer-controller`)).toContain("aws:iam/rolePolicyAttachment:RolePolicyAttachment::matrix-aws-load-balancer-controller");
  });

  it.each([
    ["LiveKit", "livekit"],
    ["HAProxy", "synapse-haproxy"],
  ])("%s's load-balancer Service is created after the controller (chart, role and policy)", (_what, name) => {
    const dependencies = ctx.dependencies.get(`${SERVICE}::${name}`);
    expect(dependencies).toEqual(
      expect.arrayContaining([
        `${CHART}::aws-load-balancer-controller`,
        "aws:iam/role:Role::matrix-aws-load-balancer-controller",
        "aws:iam/policy:Policy::matrix-aws-load-balancer-controller",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment::matrix-aws-load-balancer-controller",
      ]),
    );
  });

  it("LiveKit: an internet-facing NLB with IP targets, TLS on 443 with the certificate, the client's address kept, LiveKit's HTTP port checked", () => {
    const service = one(ctx.run, SERVICE, "livekit");
    expect(service.metadata.annotations).toEqual({
      [`${LB}-type`]: "external",
      [`${LB}-nlb-target-type`]: "ip",
      [`${LB}-scheme`]: "internet-facing",
      [`${LB}-attributes`]: "load_balancing.cross_zone.enabled=true",
      [`${LB}-ssl-cert`]: CERTIFICATE,
      [`${LB}-ssl-ports`]: "443",
      [`${LB}-ssl-negotiation-policy`]: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      [`${LB}-target-group-attributes`]: "preserve_client_ip.enabled=true",
      [`${LB}-healthcheck-protocol`]: "http",
      [`${LB}-healthcheck-port`]: "traffic-port",
      [`${LB}-healthcheck-path`]: "/",
      [`${LB}-healthcheck-interval`]: "10",
      [`${LB}-healthcheck-timeout`]: "5",
      [`${LB}-healthcheck-healthy-threshold`]: "2",
      [`${LB}-healthcheck-unhealthy-threshold`]: "2",
    });
    expect(service.spec).toEqual({ type: "LoadBalancer", selector: { "app.kubernetes.io/name": "livekit" }, ports: [{ name: "https", port: 443, targetPort: 7880 }] });
    // The NLB's check is the path LiveKit's own readiness probe uses.
    const probe = one(ctx.run, "kubernetes:apps/v1:Deployment", "livekit").spec.template.spec.containers[0].readinessProbe.httpGet;
    expect(probe).toEqual({ path: service.metadata.annotations[`${LB}-healthcheck-path`], port: 7880 });
  });

  it("the subnets carry the tags the controller discovers them by: public ones for internet-facing NLBs, private ones for internal", () => {
    const subnets = ctx.run.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet").map((r) => r.inputs as Obj);
    const pub = subnets.filter((s) => s.mapPublicIpOnLaunch);
    const priv = subnets.filter((s) => !s.mapPublicIpOnLaunch);
    expect([pub.length, priv.length]).toEqual([3, 3]);
    for (const s of pub) expect(s.tags["kubernetes.io/role/elb"]).toBe("1");
    for (const s of priv) expect(s.tags["kubernetes.io/role/internal-elb"]).toBe("1");
  });
});

describe("target aws, no certificate", () => {
  it("is refused before anything is declared: LiveKit cannot end TLS itself, the key and the fix are named", async () => {
    await expect(declare({ ccu: 100, target: "aws" })).rejects.toThrow(
      `matrix-scale:aws.certificateArn is missing: target aws ends TLS at the load balancers; set the ARN of an ACM certificate for ${SERVER_NAME} and livekit.${SERVER_NAME}`,
    );
  });
});

describe("target kubernetes", () => {
  it("no controller, no IAM; LiveKit's Service is a plain ClusterIP that waits only for its namespace", async () => {
    const { run, dependencies } = await declare({ ccu: 100, target: "kubernetes" });
    expect(run.resources.filter((r) => r.name.includes("load-balancer-controller"))).toEqual([]);
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    const service = one(run, SERVICE, "livekit");
    expect(service.metadata.annotations).toBeUndefined();
    expect(service.spec).toEqual({ type: "ClusterIP", selector: { "app.kubernetes.io/name": "livekit" }, ports: [{ name: "http", port: 80, targetPort: 7880 }] });
    expect(dependencies.get(`${SERVICE}::livekit`)!.filter((d) => !d.startsWith("kubernetes:core/v1:Namespace::"))).toEqual([]);
  });
});

describe("the IRSA trust policy (pure)", () => {
  it("names the provider, strips the issuer's scheme, and admits one subject with the STS audience", () => {
    expect(JSON.parse(irsaTrustPolicy("arn:aws:iam::1:oidc-provider/oidc.example/id/X", "https://oidc.example/id/X", { namespace: "ns", name: "sa" }))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "arn:aws:iam::1:oidc-provider/oidc.example/id/X" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { "oidc.example/id/X:sub": "system:serviceaccount:ns:sa", "oidc.example/id/X:aud": "sts.amazonaws.com" } },
        },
      ],
    });
  });
});

describe("the committed IAM policy is the controller's published one", () => {
  const dir = join(ROOT, ".cache/eks-blueprints");
  beforeAll(() => {
    // Idempotent: fetches the package once (npm registry, integrity pinned in versions.json).
    execFileSync("bash", [join(ROOT, "scripts/install-eks-blueprints.sh")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  }, 180_000);

  it(`equals the policy @aws-quickstart/eks-blueprints ${versions.eksBlueprints.version} attaches for the aws partition`, () => {
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version).toBe(versions.eksBlueprints.version);
    const published = createRequire(__filename)(join(dir, "dist/addons/aws-loadbalancer-controller/iam-policy.js")) as { AwsLoadbalancerControllerIamPolicy: (partition: string) => unknown };
    expect(committedPolicy).toEqual(published.AwsLoadbalancerControllerIamPolicy("aws"));
  });

  it("and the package installs that policy with the chart version pinned here", () => {
    const addon = readFileSync(join(dir, "dist/addons/aws-loadbalancer-controller/index.js"), "utf8");
    const defaults = /const defaultProps = \{([^}]*)\}/.exec(addon)?.[1] ?? "";
    expect(defaults).toContain("chart: AWS_LOAD_BALANCER_CONTROLLER");
    expect(/version: '([^']+)'/.exec(defaults)?.[1]).toBe(versions.awsLoadBalancerControllerChart);
  });
});
