/**
 * The IAM role the database instances assume (IRSA) to keep base backups and WAL in the operator's
 * S3 bucket: list the bucket (barman-cloud checks it exists with HeadBucket, which a prefix
 * condition would refuse), and read, write and delete only under this deployment's prefix
 * (barman-cloud's retention deletes expired backups).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { irsaRole, type ServiceAccountRef } from "./irsa";
import { awsTags } from "./network";

export function backupBucketPolicy(bucket: string, prefix: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: [`arn:aws:s3:::${bucket}`] },
      { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: [`arn:aws:s3:::${bucket}/${prefix}/*`] },
    ],
  });
}

/** A role only the database's ServiceAccount can assume, allowed exactly `backupBucketPolicy`. */
export function backupRole(name: string, oidc: aws.iam.OpenIdConnectProvider, sa: ServiceAccountRef, bucket: string, prefix: string, opts: pulumi.CustomResourceOptions = {}): aws.iam.Role {
  const role = irsaRole(name, oidc, sa, awsTags(name), opts);
  new aws.iam.RolePolicy(name, { role: role.id, policy: backupBucketPolicy(bucket, prefix) }, opts);
  return role;
}
