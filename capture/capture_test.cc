// Capture readers on hand-built files: every header field and timestamp form, and every kind of
// bad input the issue names, in strict and lenient mode.
#include "capture/capture.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/bytes.h"
#include "testsupport/oracle.h"

namespace warden::capture {
namespace {

using ::testing::HasSubstr;

std::vector<std::byte> payload(std::size_t n, int seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>(seed + i);
  return out;
}

// pcap file bytes, either byte order, µs or ns.
struct PcapBuilder {
  std::vector<std::byte> bytes;
  Endian endian;
  bool nanos;
  PcapBuilder(Endian e, bool ns, std::uint32_t snaplen = 65535, std::uint32_t link = 1)
      : endian(e), nanos(ns) {
    ByteWriter w(bytes, ByteWriter::kNoLimit, endian);
    w.u32(ns ? 0xa1b23c4d : 0xa1b2c3d4);
    w.u16(2);
    w.u16(4);
    w.u32(0);
    w.u32(0);
    w.u32(snaplen);
    w.u32(link);
  }
  PcapBuilder& record(std::uint32_t sec, std::uint32_t frac, std::span<const std::byte> data,
                      std::uint32_t wire = 0, std::uint32_t claimed = 0) {
    ByteWriter w(bytes, ByteWriter::kNoLimit, endian);
    w.u32(sec);
    w.u32(frac);
    w.u32(claimed ? claimed : static_cast<std::uint32_t>(data.size()));
    w.u32(wire ? wire : static_cast<std::uint32_t>(data.size()));
    w.bytes(data);
    return *this;
  }
};

// pcapng blocks, any byte order.
struct PcapngBuilder {
  std::vector<std::byte> bytes;
  Endian endian = Endian::kLittle;

