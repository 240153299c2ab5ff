#!/usr/bin/python3
"""Writes the small seed corpora for the fuzzers (committed under fuzz/corpus/).

The frames are hand-made (the same shapes as decode/decoder_test.cc); the NetMon seed is made from
the pcap seed with editcap. Seeds omit the magic number the fuzzer itself prepends.
"""
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

FRAMES = {  # name: (link type, hex)
    "vlan_tcp_syn": (1, "001122334455 66778899aabb 8100 0064 0800 4500003c 1c46 4000 4006 0000 "
                        "0a000001 0a000002 d431 0050 00000064 00000000 a002 faf0 0000 0000 "
                        "020405b4 0402 080a 00001000 00000000 01 030307"),
    "ipv6_dns": (229, "60000000 0031 00 40 20010db8000000000000000000000001 "
                      "20010db8000000000000000000000002 3c00 0000 00000000 1100 0000 00000000 "
                      "c350 0035 0021 0000 abcd 0100 0001 0000 0000 0000 "
                      "076578616d706c6503636f6d00 0001 0001"),
    "icmp_error": (228, "45000038 0000 0000 4001 0000 0a000002 0a000001 0303 0000 00000000 "
                        "4500001c 1234 0000 4011 0000 0a000001 0a000002 0035 7f6f 0008 0000"),
    "sll_icmp": (113, "0000 0304 0006 000000000000 0000 0800 45000020 0000 0000 4001 0000 "
                      "7f000001 7f000001 0800f7ff 00000000 00000000 00000000"),
    "fragment": (228, "45000020 0001 00b9 4011 0000 c0a80001 c0a80002 0102030405060708 090a0b0c"),
}


def frame(name):
    link, text = FRAMES[name]
    return link, bytes.fromhex(text.replace(" ", ""))


def write(folder, name, data):
    os.makedirs(os.path.join(HERE, "corpus", folder), exist_ok=True)
    with open(os.path.join(HERE, "corpus", folder, name), "wb") as f:
        f.write(data)


def pcap(frames, link):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link)
    for i, data in enumerate(frames):
        out += struct.pack("<IIII", 1700000000 + i, 1000 * i, len(data), len(data)) + data
    return out


def block(kind, body):
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def pcapng():
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + option(1, b"seed") + b"\0" * 4)
    out += block(1, struct.pack("<HHI", 1, 0, 65535) + option(2, b"eth0") + option(9, b"\x09") + b"\0" * 4)
    out += block(1, struct.pack("<HHI", 229, 0, 0) + b"\0" * 4)
    _, eth = frame("vlan_tcp_syn")
    _, v6 = frame("ipv6_dns")
    out += block(6, struct.pack("<IIIII", 0, 1, 2, len(eth), len(eth)) + eth + b"\0" * (-len(eth) % 4)
                 + option(1, b"a comment") + b"\0" * 4)
    out += block(6, struct.pack("<IIIII", 1, 1, 3, len(v6), len(v6)) + v6)
    out += block(3, struct.pack("<I", len(eth)) + eth)
    out += block(0x40000BAD, struct.pack("<I", 32473) + b"custom")
    return out


