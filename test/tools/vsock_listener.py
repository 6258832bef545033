#!/usr/bin/env python3
"""vsock_listener.py: a kernel AF_VSOCK stream listener for the tests that list sockets
(vsockctl sockets): bound to any CID on a port the kernel picks, listening, never
connecting (this machine must not connect over kernel vsock). Prints the port, then
holds the socket until stdin closes.

  vsock_listener.py
"""
import argparse
import socket
import sys


def main():
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.bind((socket.VMADDR_CID_ANY, socket.VMADDR_PORT_ANY))
    s.listen()
    print(s.getsockname()[1], flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
