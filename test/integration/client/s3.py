"""Small S3 client for the tests (boto3, installed with Synapse's S3 storage provider).

Usage: s3.py ENDPOINT ACCESS_KEY SECRET_KEY COMMAND [ARGS]
  mkbucket BUCKET | list BUCKET | put BUCKET KEY FILE | get BUCKET KEY FILE
  fill BUCKET PREFIX COUNT SIZE   (random objects; prints "key sha256" per object)
  check BUCKET                    (downloads every object; prints "key sha256")
  delete BUCKET KEY | buckets     (prints every bucket's name)
"""
import hashlib
import os
import sys

import boto3
from botocore.config import Config

endpoint, key, secret, command, *args = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1",
                  config=Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=5, read_timeout=30))
if command == "mkbucket":
    s3.create_bucket(Bucket=args[0])
elif command == "list":
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args[0]):
        for item in page.get("Contents", []):
            print(f"{item['Key']} {item['Size']}")
elif command == "put":
    s3.upload_file(args[2], args[0], args[1])
elif command == "get":
    s3.download_file(args[0], args[1], args[2])
elif command == "fill":
    bucket, prefix, count, size = args[0], args[1], int(args[2]), int(args[3])
    for i in range(count):
        body = os.urandom(size)
        key = f"{prefix}{i:04d}"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        print(f"{key} {hashlib.sha256(body).hexdigest()}")
elif command == "check":
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args[0]):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=args[0], Key=item["Key"])["Body"].read()
            print(f"{item['Key']} {hashlib.sha256(body).hexdigest()}")
elif command == "delete":
    s3.delete_object(Bucket=args[0], Key=args[1])
elif command == "buckets":
    for bucket in s3.list_buckets()["Buckets"]:
        print(bucket["Name"])
else:
    sys.exit(f"unknown command {command}")
