#!/usr/bin/env python3
# A plain-HTTP proxy in front of the test registry (https, our CA) for tests/integration/test-pull-oci*.sh:
# forwards every request with its headers; the first GET of a blob whose digest is CUT_DIGEST gets
# CUT bytes of its body and then a closed connection. Logs "METHOD PATH RANGE STATUS" per request.
import http.client, http.server, ssl, sys

upstream, ca, cut_digest, cut, log, port_file = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
state = {"cut": False}

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        host, port = upstream.split(":")
        c = http.client.HTTPSConnection(host, int(port), context=ctx)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request("GET", self.path, headers=hdrs)
        r = c.getresponse()
        body = r.read()
        with open(log, "a") as f:
            f.write("GET %s %s %d\n" % (self.path, self.headers.get("Range", "-"), r.status))
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if cut_digest in self.path and not state["cut"] and r.status == 200:
            state["cut"] = True
            self.wfile.write(body[:cut]); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
