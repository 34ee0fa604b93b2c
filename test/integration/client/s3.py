"""Small S3 client for the tests (boto3, installed with Synapse's S3 storage provider).

Usage: s3.py ENDPOINT ACCESS_KEY SECRET_KEY COMMAND [ARGS]
  mkbucket BUCKET | list BUCKET | put BUCKET KEY FILE | get BUCKET KEY FILE
  fill BUCKET PREFIX COUNT SIZE   (random objects; prints "key sha256" per object)
  check BUCKET                    (downloads every object; prints "key sha256")
  write BUCKET KEY SIZE (one random object at exactly KEY) | delete BUCKET KEY | lifecycle BUCKET (prints its rules as JSON, [] if it has none)
  expiration BUCKET KEY           (prints the object's x-amz-expiration header and Last-Modified as JSON)
"""
import hashlib
import json
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
elif command == "write":
    s3.put_object(Bucket=args[0], Key=args[1], Body=os.urandom(int(args[2])))
elif command == "delete":
    s3.delete_object(Bucket=args[0], Key=args[1])
elif command == "lifecycle":
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=args[0])["Rules"]
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    print(json.dumps(rules))
elif command == "expiration":
    head = s3.head_object(Bucket=args[0], Key=args[1])
    print(json.dumps({"expiration": head.get("Expiration", ""), "lastModified": head["LastModified"].isoformat()}))
else:
    sys.exit(f"unknown command {command}")
