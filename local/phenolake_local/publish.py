"""After ``sam deploy``: publish what the stack reads from its lake bucket.

- The phenolake library for the Glue jobs (``--extra-py-files``): ``sam package`` uploads
  each job's script but not the library it imports, so ``layers/core/python/phenolake`` is
  zipped to ``s3://<LakeBucket>/code/phenolake.zip``, where the jobs' DefaultArguments point:
  the runtime library with the Glue helpers and curate modules the Lambda layer leaves out,
  but not the sample writers (development only); the tooling (``tools/phenolake_tools``) and
  the embedded AWS live outside the folder and never reach it.
- The study configuration (``--config``, default ``study.yaml`` when it exists), validated
  first, to ``s3://<LakeBucket>/config/study.yaml``, where Plan reads it at every run start.

The bucket is read from the stack outputs.
Usage: ``python -m phenolake_local.publish [--stack phenolake] [--region R] [--config F]``.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path, PurePosixPath

import boto3

LIBRARY = Path(__file__).resolve().parents[2] / "layers" / "core" / "python"
KEY = "code/phenolake.zip"
#: The sample writers, as layers/core/Makefile leaves them out of the Lambda layer.
SAMPLE_WRITERS = ("phenolake/sources/*_samples.py", "phenolake/sources/*/samples.py")


def library_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((LIBRARY / "phenolake").rglob("*.py")):
            if any(
                PurePosixPath(path.relative_to(LIBRARY).as_posix()).match(pattern)
                for pattern in SAMPLE_WRITERS
            ):
                continue
            info = zipfile.ZipInfo(
                path.relative_to(LIBRARY).as_posix(), date_time=(2020, 1, 1, 0, 0, 0)
            )
            zf.writestr(info, path.read_bytes())
    return buffer.getvalue()


def main() -> None:
    from phenolake import study  # here: library_zip runs in .venv-glue too, which has no yaml

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="phenolake")
    parser.add_argument("--region", default=None)
    parser.add_argument("--config", type=Path, default=Path("study.yaml"))
    args = parser.parse_args()
    config_text = args.config.read_text(encoding="utf-8") if args.config.is_file() else None
    if config_text is not None:
        try:
            study.parse(config_text, str(args.config))
        except study.StudyConfigError as exc:
            raise SystemExit(f"phenolake: error: {exc}") from None
    cfn = boto3.client("cloudformation", region_name=args.region)
    outputs = cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])
    bucket = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "LakeBucketName")
    s3 = boto3.client("s3", region_name=args.region)
    s3.put_object(Bucket=bucket, Key=KEY, Body=library_zip())
    print(f"uploaded s3://{bucket}/{KEY}")
    if config_text is not None:
        s3.put_object(Bucket=bucket, Key=study.CONFIG_KEY, Body=config_text.encode())
        print(f"uploaded s3://{bucket}/{study.CONFIG_KEY} from {args.config}")


if __name__ == "__main__":
    main()