  template <typename Body>
  PcapngBuilder& block(std::uint32_t type, Body&& body) {
    ByteWriter w(bytes, ByteWriter::kNoLimit, endian);
    std::size_t start = w.offset();
    w.u32(type);
    w.u32(0);
    body(w);
    w.alignTo(4);
    w.u32(0);
    auto length = static_cast<std::uint32_t>(w.offset() - start);
    w.patchU32(start + 4, length);
    w.patchU32(start + length - 4, length);
    EXPECT_TRUE(w.finish().ok());
    return *this;
  }
  PcapngBuilder& section(Endian e, std::string_view comment = {}) {
    endian = e;
    return block(0x0a0d0d0a, [&](ByteWriter& w) {
      w.u32(0x1a2b3c4d);
      w.u16(1);
      w.u16(0);
      w.u64(~std::uint64_t{0});
      if (!comment.empty()) option(w, 1, comment);
      w.u32(0);
    });
  }
  static void option(ByteWriter& w, std::uint16_t code, std::string_view value) {
    w.u16(code);
    w.u16(static_cast<std::uint16_t>(value.size()));
    w.bytes(value);
    w.alignTo(4);
  }
  PcapngBuilder& interface(std::uint16_t link, std::uint32_t snaplen = 0, int tsresol = -1,
                           std::int64_t tsoffset = 0, std::string_view name = {}) {
    return block(1, [&](ByteWriter& w) {
      w.u16(link);
      w.u16(0);
      w.u32(snaplen);
      if (!name.empty()) option(w, 2, name);
      if (tsresol >= 0) {
        w.u16(9);
        w.u16(1);
        w.u8(static_cast<std::uint8_t>(tsresol));
        w.alignTo(4);
      }
      if (tsoffset != 0) {
        w.u16(14);
        w.u16(8);
        w.u64(static_cast<std::uint64_t>(tsoffset));
      }
      w.u32(0);
    });
  }
  PcapngBuilder& packet(std::uint32_t iface, std::uint64_t ts, std::span<const std::byte> data,
                        std::string_view comment = {}) {
    return block(6, [&](ByteWriter& w) {
      w.u32(iface);
      w.u32(static_cast<std::uint32_t>(ts >> 32));
      w.u32(static_cast<std::uint32_t>(ts));
      w.u32(static_cast<std::uint32_t>(data.size()));
      w.u32(static_cast<std::uint32_t>(data.size()) + 4);
      w.bytes(data);
      w.alignTo(4);
      if (!comment.empty()) {
        option(w, 1, comment);
        w.u32(0);
      }
    });
  }
};

Result<Capture> openBytes(const std::vector<std::byte>& bytes, bool strict = false) {
  return Capture::fromBytes(bytes, "test.cap", OpenOptions{.strict = strict});
}

TEST(Pcap, ReadsBothByteOrdersAndBothResolutions) {
  auto a = payload(60, 1), b = payload(1514, 2);
  for (Endian e : {Endian::kLittle, Endian::kBig}) {
    for (bool nanos : {false, true}) {
      PcapBuilder file(e, nanos, 65535, 1);
      file.record(1700000000, nanos ? 123456789 : 123456, a, 64).record(1700000001, 5, b);
      Result<Capture> capture = openBytes(file.bytes);
      ASSERT_TRUE(capture.ok()) << capture.status().toString();
      EXPECT_EQ(capture->format(), Format::kPcap);
      EXPECT_EQ(capture->version(), "2.4");
      ASSERT_EQ(capture->frameCount(), 2u);
      ASSERT_EQ(capture->interfaces().size(), 1u);
      EXPECT_EQ(capture->interfaces()[0].linkType, link::kEthernet);
      EXPECT_EQ(capture->interfaces()[0].snaplen, 65535u);
      Frame f = capture->frame(0);
      EXPECT_EQ(f.number, 1u);
      EXPECT_EQ(f.timestampNs, 1700000000'123456789LL - (nanos ? 0 : 789));
      EXPECT_EQ(f.capturedLength, 60u);
      EXPECT_EQ(f.wireLength, 64u);
      EXPECT_TRUE(std::equal(f.bytes.begin(), f.bytes.end(), a.begin(), a.end()));
      Frame g = capture->frame(1);
      EXPECT_EQ(g.timestampNs, 1700000001'000000000LL + (nanos ? 5 : 5000));
      EXPECT_TRUE(std::equal(g.bytes.begin(), g.bytes.end(), b.begin(), b.end()));
      EXPECT_TRUE(capture->warnings().empty());
    }
  }
}

TEST(Pcap, LinkTypeIgnoresTheFcsBits) {
  PcapBuilder file(Endian::kLittle, false, 65535, 0x10000000u | 113);
  ASSERT_EQ(openBytes(file.bytes)->interfaces()[0].linkType, link::kLinuxSll);
}

TEST(Pcap, TruncatedFileHeaderIsAnErrorInBothModes) {
  PcapBuilder file(Endian::kLittle, false);
  file.bytes.resize(20);
  for (bool strict : {false, true}) {
    Result<Capture> c = openBytes(file.bytes, strict);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Code::kTruncated);
    EXPECT_THAT(c.status().toString(),
                HasSubstr("test.cap: pcap file header: need 24 bytes, have 20"));
  }
}

TEST(Pcap, RecordPastTheEndStopsAtTheLastGoodFrameOrFailsWhenStrict) {
  PcapBuilder file(Endian::kLittle, false);
  auto data = payload(100, 0);
  file.record(1, 0, data).record(2, 0, data);
  file.bytes.resize(file.bytes.size() - 10);  // cut the second record short
  Result<Capture> lenient = openBytes(file.bytes);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->frameCount(), 1u);
  ASSERT_EQ(lenient->warnings().size(), 1u);
  EXPECT_THAT(lenient->warnings()[0].toString(),
              HasSubstr("stopped after frame 1: record 2 at offset 140: captured length 100 but "
                        "only 90 bytes remain"));
  Result<Capture> strict = openBytes(file.bytes, true);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), Code::kTruncated);
  EXPECT_THAT(strict.status().toString(), HasSubstr("test.cap: record 2 at offset 140"));
}

TEST(Pcap, TruncatedRecordHeader) {
  PcapBuilder file(Endian::kLittle, false);
  file.record(1, 0, payload(10, 0));
  file.bytes.resize(file.bytes.size() + 7);
  Result<Capture> c = openBytes(file.bytes);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->frameCount(), 1u);
  EXPECT_THAT(c->warnings()[0].message(),
              HasSubstr("record 2 header at offset 50: need 16 bytes, have 7"));
}

TEST(Pcap, AbsurdCapturedLengthIsRefusedWithoutAllocating) {
  PcapBuilder file(Endian::kLittle, false);
  file.record(1, 0, payload(10, 0), 0, /*claimed=*/0xfffffff0u);
  Result<Capture> c = openBytes(file.bytes, true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kMalformed);
  EXPECT_THAT(c.status().message(),
              HasSubstr("captured length 4294967280 exceeds the 262144-byte limit"));
}

