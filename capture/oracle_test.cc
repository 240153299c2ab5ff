// The capture readers against capinfos, tshark and editcap on every real capture this machine has:
// frame counts and error behaviour as capinfos reports them, per-frame time, length and captured
// length as tshark prints them, and NetMon 2.x copies made by editcap.
#include "testsupport/oracle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "capture/capture.h"
#include "capture/writer.h"

namespace warden::capture {
namespace {

using testing::run;
using testing::shellQuote;

using testing::capinfosCount;
using testing::CapinfosCount;
using testing::TsharkFrame;
using testing::tsharkFrames;

std::string testName(const ::testing::TestParamInfo<std::string>& info) {
  return testing::captureTestName(info.param);
}

class RealCapture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!testing::haveTool("tshark") || !testing::haveTool("capinfos")) {
      GTEST_SKIP() << "tshark/capinfos not installed (scripts/setup.sh installs them)";
    }
  }
};

void expectSameFrames(const Capture& capture, const std::vector<TsharkFrame>& expected,
                      const std::string& what) {
  ASSERT_EQ(capture.frameCount(), expected.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    Frame f = capture.frame(i);
    ASSERT_EQ(f.wireLength, expected[i].wireLength) << what << " frame " << f.number;
    ASSERT_EQ(f.capturedLength, expected[i].capturedLength) << what << " frame " << f.number;
    ASSERT_EQ(f.bytes.size(), f.capturedLength);
    ASSERT_EQ(f.timestampNs, expected[i].timestampNs) << what << " frame " << f.number;
  }
}

TEST_P(RealCapture, FrameCountsAndErrorsMatchCapinfos) {
  const std::string& path = GetParam();
  CapinfosCount oracle = capinfosCount(path);
  Result<Capture> lenient = Capture::open(path);
  Result<Capture> strict = Capture::open(path, OpenOptions{.strict = true});
  if (oracle.error) {
    EXPECT_FALSE(strict.ok()) << "capinfos fails on " << path << " but strict mode read it";
    if (lenient.ok()) {
      EXPECT_EQ(lenient->frameCount(), oracle.packets);
      EXPECT_FALSE(lenient->warnings().empty()) << "stopped early without saying why";
    }
  } else {
    ASSERT_TRUE(lenient.ok()) << lenient.status().toString();
    EXPECT_EQ(lenient->frameCount(), oracle.packets);
    EXPECT_TRUE(strict.ok()) << strict.status().toString();
  }
}

TEST_P(RealCapture, EveryFrameMatchesTshark) {
  const std::string& path = GetParam();
  Result<Capture> capture = Capture::open(path);
  if (!capture.ok()) GTEST_SKIP() << "unreadable, covered by the capinfos test";
  expectSameFrames(*capture, tsharkFrames(path), path);
}

// NetMon 2.x: editcap writes the copy (2.0 for one link type, 2.1 with per-frame media types);
// both tshark's reading of the copy and the source's frames must agree with ours.
TEST_P(RealCapture, NetmonCopyMatchesTsharkAndTheSource) {
  const std::string& path = GetParam();
  Result<Capture> source = Capture::open(path);
  if (!source.ok() || source->frameCount() == 0) GTEST_SKIP() << "no frames to convert";
  std::string dir = testing::makeTempDir("warden-netmon");
  std::string copy = dir + "/copy.cap";
  Result<testing::CommandResult> converted =
      run("editcap -F netmon2 " + shellQuote(path) + " " + shellQuote(copy));
  if (!converted.ok() || converted->exitCode != 0) {
    std::filesystem::remove_all(dir);
    GTEST_SKIP() << "editcap cannot write this capture's link types as NetMon 2.x";
  }
  Result<Capture> netmon = Capture::open(copy, OpenOptions{.strict = true});
  ASSERT_TRUE(netmon.ok()) << netmon.status().toString();
  EXPECT_EQ(netmon->format(), Format::kNetmon);
  expectSameFrames(*netmon, tsharkFrames(copy), copy);
  ASSERT_EQ(netmon->frameCount(), source->frameCount());
  // editcap writes a single-link-type 2.0 file even when the source mixes link types (it labels
  // every frame with the first one, and tshark reads them so): compare link types only when the
  // source has one.
  bool oneLinkType = true;
  for (const Interface& iface : source->interfaces()) {
    oneLinkType = oneLinkType && iface.linkType == source->interfaces()[0].linkType;
  }
  for (std::size_t i = 0; i < source->frameCount(); ++i) {
    Frame a = source->frame(i), b = netmon->frame(i);
    ASSERT_TRUE(std::equal(a.bytes.begin(), a.bytes.end(), b.bytes.begin(), b.bytes.end()))
        << "frame " << a.number;
    if (oneLinkType) {
      ASSERT_EQ(a.linkType, b.linkType) << "frame " << a.number;
    }
    // NetMon keeps microseconds: the source's time rounded to the nearest microsecond.
    ASSERT_LE(std::abs(a.timestampNs - b.timestampNs), 500) << "frame " << a.number;
  }
  std::filesystem::remove_all(dir);
}

