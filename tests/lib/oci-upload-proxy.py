#!/usr/bin/env python3
# A plain-HTTP proxy in front of the test registry (https, our CA) for tests/integration/test-push-oci.sh:
# forwards every request (GET, HEAD, POST, PATCH, PUT) with its headers and body, and makes the
# registry's Location headers relative (so that they point at the proxy). The NTH PATCH is cut:
# only its first CUT bytes reach the registry (as a PATCH of that many bytes; none at all with CUT
# 0), then the client's connection is closed without an answer.
# Logs "METHOD PATH CONTENT-RANGE STATUS" per request ("… CUT" for the cut one).
# usage: oci-upload-proxy.py UPSTREAM CA NTH CUT LOG PORT_FILE
import http.client, http.server, re, ssl, sys

upstream, ca, nth, cut, log, port_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
state = {"patches": 0}

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def forward(self, method):
        n = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(n) if n else b""
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        crange = self.headers.get("Content-Range", "-")
        if method == "PATCH":
            state["patches"] += 1
        cutting = method == "PATCH" and state["patches"] == nth and len(body) > cut
        if cutting and cut == 0:
            with open(log, "a") as f:
                f.write("%s %s %s - CUT\n" % (method, self.path.split("?")[0], crange))
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if cutting:
            start = int(crange.split("-")[0]) if crange != "-" else 0
            body = body[:cut]
            if crange != "-":
                hdrs["Content-Range"] = "%d-%d" % (start, start + cut - 1)
        host, port = upstream.split(":")
        c = http.client.HTTPSConnection(host, int(port), context=ctx)
        hdrs["Content-Length"] = str(len(body))
        c.request(method, self.path, body=body if method not in ("GET", "HEAD") else None, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        with open(log, "a") as f:
            f.write("%s %s %s %d%s\n" % (method, self.path.split("?")[0], crange, r.status, " CUT" if cutting else ""))
        if cutting:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_response(r.status)
        for k, v in r.getheaders():
            kl = k.lower()
            if kl in ("transfer-encoding", "connection", "content-length"):
                continue
            if kl == "location":
                v = re.sub(r"^https?://[^/]+", "", v)
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)) if method != "HEAD" else r.getheader("Content-Length", "0"))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self): self.forward("GET")
    def do_HEAD(self): self.forward("HEAD")
    def do_POST(self): self.forward("POST")
    def do_PATCH(self): self.forward("PATCH")
    def do_PUT(self): self.forward("PUT")

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