TEST(Pcap, CapturedLongerThanSnaplenWarnsOnceOrFailsWhenStrict) {
  PcapBuilder file(Endian::kLittle, false, /*snaplen=*/64);
  file.record(1, 0, payload(100, 0)).record(2, 0, payload(100, 0)).record(3, 0, payload(10, 0));
  Result<Capture> lenient = openBytes(file.bytes);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->frameCount(), 3u) << "the frames are kept, as tshark keeps them";
  ASSERT_EQ(lenient->warnings().size(), 1u);
  EXPECT_THAT(lenient->warnings()[0].message(),
              HasSubstr("2 frames are longer than the file's snaplen 64"));
  Result<Capture> strict = openBytes(file.bytes, true);
  EXPECT_THAT(strict.status().message(),
              HasSubstr("record 1 at offset 24: captured length 100 exceeds the snaplen 64"));
}

// Every record's offset, time and lengths, and the warnings, as one comparable text.
std::string indexOf(const Capture& c) {
  std::string out;
  for (const FrameRecord& r : c.records()) {
    out += fmt::format("{} {} {} {} {}\n", r.offset, r.timestampNs, r.capturedLength, r.wireLength,
                       r.interface);
  }
  for (const Status& w : c.warnings()) out += w.toString() + "\n";
  return out;
}

// Two threads index what one does: a second half whose guessed start is a record boundary, one
// whose payloads are full of plausible record headers (the guess lands inside a frame and must
// be ignored), and one with an unusual record (longer than the snaplen) past the middle, which
// the second thread leaves to the first. Both byte orders.
TEST(Pcap, TwoThreadsIndexTheSameFramesAsOne) {
  for (Endian e : {Endian::kLittle, Endian::kBig}) {
    for (int kind = 0; kind < 3; ++kind) {
      SCOPED_TRACE(fmt::format("kind {} {}", kind, e == Endian::kBig ? "big" : "little"));
      PcapBuilder file(e, false, 2000, 1);
      for (std::uint32_t i = 0; i < 4000; ++i) {
        std::vector<std::byte> data = payload(60 + i * 37 % 1400, static_cast<int>(i));
        if (kind == 1) {  // fake headers: 16-byte records of 0..10 bytes, times a second apart
          PcapBuilder fake(e, false);
          for (std::uint32_t k = 0; fake.bytes.size() + 26 < data.size(); ++k)
            fake.record(1'700'000'000 + k, 0, payload(k % 11, 3));
          std::copy(fake.bytes.begin() + 24, fake.bytes.end(), data.begin());
        }
        std::uint32_t claimed = kind == 2 && i == 3000 ? 1999 : 0;
        if (claimed != 0) data.resize(1999);
        file.record(1'700'000'000 + i / 100, i % 1000 * 1000, data, claimed == 0 ? 0 : 2100);
        if (kind == 2 && i == 3000) file.record(1'700'000'030, 0, payload(2001, 1));  // > snaplen
      }
      Result<Capture> one =
          Capture::fromBytes(file.bytes, "one.pcap", OpenOptions{.parallelIndexBytes = SIZE_MAX});
      Result<Capture> two =
          Capture::fromBytes(file.bytes, "two.pcap", OpenOptions{.parallelIndexBytes = 0});
      ASSERT_TRUE(one.ok() && two.ok());
      EXPECT_EQ(one->frameCount(), kind == 2 ? 4001u : 4000u);
      EXPECT_EQ(indexOf(*two), indexOf(*one));
      EXPECT_EQ(one->secondThreadFrames(), 0u);
      if (kind != 1) {
        EXPECT_GT(two->secondThreadFrames(), 100u);  // the guess was a record boundary
      }
      if (kind == 2) {
        EXPECT_LT(two->secondThreadFrames(), 1000u);  // and it stopped at the long record
      }
    }
  }
}

// The same on every real capture here: the two-thread index is the one-thread index.
TEST(Pcap, TwoThreadsIndexRealCapturesAsOneDoes) {
  std::size_t pcaps = 0;
  for (const std::string& path : testing::realCaptures()) {
    Result<Capture> one = Capture::open(path, OpenOptions{.parallelIndexBytes = SIZE_MAX});
    if (!one.ok() || one->format() != Format::kPcap) continue;
    ++pcaps;
    Result<Capture> two = Capture::open(path, OpenOptions{.parallelIndexBytes = 0});
    ASSERT_TRUE(two.ok()) << path;
    EXPECT_EQ(indexOf(*two), indexOf(*one)) << path;
  }
  EXPECT_GT(pcaps, 5u);
}

TEST(Capture, UnknownAndTinyFilesAreRefusedByName) {
  std::vector<std::byte> junk = payload(64, 0x41);
  Result<Capture> c = openBytes(junk);
  EXPECT_EQ(c.status().code(), Code::kUnsupported);
  EXPECT_THAT(c.status().message(),
              HasSubstr("test.cap: not a pcap, pcapng or NetMon 2.x capture"));
  std::vector<std::byte> tiny = payload(3, 0);
  EXPECT_EQ(openBytes(tiny).status().code(), Code::kTruncated);
  EXPECT_EQ(Capture::open("/nonexistent/file.pcap").status().code(), Code::kNotFound);
  EXPECT_EQ(Capture::open(std::filesystem::temp_directory_path().string()).status().code(),
            Code::kInvalidArgument);
}

// Kilobytes of file pages this process has mapped (RssFile of /proc/self/status).
std::uint64_t residentFileKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("RssFile:", 0) == 0) return std::stoull(line.substr(8));
  }
  return 0;
}