std::vector<std::string> tsharkComments(const std::string& path) {
  Result<testing::CommandResult> r =
      run("tshark -n -r " + shellQuote(path) + " -T fields -e frame.comment");
  std::vector<std::string> comments;
  std::istringstream lines(r.ok() ? r->out : "");
  std::string line;
  while (std::getline(lines, line)) comments.push_back(line);
  return comments;
}

// Read -> write pcapng (with comments) and pcap -> tshark and capinfos see the same frames, and our
// reader gets the same bytes back.
TEST_P(RealCapture, RoundTripThroughOurWritersMatchesTshark) {
  const std::string& path = GetParam();
  Result<Capture> source = Capture::open(path);
  if (!source.ok() || source->frameCount() == 0) GTEST_SKIP() << "no frames to write";
  std::vector<TsharkFrame> expected;
  for (std::size_t i = 0; i < source->frameCount(); ++i) {
    Frame f = source->frame(i);
    expected.push_back({f.timestampNs, f.wireLength, f.capturedLength});
  }
  std::string dir = testing::makeTempDir("warden-roundtrip");

  std::string ng = dir + "/out.pcapng";
  {
    Result<PcapngWriter> writer = PcapngWriter::create(ng, "warden test");
    ASSERT_TRUE(writer.ok()) << writer.status().toString();
    for (const Interface& iface : source->interfaces()) {
      ASSERT_TRUE(writer->addInterface(iface.linkType, iface.snaplen, iface.name).ok());
    }
    for (std::size_t i = 0; i < source->frameCount(); ++i) {
      Frame f = source->frame(i);
      std::string comment = i % 3 == 0 ? fmt::format("frame {} of {}", f.number, path) : "";
      // Every other frame borrowed from the source (it outlives the writer), the rest copied.
      bool stable = i % 2 == 1;
      ASSERT_TRUE(
          writer->write({f.timestampNs, f.wireLength, f.bytes, f.interface, comment, stable}).ok());
    }
    ASSERT_TRUE(writer->close().ok());
  }
  expectSameFrames(*Capture::open(ng), expected, ng + " (our reader)");
  expectSameFrames(*Capture::open(ng), tsharkFrames(ng), ng + " (tshark)");
  CapinfosCount count = capinfosCount(ng);
  EXPECT_FALSE(count.error);
  EXPECT_EQ(count.packets, source->frameCount());
  std::vector<std::string> comments = tsharkComments(ng);
  ASSERT_EQ(comments.size(), source->frameCount());
  for (std::size_t i = 0; i < comments.size(); ++i) {
    EXPECT_EQ(comments[i], i % 3 == 0 ? fmt::format("frame {} of {}", i + 1, path) : "");
  }
  Result<Capture> reread = Capture::open(ng);
  for (std::size_t i = 0; i < source->frameCount(); ++i) {
    auto a = source->frame(i).bytes, b = reread->frame(i).bytes;
    ASSERT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << "frame " << i + 1;
  }

  // pcap holds one link type: write it only for captures that have one.
  bool oneLinkType = true;
  for (const Interface& iface : source->interfaces()) {
    oneLinkType = oneLinkType && iface.linkType == source->interfaces()[0].linkType;
  }
  if (oneLinkType && source->frame(0).timestampNs >= 0) {
    std::string classic = dir + "/out.pcap";
    Result<PcapWriter> writer = PcapWriter::create(classic, source->interfaces()[0].linkType);
    ASSERT_TRUE(writer.ok());
    for (std::size_t i = 0; i < source->frameCount(); ++i) {
      Frame f = source->frame(i);
      ASSERT_TRUE(writer->write({f.timestampNs, f.wireLength, f.bytes, 0, {}, i % 2 == 1}).ok());
    }
    ASSERT_TRUE(writer->close().ok());
    expectSameFrames(*Capture::open(classic), tsharkFrames(classic), classic + " (tshark)");
    expectSameFrames(*Capture::open(classic), expected, classic + " (our reader)");
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Captures, RealCapture, ::testing::ValuesIn(testing::realCaptures()),
                         testName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RealCapture);

TEST(RealCaptures, TheSharedAndPackagedSetsArePresent) {
  std::vector<std::string> files = testing::realCaptures();
  if (!std::filesystem::exists(std::string(WARDEN_SHARED_DIR) + "/captures")) {
    GTEST_SKIP() << "../shared/captures is absent: only the packaged captures are compared";
  }
  EXPECT_GE(files.size(), 28u) << "../shared/captures alone holds 28 captures";
}

}  // namespace
}  // namespace warden::capture
