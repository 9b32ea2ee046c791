"""A fake Kaggle API on 127.0.0.1:7777 (the client's TEST environment), for the real client.

It answers the two calls the fetcher makes — ``datasets.DatasetApiService/GetDataset`` and
``/DownloadDataset`` — checks HTTP basic auth, redirects downloads to a file URL like the
real service, and counts downloads.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = 7777
PREFIX = "/api/v1/datasets.DatasetApiService/"


@dataclass
class FakeKaggle:
    username: str
    key: str
    datasets: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # ref -> (version, zip)
    downloads: list[str] = field(default_factory=list)
    auth_seen: list[str] = field(default_factory=list)

    def serve(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(
                self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                self._send(
                    status,
                    json.dumps({"code": status, "message": message}).encode(),
                    "application/json",
                )

            def do_POST(self) -> None:
                auth = self.headers.get("Authorization", "")
                fake.auth_seen.append(auth)
                expected = (
                    "Basic " + base64.b64encode(f"{fake.username}:{fake.key}".encode()).decode()
                )
                body = json.loads(
                    self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"
                )
                if auth != expected:
                    return self._error(401, "Unauthenticated")
                ref = f"{body.get('ownerSlug')}/{body.get('datasetSlug')}"
                if ref not in fake.datasets:
                    return self._error(404, f"Dataset {ref} not found")
                version, _ = fake.datasets[ref]
                if self.path == PREFIX + "GetDataset":
                    return self._send(
                        200,
                        json.dumps({"ref": ref, "currentVersionNumber": version}).encode(),
                        "application/json",
                    )
                if self.path == PREFIX + "DownloadDataset":
                    wanted = body.get("datasetVersionNumber", version)
                    return self._send(
                        302, b"", "text/plain", {"Location": f"/files/{ref}/{wanted}.zip"}
                    )
                return self._error(404, f"no route {self.path}")

            def do_GET(self) -> None:
                ref, _, _ = self.path.removeprefix("/files/").rpartition("/")
                if ref not in fake.datasets:
                    return self._error(404, "no file")
                fake.downloads.append(ref)
                return self._send(200, fake.datasets[ref][1], "application/zip")

        server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server