TEST(Capture, ReleasedBytesLeaveResidentMemoryAndStayReadable) {
  // 48 MiB of 1500-byte frames, written to a real file so that it is mapped.
  PcapBuilder pcap(Endian::kLittle, false);
  constexpr std::size_t kFrames = 48 * 1024 * 1024 / 1516;
  for (std::size_t i = 0; i < kFrames; ++i) {
    pcap.record(static_cast<std::uint32_t>(i), 0, payload(1500, static_cast<int>(i)));
  }
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("warden-release-" + std::to_string(getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(pcap.bytes.data()),
              static_cast<std::streamsize>(pcap.bytes.size()));
  }
  auto sum = [](const Capture& c) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < c.frameCount(); ++i) {
      for (std::byte b : c.frame(i).bytes) total = total * 31 + static_cast<std::uint8_t>(b);
    }
    return total;
  };
  Result<Capture> c = Capture::open(path.string());
  std::filesystem::remove(path);  // the mapping keeps the bytes
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->frameCount(), kFrames);
  const std::uint64_t afterIndex = residentFileKb();
  const std::uint64_t before = sum(*c);  // maps every page
  const std::uint64_t mapped = residentFileKb();
  EXPECT_GT(mapped, afterIndex + 40 * 1024) << "indexing released what it walked";
  c->release(0, c->fileSize());
  EXPECT_LT(residentFileKb(), mapped - 40 * 1024);
  c->release(1, 4097);  // partial pages: nothing, no crash
  EXPECT_EQ(sum(*c), before) << "released bytes read back the same";
}

