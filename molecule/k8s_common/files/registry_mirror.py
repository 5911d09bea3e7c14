#!/usr/bin/python3
"""A registry mirror stand-in, for tests only.

Serves one tiny OCI image (one small layer) under every repository name and tag
over the registry HTTP API (/v2/<name>/manifests/<ref>, /v2/<name>/blobs/<digest>),
with the media types and Docker-Content-Digest header containerd's resolver needs,
and appends each request line, with the ns= query containerd adds for a mirror,
to a log file, so a test can tell which registry a pull reached.

    registry_mirror.py PORT LOGFILE
"""

import gzip
import hashlib
import io
import json
import platform
import sys
import tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image():
    """(manifest bytes, {digest: blob}) of a one-layer image for this machine."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        content = b"q8s registry mirror stand-in\n"
        info = tarfile.TarInfo("q8s-mirror")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": ARCHES.get(platform.machine(), platform.machine()),
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(raw.getvalue())]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(layer), "size": len(layer)}],
        }
    ).encode()
    return manifest, {sha256(config): config, sha256(layer): layer}


MANIFEST, BLOBS = image()


class Handler(BaseHTTPRequestHandler):
    log_file = None

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        with open(self.log_file, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def answer(self, body):
        parts = self.path.split("?")[0].split("/")
        kind = parts[-2] if len(parts) >= 4 else ""
        if self.path.split("?")[0] in ("/v2", "/v2/"):
            self.send("application/json", b"{}")
        elif kind == "manifests":
            self.send(MANIFEST_TYPE, MANIFEST, {"Docker-Content-Digest": sha256(MANIFEST)}, body)
        elif kind == "blobs" and parts[-1] in BLOBS:
            self.send("application/octet-stream", BLOBS[parts[-1]], {"Docker-Content-Digest": parts[-1]}, body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def send(self, content_type, data, headers=None, body=True):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):  # pylint: disable=invalid-name
        self.answer(True)

    def do_HEAD(self):  # pylint: disable=invalid-name
        self.answer(False)


def main(args):
    Handler.log_file = args[1]
    ThreadingHTTPServer(("127.0.0.1", int(args[0])), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
