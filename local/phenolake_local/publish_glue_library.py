"""After ``sam deploy``: upload the phenolake library for the Glue jobs (``--extra-py-files``).

``sam package`` uploads each Glue job's script but not the library the scripts import, so
this zips ``layers/core/python/phenolake`` and puts it where the jobs' DefaultArguments
point: ``s3://<LakeBucket>/code/phenolake.zip`` (the bucket is read from the stack outputs).
Usage: ``python -m phenolake_local.publish_glue_library [--stack phenolake] [--region R]``.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import boto3

LIBRARY = Path(__file__).resolve().parents[2] / "layers" / "core" / "python"
KEY = "code/phenolake.zip"


def library_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((LIBRARY / "phenolake").rglob("*.py")):
            info = zipfile.ZipInfo(
                path.relative_to(LIBRARY).as_posix(), date_time=(2020, 1, 1, 0, 0, 0)
            )
            zf.writestr(info, path.read_bytes())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="phenolake")
    parser.add_argument("--region", default=None)
    args = parser.parse_args()
    cfn = boto3.client("cloudformation", region_name=args.region)
    outputs = cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])
    bucket = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "LakeBucketName")
    boto3.client("s3", region_name=args.region).put_object(
        Bucket=bucket, Key=KEY, Body=library_zip()
    )
    print(f"uploaded s3://{bucket}/{KEY}")


if __name__ == "__main__":
    main()