TEST(Pcapng, SectionsInterfacesResolutionsOffsetsAndComments) {
  auto a = payload(50, 3), b = payload(70, 4), c = payload(30, 5);
  PcapngBuilder file;
  file.section(Endian::kLittle, "first section")
      .interface(link::kEthernet, 65535, -1, 0, "eth0")  // default: microseconds
      .interface(link::kRaw, 0, 9)                       // nanoseconds
      .packet(0, 1700000000'000001ull, a, "hello")
      .packet(1, 1700000000'000000001ull, b)
      .section(Endian::kBig)                                        // interface ids restart
      .interface(link::kLinuxSll2, 0, 0x80 | 20, /*tsoffset=*/100)  // 2^-20 s
      .packet(0, (std::uint64_t{5} << 20) | (1 << 19), c);          // 5.5 s (+100 s offset)
  Result<Capture> capture = openBytes(file.bytes, true);
  ASSERT_TRUE(capture.ok()) << capture.status().toString();
  EXPECT_EQ(capture->format(), Format::kPcapng);
  ASSERT_EQ(capture->interfaces().size(), 3u);
  EXPECT_EQ(capture->interfaces()[0].name, "eth0");
  EXPECT_EQ(capture->interfaces()[0].timestampResolution, "1e-6");
  EXPECT_EQ(capture->interfaces()[1].timestampResolution, "1e-9");
  EXPECT_EQ(capture->interfaces()[2].timestampResolution, "2^-20");
  EXPECT_EQ(capture->interfaces()[2].section, 1u);
  ASSERT_EQ(capture->frameCount(), 3u);
  EXPECT_EQ(capture->frame(0).timestampNs, 1700000000'000001000LL);
  EXPECT_EQ(capture->frame(0).comment, "hello");
  EXPECT_EQ(capture->frame(0).wireLength, 54u);
  EXPECT_EQ(capture->frame(1).timestampNs, 1700000000'000000001LL);
  EXPECT_EQ(capture->frame(1).linkType, link::kRaw);
  EXPECT_TRUE(capture->frame(1).comment.empty());
  EXPECT_EQ(capture->frame(2).timestampNs, 105'500000000LL);
  EXPECT_EQ(capture->frame(2).interface, 2u);
  EXPECT_EQ(capture->frame(2).linkType, link::kLinuxSll2);
  auto bytes = capture->frame(2).bytes;
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), c.begin(), c.end()));
  ASSERT_EQ(capture->sectionComments().size(), 1u);
  EXPECT_EQ(capture->sectionComments()[0], "first section");
}

TEST(Pcapng, UnknownAndCustomBlocksAreSkipped) {
  auto a = payload(20, 0);
  PcapngBuilder file;
  file.section(Endian::kLittle)
      .block(0x00000bad,
             [](ByteWriter& w) {
               w.u32(12345);
               w.u32(7);
             })  // custom
      .interface(link::kEthernet)
      .block(4, [](ByteWriter& w) { w.u32(0); })       // NRB
      .block(0x7777, [](ByteWriter& w) { w.u64(1); })  // unknown
      .packet(0, 1, a)
      .block(5, [](ByteWriter& w) {
        w.u32(0);
        w.u64(0);
        w.u32(0);
      });  // ISB
  Result<Capture> c = openBytes(file.bytes, true);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->frameCount(), 1u);
}

TEST(Pcapng, BadBlockLengthsAreNamedWithTheirOffset) {
  auto a = payload(20, 0);
  PcapngBuilder good;
  good.section(Endian::kLittle).interface(link::kEthernet).packet(0, 1, a).packet(0, 2, a);
  std::size_t secondPacket = good.bytes.size() - 52;

  auto withLength = [&](std::uint32_t length) {
    std::vector<std::byte> bytes = good.bytes;
    std::memcpy(bytes.data() + secondPacket + 4, &length, 4);
    return bytes;
  };
  struct Case {
    std::uint32_t length;
    Code code;
    std::string text;
  };
  for (const Case& k :
       {Case{0xfffffff0u, Code::kTruncated, "total length 4294967280 but only 52 bytes remain"},
        Case{10, Code::kMalformed, "total length 10 is not a multiple of 4 of at least 12"},
        Case{50, Code::kMalformed, "total length 50 is not a multiple"},
        Case{48, Code::kMalformed, "differs from the leading 48"}}) {
    std::vector<std::byte> bytes = withLength(k.length);
    Result<Capture> strict = openBytes(bytes, true);
    ASSERT_FALSE(strict.ok()) << k.length;
    EXPECT_EQ(strict.status().code(), k.code) << k.length;
    EXPECT_THAT(strict.status().toString(),
                HasSubstr(fmt::format("block of type 0x6 at offset {}", secondPacket)));
    EXPECT_THAT(strict.status().toString(), HasSubstr(k.text));
    Result<Capture> lenient = openBytes(bytes);
    ASSERT_TRUE(lenient.ok());
    EXPECT_EQ(lenient->frameCount(), 1u);
    EXPECT_EQ(lenient->warnings().size(), 1u);
  }
}

TEST(Pcapng, PacketForAnUndescribedInterfaceIsMalformed) {
  PcapngBuilder file;
  file.section(Endian::kLittle).interface(link::kEthernet).packet(3, 1, payload(10, 0));
  Result<Capture> c = openBytes(file.bytes, true);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().toString(),
              HasSubstr("refers to interface 3, but the section has described 1"));
}

