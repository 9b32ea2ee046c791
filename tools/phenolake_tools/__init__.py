"""phenolake's developer tooling: the ``phenolake`` command, the local query engine (Athena SQL
on DuckDB), the reports' charts, export and sample writing. Installed in the development venv
only; nothing deployed (Lambda layers, function folders, the Glue jobs' zip) carries or imports
it, which ``tests/integration/test_deployable.py`` checks."""
