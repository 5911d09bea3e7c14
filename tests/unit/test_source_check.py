"""plugins/modules/source_check.py against real sockets on loopback."""

import http.server
import socket
import threading

import pytest

from ansible_collections.q8s.cluster.plugins.modules import source_check as sc


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):  # noqa: N802 (http.server's naming)
        # A registry answers /v2/ with 401 to anonymous clients: reachable all the same.
        self.send_response(401 if self.path == "/v2/" else 200)
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002
        pass


def start_server():
    """An HTTP server on a free loopback port (HEAD: 401 at /v2/, else 200); returns (server, base URL)."""
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, "http://127.0.0.1:%d" % httpd.server_address[1]


def stop_server(httpd):
    httpd.shutdown()
    httpd.server_close()


def free_port():
    """A loopback port nothing listens on (bound once, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture()
def server():
    httpd, url = start_server()
    yield url
    stop_server(httpd)


@pytest.fixture()
def closed_port():
    return free_port()


def test_an_answer_of_any_status_is_reachable(server):
    assert sc.probe(server + "/v2/", 5) == (401, "")
    assert sc.probe(server + "/Release.key", 5) == (200, "")


def test_a_closed_port_is_unreachable_and_named_with_its_fix(server, closed_port):
    sources = [
        {"name": "image registry", "url": server + "/v2/", "fix": "set k8s_common_registry_mirrors"},
        {
            "name": "Kubernetes package repository",
            "url": "http://127.0.0.1:%d/Release.key" % closed_port,
            "fix": "point k8s_common_kubernetes_repo_url at a mirror, or run with --skip-tags kubernetes",
        },
    ]
    checked, bad = sc.check(sources, 5)
    assert [c["reachable"] for c in checked] == [True, False]
    assert checked[1]["status"] == -1 and "refused" in checked[1]["error"].lower()
    text = sc.message(bad, "controller")
    assert text.startswith("1 source(s) this run needs cannot be reached from controller:")
    assert "Kubernetes package repository: http://127.0.0.1:%d/Release.key" % closed_port in text
    assert "--skip-tags kubernetes" in text
