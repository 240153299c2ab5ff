#!/usr/bin/env python3
"""Decodes Warden's marshalled Sum request with impacket's own NDR classes (impacket cannot
describe a self-referencing struct, so the tree's depth is spelled out: ROOT -> LEAF -> EMPTY),
checks every field, checks nothing is left over, and encodes the same tree with impacket for the
caller to compare (referent IDs normalised). Usage: impacket_check.py HEX; prints impacket's
encoding as hex."""
import sys

from impacket.dcerpc.v5.dtypes import NULL, SHORT
from impacket.dcerpc.v5.ndr import NDRCALL, NDRPOINTER, NDRSTRUCT


class EMPTY(NDRSTRUCT):
    structure = (("sNumber", SHORT),)


class PEMPTY(NDRPOINTER):
    referent = (("Data", EMPTY),)


class LEAF(NDRSTRUCT):
    structure = (("sNumber", SHORT), ("pLeft", PEMPTY), ("pRight", PEMPTY))


class PLEAF(NDRPOINTER):
    referent = (("Data", LEAF),)


class ROOT(NDRSTRUCT):
    structure = (("sNumber", SHORT), ("pLeft", PLEAF), ("pRight", PLEAF))


class Sum(NDRCALL):
    opnum = 0
    structure = (("root", ROOT),)


def main():
    data = bytes.fromhex(sys.argv[1])
    call = Sum(data)
    root = call["root"]
    assert root["sNumber"] == 1, root["sNumber"]
    left = root["pLeft"]
    right = root["pRight"]
    assert left["sNumber"] == 2 and right["sNumber"] == 3, (left["sNumber"], right["sNumber"])
    for leaf in (left, right):
        assert leaf["pLeft"] == b"" and leaf["pRight"] == b"", "a leaf with children"
    assert len(call.getData()) == len(data), (len(call.getData()), len(data))

    mine = Sum()
    mine["root"]["sNumber"] = 1
    for side, number in (("pLeft", 2), ("pRight", 3)):
        mine["root"][side]["sNumber"] = number
        mine["root"][side]["pLeft"] = NULL
        mine["root"][side]["pRight"] = NULL
    print(mine.getData().hex())


if __name__ == "__main__":
    main()
