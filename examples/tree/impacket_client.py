#!/usr/bin/env python3
"""impacket as a DCE/RPC client of Warden's server: connects to ncacn_ip_tcp:127.0.0.1[PORT]
with impacket's own transport, binds the tree interface (NDR 2.0), calls Sum with a three-node
tree and Grid with multi-dimensional arrays built by impacket's NDR classes (impacket_check.py),
checks the replies, and checks that binding an interface the server does not offer, NDR64 alone,
or with NTLM authentication is refused. Prints "ok" and the numbers it checked.
  impacket_client.py PORT"""
import sys

from impacket.dcerpc.v5 import transport
from impacket.dcerpc.v5.dtypes import LONG, NULL, SHORT
from impacket.dcerpc.v5.ndr import NDRCALL, NDRSTRUCT
from impacket.dcerpc.v5.rpcrt import (
    RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
    RPC_C_AUTHN_WINNT,
    DCERPCException,
)
from impacket.uuid import uuidtup_to_bin

import impacket_check
from impacket_check import Grid, Sum

TREE = uuidtup_to_bin(("8e7f2a3c-5b1d-4c6e-9a0f-1d2c3b4a5e6f", "1.0"))
NOT_OFFERED = uuidtup_to_bin(("12345678-1234-abcd-ef00-0123456789ab", "1.0"))
NDR64 = uuidtup_to_bin(("71710533-beba-4937-8319-b5dbef9ccc36", "1.0"))


class SumResponse(NDRCALL):
    structure = (("result", LONG),)


class ROW2S(NDRSTRUCT):
    structure = (("a", SHORT), ("b", SHORT))


class GridResponse(NDRCALL):
    structure = (("t0", ROW2S), ("t1", ROW2S), ("t2", ROW2S), ("result", LONG))


# impacket finds a call's response class next to the call's class.
impacket_check.SumResponse = SumResponse
impacket_check.GridResponse = GridResponse


def connect(port):
    dce = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%d]" % port).get_dce_rpc()
    dce.connect()
    return dce


def main():
    port = int(sys.argv[1])
    dce = connect(port)
    dce.bind(TREE)
    call = Sum()
    call["root"]["sNumber"] = 1
    for side, number in (("pLeft", 2), ("pRight", 3)):
        call["root"][side]["sNumber"] = number
        call["root"][side]["pLeft"] = NULL
        call["root"][side]["pRight"] = NULL
    reply = dce.request(call, checkError=False)  # the last 4 bytes are a result, not a status
    assert reply["result"] == 6, reply["result"]

    grid = Grid()
    for r, values in zip(("r0", "r1"), ([1, 2, 3], [4, 5, 6])):
        for k, v in zip("abc", values):
            grid["fixed"][r][k] = v
    grid["n"] = 2
    for values in ([10, 20], [30, 40]):
        item = impacket_check.ROW2()
        item["a"], item["b"] = values
        grid["m"].append(item)
    grid["g"]["rows"] = 2
    for v in (1, 2):
        item = impacket_check.ROW3()
        item["a"] = item["b"] = item["c"] = v
        grid["g"]["cells"].append(item)
    reply = dce.request(grid, checkError=False)
    transposed = [[reply[t]["a"], reply[t]["b"]] for t in ("t0", "t1", "t2")]
    assert transposed == [[1, 4], [2, 5], [3, 6]], transposed
    assert reply["result"] == 130, reply["result"]
    dce.disconnect()

    refused = []
    for name, uuid, syntax in (("interface", NOT_OFFERED, None), ("ndr64", TREE, NDR64)):
        dce = connect(port)
        try:
            if syntax is None:
                dce.bind(uuid)
            else:
                dce.bind(uuid, transfer_syntax=("71710533-beba-4937-8319-b5dbef9ccc36", "1.0"))
        except DCERPCException as e:
            refused.append("%s: %s" % (name, str(e).split("\n")[0]))
        dce.disconnect()
    # An NTLM bind at packet integrity: no security provider here, so a bind_nak that says so.
    dce = connect(port)
    dce.set_credentials("user", "password", "DOMAIN")
    dce.set_auth_type(RPC_C_AUTHN_WINNT)
    dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
    try:
        dce.bind(TREE)
    except DCERPCException as e:
        refused.append("ntlm: %s" % str(e).split("\n")[0])
    dce.disconnect()
    assert len(refused) == 3, refused
    print("ok sum 6 grid 130 refused " + "; ".join(refused))


if __name__ == "__main__":
    main()
