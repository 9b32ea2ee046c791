"""A fake Kaggle API on 127.0.0.1 for driving the real client (``kagglesdk``) in tests.

It speaks the client's protocol for the two calls the fetcher makes, as api.kaggle.com does:
``POST /api/v1/datasets.DatasetApiService/GetDataset`` answers ``{"ref",
"currentVersionNumber"}``; ``POST .../DownloadDataset`` answers a 302 to a file URL on another
host name (``localhost`` <-> ``127.0.0.1``, like Kaggle's redirect to cloud storage, so the
client drops its Authorization header there), whose ``GET`` serves the zip. Errors come back
as Kaggle's JSON ``{"code", "message"}``: 401 for wrong credentials, 404 for an unknown
dataset. Auth is checked on every API call: HTTP basic ``username:key`` (a kaggle.json key) or
``Bearer <token>`` (a Kaggle API token). It records what it saw, and counts downloads.

The client's TEST environment (``KAGGLE_API_ENVIRONMENT=TEST``) is http://localhost:7777, the
default port here; ``serve(port=0)`` takes a free port instead (then point the client at
``fake.endpoint``).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = 7777
PREFIX = "/api/v1/datasets.DatasetApiService/"
FILES = "/files/"


@dataclass
class FakeKaggle:
    username: str
    key: str
    datasets: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # ref -> (version, zip)
    token: str = ""  # an API token accepted as a bearer token, if set
    downloads: list[str] = field(default_factory=list)  # refs whose file was served
    versions_downloaded: list[tuple[str, int]] = field(default_factory=list)
    auth_seen: list[str] = field(default_factory=list)  # Authorization of each API call
    calls: list[str] = field(default_factory=list)  # API method names, in order
    file_auth_seen: list[str] = field(default_factory=list)  # Authorization on file GETs
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _authorized(self, header: str) -> bool:
        basic = base64.b64encode(f"{self.username}:{self.key}".encode()).decode()
        return header == f"Basic {basic}" or bool(self.token and header == f"Bearer {self.token}")

    def serve(self, port: int = PORT) -> ThreadingHTTPServer:
        """Start serving on 127.0.0.1:``port`` in a daemon thread; shut the server down after."""
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
                body = json.dumps({"code": status, "message": message}).encode()
                self._send(status, body, "application/json")

            def do_POST(self) -> None:
                auth = self.headers.get("Authorization", "")
                method = self.path.removeprefix(PREFIX)
                fake.auth_seen.append(auth)
                fake.calls.append(method)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not self.path.startswith(PREFIX) or method not in (
                    "GetDataset",
                    "DownloadDataset",
                ):
                    return self._error(400, f"fake Kaggle has no route {self.path}")
                if "application/json" not in self.headers.get("Content-Type", ""):
                    return self._error(400, "expected a JSON request")
                if not fake._authorized(auth):
                    return self._error(401, "Unauthenticated")
                body = json.loads(raw or b"{}")
                ref = f"{body.get('ownerSlug')}/{body.get('datasetSlug')}"
                if ref not in fake.datasets:
                    return self._error(404, f"Dataset {ref} not found")
                version, _ = fake.datasets[ref]
                if method == "GetDataset":
                    reply = {"ref": ref, "currentVersionNumber": version}
                    return self._send(200, json.dumps(reply).encode(), "application/json")
                wanted = int(body.get("datasetVersionNumber") or version)
                host = self.headers.get("Host", "").partition(":")[0]
                other = "localhost" if host == "127.0.0.1" else "127.0.0.1"
                location = f"http://{other}:{fake.port}{FILES}{ref}/{wanted}.zip"
                return self._send(302, b"", "text/plain", {"Location": location})

            def do_GET(self) -> None:
                ref, _, name = self.path.removeprefix(FILES).rpartition("/")
                if not self.path.startswith(FILES) or ref not in fake.datasets:
                    return self._error(404, "no such file")
                fake.file_auth_seen.append(self.headers.get("Authorization", ""))
                fake.downloads.append(ref)
                fake.versions_downloaded.append((ref, int(name.removesuffix(".zip"))))
                data = fake.datasets[ref][1]
                return self._send(
                    200,
                    data,
                    "application/zip",
                    {
                        "ETag": f'"{hashlib.md5(data).hexdigest()}"',
                        "Last-Modified": email.utils.formatdate(usegmt=True),
                    },
                )

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server
