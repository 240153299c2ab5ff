#!/usr/bin/env python3
"""Samba's client library (samba.dcerpc.echo) calls Warden's rpcecho server at
ncacn_ip_tcp:127.0.0.1[PORT]: AddOne, EchoData, SinkData, SourceData and TestCall, checking each
reply. Prints "ok" and what it checked. Samba's NDR warnings (unread stub bytes) go to stderr,
which the test reads too.
  samba_echo.py PORT"""
import sys

from samba.dcerpc import echo


def main():
    conn = echo.rpcecho("ncacn_ip_tcp:127.0.0.1[%s]" % sys.argv[1])
    assert conn.AddOne(41) == 42
    data = list(range(256)) * 40  # 10 KiB: both ways in several fragments
    assert list(conn.EchoData(data)) == data
    conn.SinkData(data)
    assert list(conn.SourceData(300)) == [i & 0xFF for i in range(300)]
    assert conn.TestCall("warden") == "warden"
    print("ok AddOne EchoData SinkData SourceData TestCall")


if __name__ == "__main__":
    main()
