/** IAM roles for Kubernetes service accounts (IRSA) through the cluster's OIDC provider. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** The subject the cluster's OIDC provider puts in a service account's token. */
export const serviceAccountSubject = (sa: ServiceAccountRef) => `system:serviceaccount:${sa.namespace}:${sa.name}`;

/**
 * A trust policy that lets exactly one service account assume the role: its token's subject and an
 * audience of STS, issued by the cluster's OIDC provider (pure: provider ARN and issuer URL in).
 */
export function irsaTrustPolicy(providerArn: string, issuerUrl: string, sa: ServiceAccountRef): string {
  const issuer = issuerUrl.replace(/^https:\/\//, "");
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${issuer}:sub`]: serviceAccountSubject(sa), [`${issuer}:aud`]: "sts.amazonaws.com" } },
      },
    ],
  });
}

/** A role only `sa` can assume, through `oidc`. */
export function irsaRole(name: string, oidc: aws.iam.OpenIdConnectProvider, sa: ServiceAccountRef, tags: Record<string, string>, opts: pulumi.CustomResourceOptions): aws.iam.Role {
  return new aws.iam.Role(name, { assumeRolePolicy: pulumi.all([oidc.arn, oidc.url]).apply(([arn, url]) => irsaTrustPolicy(arn, url, sa)), tags }, opts);
}