TEST(Pcapng, CapturedLengthPastTheBlockIsMalformed) {
  PcapngBuilder file;
  file.section(Endian::kLittle).interface(link::kEthernet).packet(0, 1, payload(16, 0));
  // Claim 1000 captured bytes inside a 48-byte block.
  std::uint32_t claimed = 1000;
  std::memcpy(file.bytes.data() + file.bytes.size() - 48 + 20, &claimed, 4);
  Result<Capture> c = openBytes(file.bytes, true);
  EXPECT_THAT(c.status().toString(), HasSubstr("captured length 1000 runs past the block"));
}

TEST(Pcapng, OptionLengthPastItsBlockIsMalformed) {
  PcapngBuilder file;
  file.section(Endian::kLittle).block(1, [](ByteWriter& w) {
    w.u16(1);
    w.u16(0);
    w.u32(0);
    w.u16(2);    // if_name
    w.u16(500);  // longer than the block
    w.u32(0);
  });
  Result<Capture> c = openBytes(file.bytes, true);
  EXPECT_THAT(
      c.status().toString(),
      HasSubstr(
          "block of type 0x1 at offset 32: option 2 at offset 48: length 500 runs past its block"));
}

TEST(Pcapng, BadByteOrderMagicAndMissingSectionHeader) {
  PcapngBuilder file;
  file.section(Endian::kLittle);
  file.bytes[8] = std::byte{0x99};
  EXPECT_THAT(openBytes(file.bytes, true).status().message(),
              HasSubstr("byte-order magic 1a2b3c99 is neither"));
}

// NetMon 2.0 bytes: 128-byte header, records, frame table.
std::vector<std::byte> netmonFile(std::uint16_t year,
                                  const std::vector<std::vector<std::byte>>& frames,
                                  std::uint32_t tableOffsetOverride = 0) {
  std::vector<std::byte> out(128);
  std::vector<std::uint32_t> offsets;
  ByteWriter w(out);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    offsets.push_back(static_cast<std::uint32_t>(128 + w.offset()));
    w.u64le(1000 * i);  // microseconds since the start
    w.u32le(static_cast<std::uint32_t>(frames[i].size()));
    w.u32le(static_cast<std::uint32_t>(frames[i].size()));
    w.bytes(frames[i]);
  }
  auto table = static_cast<std::uint32_t>(out.size());
  for (std::uint32_t o : offsets) w.u32le(o);
  EXPECT_TRUE(w.finish().ok());
  std::vector<std::byte> header;
  ByteWriter h(header);
  h.bytes(std::string_view("GMBU"));
  h.u8(0);     // minor
  h.u8(2);     // major
  h.u16le(1);  // Ethernet
  for (std::uint16_t v : {year, std::uint16_t{1}, std::uint16_t{0}, std::uint16_t{2},
                          std::uint16_t{3}, std::uint16_t{4}, std::uint16_t{5}, std::uint16_t{6}}) {
    h.u16le(v);
  }
  h.u32le(tableOffsetOverride ? tableOffsetOverride : table);
  h.u32le(static_cast<std::uint32_t>(offsets.size() * 4));
  std::memcpy(out.data(), header.data(), header.size());
  return out;
}

TEST(Netmon, ReadsFramesThroughTheFrameTable) {
  auto a = payload(60, 1), b = payload(70, 2);
  auto file = netmonFile(2024, {a, b});
  Result<Capture> c = openBytes(file, true);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->format(), Format::kNetmon);
  EXPECT_EQ(c->version(), "2.0");
  ASSERT_EQ(c->frameCount(), 2u);
  EXPECT_EQ(c->frame(1).timestampNs - c->frame(0).timestampNs, 1'000'000) << "1000 us apart";
  auto bytes = c->frame(1).bytes;
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), b.begin(), b.end()));
}

// Found by fuzz_netmon: an absurd start year overflowed the nanosecond arithmetic.
TEST(Netmon, AbsurdStartTimeSaturatesInsteadOfOverflowing) {
  auto file = netmonFile(65535, {payload(20, 0)});
  Result<Capture> c = openBytes(file, true);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->frameCount(), 1u);
}

TEST(Netmon, FrameTablePastTheEndIsNamed) {
  auto file = netmonFile(2024, {payload(20, 0)}, /*tableOffsetOverride=*/100000);
  Result<Capture> c = openBytes(file, true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kTruncated);
  EXPECT_THAT(c.status().message(), HasSubstr("netmon frame table at offset 100000"));
}

}  // namespace
}  // namespace warden::capture
