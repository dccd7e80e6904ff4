#!/usr/bin/env python3
"""Serves one JSON document of about SIZE bytes (argv[2]), chunked, on
127.0.0.1:PORT (argv[1]): customer records with an email, a card number
and a note mentioning an email, for the gateway's memory benchmark."""
import http.server, socketserver, sys
REC = b'{"id":123456,"name":"Jane Doe","email":"jane.doe@example.com","card_number":"4111 1111 1111 1111","notes":"call bob@corp.example"},'
TOTAL = int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        chunk = REC * (1 << 16 // len(REC) * 8)
        sent = 0
        def w(b):
            self.wfile.write(b"%x\r\n" % len(b) + b + b"\r\n")
        w(b'{"items":[')
        while sent < TOTAL:
            w(chunk); sent += len(chunk)
        w(b'{"id":0}]}')
        self.wfile.write(b"0\r\n\r\n")
    def log_message(self, *a): pass
socketserver.TCPServer.allow_reuse_address = True
with socketserver.TCPServer(("127.0.0.1", int(sys.argv[1])), H) as s:
    s.serve_forever()
