#!/usr/bin/env python3
"""impacket's endpoint mapper client against Warden's: hept_map for an interface, over a
connection to PORT (not 135), and hept_lookup of every entry. Prints the string binding and
the number of entries.
  impacket_epm.py PORT UUID VERSION"""
import sys

from impacket.dcerpc.v5 import epm, transport
from impacket.uuid import uuidtup_to_bin


def connect(port):
    dce = transport.DCERPCTransportFactory("ncacn_ip_tcp:127.0.0.1[%d]" % port).get_dce_rpc()
    dce.connect()
    return dce


def main():
    port, uuid, version = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    binding = epm.hept_map("127.0.0.1", uuidtup_to_bin((uuid, version)), protocol="ncacn_ip_tcp",
                           dce=connect(port))
    entries = epm.hept_lookup(None, dce=connect(port))
    print(binding, len(entries))


if __name__ == "__main__":
    main()
