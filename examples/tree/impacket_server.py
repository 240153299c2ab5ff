#!/usr/bin/env python3
"""impacket as a DCE/RPC server for Warden's generated client: impacket's own DCERPCServer hosts
the tree interface's Sum (opnum 0, a root with two leaves) and Grid (opnum 23), reading and
writing the stub data with impacket's NDR classes (impacket_check.py). Prints "port N" once it
listens; serves until killed.
  impacket_server.py"""
import struct
import sys
import time

from impacket.dcerpc.v5.rpcrt import DCERPCServer

import impacket_client
from impacket_check import Grid, Sum

TREE = ("8e7f2a3c-5b1d-4c6e-9a0f-1d2c3b4a5e6f", "1.0")


def sum_tree(data):
    call = Sum(data)
    root = call["root"]
    total = root["sNumber"] + root["pLeft"]["sNumber"] + root["pRight"]["sNumber"]
    return struct.pack("<l", total)


def grid(data):
    call = Grid(data)
    fixed = [[call["fixed"][r][k] for k in "abc"] for r in ("r0", "r1")]
    total = sum(map(sum, fixed))
    total += sum(row["a"] + row["b"] for row in call["m"])
    total += sum(row["a"] + row["b"] + row["c"] for row in call["g"]["cells"])
    reply = impacket_client.GridResponse()
    for j, t in enumerate(("t0", "t1", "t2")):
        reply[t]["a"] = fixed[0][j]
        reply[t]["b"] = fixed[1][j]
    reply["result"] = total
    return reply.getData()


def main():
    server = DCERPCServer()
    server.addCallbacks(TREE, "", {0: sum_tree, 23: grid})
    server.daemon = True
    server.start()
    time.sleep(0.3)  # run() listens on its own thread
    print("port %d" % server.getListenPort(), flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    sys.exit(main())
