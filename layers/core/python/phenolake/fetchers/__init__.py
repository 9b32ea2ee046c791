"""Fetchers bring remote inputs into the landing bucket, idempotently (ETag / sha256)."""
