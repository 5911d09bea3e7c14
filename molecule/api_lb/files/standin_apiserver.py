"""A stand-in API server: HTTPS on ADDRESS:PORT answering every GET with 200 and its NAME.

Usage: standin_apiserver.py NAME ADDRESS PORT CERT KEY
"""

import http.server
import ssl
import sys

NAME, ADDRESS, PORT, CERT, KEY = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = ("%s %s\n" % (NAME, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass


server = http.server.ThreadingHTTPServer((ADDRESS, PORT), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
