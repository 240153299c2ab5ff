#!/usr/bin/env python3
"""impacket's NDR encode + decode of the same complete binary tree bench/ndr_bench.cc sends
(level order, node i's children 2i+1 and 2i+2, sNumber = i). impacket cannot describe a
self-referencing struct, so one struct class per tree level is made. Prints the best of REPEAT
runs in milliseconds. Usage: ndr_impacket.py NODES [REPEAT]"""
import sys
import time

from impacket.dcerpc.v5.dtypes import NULL, SHORT
from impacket.dcerpc.v5.ndr import NDRCALL, NDRPOINTER, NDRSTRUCT


def tree_classes(height):
    """The struct class of a subtree `height` levels tall, its children one level shorter."""
    struct = type("T0", (NDRSTRUCT,), {"structure": (("sNumber", SHORT),)})
    for level in range(1, height + 1):
        pointer = type(f"P{level - 1}", (NDRPOINTER,), {"referent": (("Data", struct),)})
        struct = type(f"T{level}", (NDRSTRUCT,),
                      {"structure": (("sNumber", SHORT), ("pLeft", pointer), ("pRight", pointer))})
    return struct


def fill(node, i, n):
    node["sNumber"] = i % 32768
    for side, child in (("pLeft", 2 * i + 1), ("pRight", 2 * i + 2)):
        if child < n:
            fill(node[side], child, n)
        else:
            node[side] = NULL


def main():
    n = int(sys.argv[1])
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    height = 0
    while (1 << height) - 1 < n:
        height += 1
    root_class = tree_classes(height)
    call_class = type("SendTree", (NDRCALL,), {"opnum": 0, "structure": (("root", root_class),)})
    sys.setrecursionlimit(100000)
    best = None
    for _ in range(repeat):
        call = call_class()
        fill(call["root"], 0, n)
        start = time.perf_counter()
        data = call.getData()
        decoded = call_class(data)
        elapsed = time.perf_counter() - start
        assert decoded["root"]["sNumber"] == 0 and len(data) > 12 * (n - 1)
        best = elapsed if best is None else min(best, elapsed)
    print(f"{best * 1000:.3f}")


if __name__ == "__main__":
    main()
