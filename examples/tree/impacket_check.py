#!/usr/bin/env python3
"""Decodes Warden's marshalled requests with impacket's own NDR classes, checks every field and
that nothing is left over, and prints impacket's encoding of the same values as hex for the caller
to compare (padding and referent IDs masked).
  impacket_check.py HEX          Sum's three-node tree (impacket cannot describe a self-referencing
                                 struct, so the depth is spelled out: ROOT -> LEAF -> EMPTY)
  impacket_check.py twice HEX    Twice's TAGGED {kind 2, VALUE hyper 2^40}: a non-encapsulated
                                 union with a short discriminant
  impacket_check.py counts HEX   SumCounts' COUNTS {n 3, v 1 2 3}: a conformant structure
  impacket_check.py names HEX    CountChars' n 3, names {"ab", null, "cde"}: an array of string
                                 pointers (decoded only; prints "ok")
  impacket_check.py grid HEX     Grid's fixed {{1,2,3},{4,5,6}}, n 2, m {{10,20},{30,40}} and
                                 GRID {rows 2, cells {{1,1,1},{2,2,2}}}: multi-dimensional arrays
                                 (impacket has no such type: a fixed row is a struct of its cells,
                                 which NDR lays out the same way)"""
import sys

from impacket.dcerpc.v5.dtypes import NULL, SHORT
from impacket.dcerpc.v5.dtypes import LONG, LPWSTR, ULONG
from impacket.dcerpc.v5.ndr import (NDRCALL, NDRHYPER, NDRLONG, NDRPOINTER, NDRSHORT, NDRSTRUCT,
                                    NDRUNION, NDRUniConformantArray)


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


class VALUE(NDRUNION):
    commonHdr = (("tag", NDRSHORT),)
    union = {1: ("l", NDRLONG), 2: ("h", NDRHYPER)}


class TAGGED(NDRSTRUCT):
    structure = (("kind", SHORT), ("v", VALUE))


class Twice(NDRCALL):
    opnum = 8
    structure = (("t", TAGGED),)


def twice(data):
    call = Twice(data)
    assert call["t"]["kind"] == 2 and call["t"]["v"]["tag"] == 2, call["t"]["kind"]
    assert call["t"]["v"]["h"] == 1 << 40, call["t"]["v"]["h"]
    assert len(call.getData()) == len(data), (len(call.getData()), len(data))
    mine = Twice()
    mine["t"]["kind"] = 2
    mine["t"]["v"]["tag"] = 2
    mine["t"]["v"]["h"] = 1 << 40
    print(mine.getData().hex())


class USHORTS(NDRUniConformantArray):
    item = "<H"


class COUNTS(NDRSTRUCT):
    structure = (("n", ULONG), ("v", USHORTS))


class SumCounts(NDRCALL):
    opnum = 10
    structure = (("c", COUNTS),)


def counts(data):
    call = SumCounts(data)
    assert call["c"]["n"] == 3 and list(call["c"]["v"]) == [1, 2, 3], call["c"]["n"]
    assert len(call.getData()) == len(data), (len(call.getData()), len(data))
    mine = SumCounts()
    mine["c"]["n"] = 3
    mine["c"]["v"] = [1, 2, 3]
    print(mine.getData().hex())


class NAMES(NDRUniConformantArray):
    item = LPWSTR


class CountChars(NDRCALL):
    opnum = 15
    structure = (("n", ULONG), ("names", NAMES))


def names(data):
    call = CountChars(data)
    got = [n["Data"] if n["ReferentID"] else None for n in call["names"]]
    assert call["n"] == 3 and got == ["ab\x00", None, "cde\x00"], got
    assert len(call.getData()) == len(data), (len(call.getData()), len(data))
    print("ok")


class ROW3(NDRSTRUCT):
    structure = (("a", SHORT), ("b", SHORT), ("c", SHORT))


class FIXED(NDRSTRUCT):
    structure = (("r0", ROW3), ("r1", ROW3))


class ROW2(NDRSTRUCT):
    structure = (("a", LONG), ("b", LONG))


class ROWS2(NDRUniConformantArray):
    item = ROW2


class ROWS3(NDRUniConformantArray):
    item = ROW3


class GRID(NDRSTRUCT):
    structure = (("rows", ULONG), ("cells", ROWS3))


class Grid(NDRCALL):
    opnum = 23
    structure = (("fixed", FIXED), ("n", ULONG), ("m", ROWS2), ("g", GRID))


def grid(data):
    call = Grid(data)
    row = lambda r, names: [r[k] for k in names]
    fixed = [row(call["fixed"][r], "abc") for r in ("r0", "r1")]
    assert fixed == [[1, 2, 3], [4, 5, 6]], fixed
    m = [row(r, "ab") for r in call["m"]]
    assert call["n"] == 2 and m == [[10, 20], [30, 40]], m
    cells = [row(r, "abc") for r in call["g"]["cells"]]
    assert call["g"]["rows"] == 2 and cells == [[1, 1, 1], [2, 2, 2]], cells
    assert len(call.getData()) == len(data), (len(call.getData()), len(data))
    mine = Grid()
    for r, values in zip(("r0", "r1"), ([1, 2, 3], [4, 5, 6])):
        for k, v in zip("abc", values):
            mine["fixed"][r][k] = v
    mine["n"] = 2
    for values in ([10, 20], [30, 40]):
        item = ROW2()
        item["a"], item["b"] = values
        mine["m"].append(item)
    mine["g"]["rows"] = 2
    for v in (1, 2):
        item = ROW3()
        item["a"] = item["b"] = item["c"] = v
        mine["g"]["cells"].append(item)
    print(mine.getData().hex())


def main():
    if sys.argv[1] == "grid":
        grid(bytes.fromhex(sys.argv[2]))
        return
    if sys.argv[1] == "names":
        names(bytes.fromhex(sys.argv[2]))
        return
    if sys.argv[1] == "counts":
        counts(bytes.fromhex(sys.argv[2]))
        return
    if sys.argv[1] == "twice":
        twice(bytes.fromhex(sys.argv[2]))
        return
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
