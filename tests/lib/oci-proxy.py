#!/usr/bin/env python3
# A plain-HTTP proxy in front of the test registry (https, our CA) for tests/integration/test-pull-oci*.sh:
# forwards every request with its headers; the first GET of a blob whose digest is CUT_DIGEST gets
# CUT bytes of its body and then a closed connection. Logs "METHOD PATH RANGE STATUS" per request.
# With a 7th argument "bearer:USER:PASS" it plays a registry with token auth (as Docker Hub, ghcr):
# /v2/ requests without the token get 401 "Bearer realm=…/token,service=…,scope=…"; /token hands
# out the token for Basic USER:PASS (logged as "TOKEN QUERY STATUS"); upstream it logs in with
# USER:PASS itself.
# With $PROXY_STALL set, that first GET stalls after CUT bytes instead (for a kill mid-download).
import base64, http.client, http.server, os, ssl, sys, time

upstream, ca, cut_digest, cut, log, port_file = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
state = {"cut": False}
bearer = sys.argv[7].split(":", 2)[1:] if len(sys.argv) > 7 and sys.argv[7].startswith("bearer:") else None
TOKEN = "tok-3f9a2c"

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if bearer:
            basic = "Basic " + base64.b64encode(("%s:%s" % (bearer[0], bearer[1])).encode()).decode()
            if self.path.startswith("/token"):
                ok = self.headers.get("Authorization") == basic
                with open(log, "a") as f:
                    f.write("TOKEN %s %d\n" % (self.path, 200 if ok else 401))
                if ok:
                    self.reply(200, ('{"token":"%s","expires_in":300}' % TOKEN).encode(), [("Content-Type", "application/json")])
                else:
                    self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                return
            if self.headers.get("Authorization") != "Bearer " + TOKEN:
                with open(log, "a") as f:
                    f.write("GET %s %s 401\n" % (self.path, self.headers.get("Range", "-")))
                realm = "http://%s/token" % self.headers.get("Host")
                self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [("WWW-Authenticate",
                           'Bearer realm="%s",service="cowpen-test",scope="repository:test/app:pull"' % realm)])
                return
        host, port = upstream.split(":")
        c = http.client.HTTPSConnection(host, int(port), context=ctx)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        if bearer:
            hdrs["Authorization"] = basic
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
            if os.environ.get("PROXY_STALL"):
                time.sleep(120)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
