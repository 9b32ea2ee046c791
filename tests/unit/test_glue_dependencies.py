"""What the template gives each Glue job matches what the embedded AWS runs it with."""

from __future__ import annotations

from phenolake_local import glue_local, publish, template
from phenolake_local.engine import PROJECT_ROOT


def test_each_job_is_glue_51_with_the_published_library_and_only_pinned_modules() -> None:
    deployment = template.load(PROJECT_ROOT)
    pins = glue_local.pinned_versions()
    lake = deployment.buckets["LakeBucket"]
    assert deployment.glue_jobs
    for job in deployment.glue_jobs.values():
        props = deployment.resources[job.logical_id]["Properties"]
        assert props["GlueVersion"] == "5.1", job.name
        assert job.default_arguments["--extra-py-files"] == f"s3://{lake}/{publish.KEY}"
        modules = job.default_arguments.get("--additional-python-modules", "")
        for entry in filter(None, modules.split(",")):
            name, _, version = entry.partition("==")
            assert pins.get(name.strip().lower()) == version.strip(), (job.name, entry)
