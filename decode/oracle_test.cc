// The decoder and field table against tshark, frame by frame, on every real capture here: every
// field tshark prints for a frame (first occurrence, frame-local: no reassembly, raw sequence
// numbers) must be what our field table gives, and fields tshark leaves empty must be absent here.
#include "testsupport/oracle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "capture/capture.h"
#include "decode/decoder.h"
#include "decode/fields.h"
#include "decode/tshark_fields.h"

namespace warden::decode {
namespace {

class SharedCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedCapture, FieldsMatchTsharkFrameByFrame) {
  if (!testing::haveTool("tshark")) GTEST_SKIP() << "tshark not installed";
  expectFieldsMatchTshark(GetParam());
}

// The shared captures, and those Debian packages ship (gopacket, dpkt: PPPoE, truncated DNS).
std::vector<std::string> sharedCaptures() { return testing::realCaptures(); }

std::string testName(const ::testing::TestParamInfo<std::string>& info) {
  return testing::captureTestName(info.param);
}

INSTANTIATE_TEST_SUITE_P(Shared, SharedCapture, ::testing::ValuesIn(sharedCaptures()), testName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SharedCapture);

}  // namespace
}  // namespace warden::decode