def main():
    for name, (link, data) in ((n, frame(n)) for n in FRAMES):
        link_index = [0, 1, 101, 108, 113, 228, 229, 239, 276].index(link)
        write("decode", name, bytes([link_index]) + data)
    _, eth = frame("vlan_tcp_syn")
    classic = pcap([eth, eth[:40]], 1)
    write("pcap", "two_frames", b"\0" + classic[4:])
    write("pcap", "nanosecond", b"\x02" + classic[4:])
    write("pcapng", "sections_and_blocks", pcapng()[4:])
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.pcap"), os.path.join(tmp, "out.cap")
        open(src, "wb").write(classic)
        subprocess.run(["editcap", "-F", "netmon2", src, dst], check=True)
        write("netmon", "from_editcap", open(dst, "rb").read()[4:])
    for i, text in enumerate(["tcp.port == 80 && ip.src == 10.0.0.0/8",
                              "!(udp) or dns.qry.name == \"example.com\"",
                              "tcp.flags.syn == 1 and tcp.window_size_value < 1000",
                              "eth.src == 00:11:22:33:44:55 || ipv6.addr == 2001:db8::/32"]):
        write("display_filter", f"expression{i}", text.encode())

    # TCP segments for fuzz_pdu_framer: [flags][2-byte advance][length][bytes], flags bit 0 the
    # direction, bits 4-6 the server port (0: 445, 2: 53, 3: 80, 4: 135).
    def segments(port, *pieces):
        out = b""
        for direction, data in pieces:
            out += bytes([direction | port << 4]) + b"\x00\x00" + bytes([len(data)]) + data
        return out
    smb2 = b"\x00\x00\x00\x48" + b"\xfeSMB" + b"\x40" + b"\x00" * 67
    write("pdu_framer", "nbss_smb2_split", segments(0, (0, smb2[:30]), (0, smb2[30:]), (1, smb2)))
    http = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    write("pdu_framer", "http_chunked", segments(3, (0, b"GET / HTTP/1.1\r\n\r\n"),
                                                   (1, http[:40]), (1, http[40:])))
    dce = bytes([5, 0, 0, 3, 0x10, 0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0]) + b"\x00" * 8
    write("pdu_framer", "dcerpc_request", segments(4, (0, dce[:10]), (0, dce[10:])))
    write("pdu_framer", "dns_tcp", segments(2, (0, b"\x00\x0c" + b"\x12\x34\x01\x00" + b"\x00" * 8)))
    # NDR requests for examples/tree/tree.idl: opnum byte, then the stub data.
    tree3 = bytes.fromhex("0100 0000 00000200 04000200"
                          "0200 0000 00000000 00000000 0300 0000 00000000 00000000")
    write("ndr", "sum_tree", b"\x00" + tree3)
    write("ndr", "change_tree", b"\x01" + tree3)
    write("ndr", "build", b"\x02" + bytes.fromhex("0300"))
    write("ndr", "sum_all_nodes", b"\x04" + tree3)
    write("ndr", "keep_dont_free", b"\x05" + tree3)
    # x -> y, z; y -> z (alias), x (cycle); z -> z
    write("ndr", "visit_graph", b"\x06" + bytes.fromhex("01000000 01000000 02000000 03000000"
                                                        "02000000 03000000 01000000"
                                                        "03000000 03000000 00000000"))
    write("ndr", "build_into", b"\x07" + bytes.fromhex("00010000 0300"))
    write("ndr", "twice_long", b"\x08" + bytes.fromhex("0100 0100 15000000"))
    write("ndr", "twice_string", b"\x08" + bytes.fromhex("0300 0300 00000200"
                                                         "04000000 00000000 04000000"
                                                         "61006200630000 00"))
    write("ndr", "area_circle", b"\x09" + bytes.fromhex("02000000 00000000 0000000000000040"))
    write("ndr", "sum_counts", b"\x0a" + bytes.fromhex("03000000 03000000 010002000300"))
    write("ndr", "bump_counts", b"\x0b" + bytes.fromhex("03000000 03000000 010002000300"))
    write("ndr", "make_counts", b"\x0c" + bytes.fromhex("04000000"))
    write("ndr", "fail", b"\x0d" + bytes.fromhex("34120000"))
    write("ndr", "count_chars", b"\x0f" + bytes.fromhex(
        "03000000 03000000 00000200 00000000 04000200"
        "03000000 00000000 03000000 610062000000 0000"
        "04000000 00000000 04000000 6300640065000000"))
    write("ndr", "names", b"\x10" + bytes.fromhex("04000000"))
    write("ndr", "open", b"\x11" + bytes.fromhex("0a000000"))
    write("ndr", "next", b"\x12" + bytes.fromhex("00000000 42000000000000000000000000000000"))
    write("ndr", "checksum", b"\x14" + bytes.fromhex("04000000 04000000 01020304"))
    # a, b, a (alias), null, null: full pointers to conformant structures
    write("ndr", "blobs", b"\x16" + bytes.fromhex("05000000 05000000"
                                                  "01000000 02000000 01000000 00000000 00000000"
                                                  "02000000 02000000 0102 0000"
                                                  "03000000 03000000 030405"))
    write("ndr", "grid", b"\x17" + bytes.fromhex("010002000300 040005000600 02000000"
                                                 "02000000 0a000000 14000000 1e000000 28000000"
                                                 "02000000 02000000 010001000100 020002000200"))


if __name__ == "__main__":
    main()
