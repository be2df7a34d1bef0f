#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 for the tests of Manifestor's deadlines (a test fixture, never part of
the product). What it does with each new connection depends on the word in DIR/mode, read when
the connection is accepted:

  pass     forward to 127.0.0.1:TARGET_PORT (the real git server)
  silent   accept, read whatever comes, never answer
  trickle  answer an HTTP response one byte a second

Usage: stall-proxy.py DIR TARGET_PORT   (writes DIR/port once it listens; stops on SIGTERM)
"""

import os
import socket
import sys
import threading
import time

TRICKLE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"
           b"Content-Length: 100000\r\n\r\n" + b"0" * 100000)


def pump(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def handle(conn, mode, target):
    try:
        if mode == "pass":
            upstream = socket.create_connection(("127.0.0.1", target))
            threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
            pump(conn, upstream)
        elif mode == "trickle":
            conn.recv(65536)
            for byte in TRICKLE:
                conn.sendall(bytes([byte]))
                time.sleep(1)
        else:
            while conn.recv(65536):
                pass
    except OSError:
        pass
    finally:
        conn.close()


def main():
    folder, target = sys.argv[1], int(sys.argv[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    with open(os.path.join(folder, "port.tmp"), "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(os.path.join(folder, "port.tmp"), os.path.join(folder, "port"))
    while True:
        conn, _ = listener.accept()
        try:
            with open(os.path.join(folder, "mode")) as f:
                mode = f.read().strip()
        except OSError:
            mode = "pass"
        threading.Thread(target=handle, args=(conn, mode, target), daemon=True).start()


if __name__ == "__main__":
    main()
