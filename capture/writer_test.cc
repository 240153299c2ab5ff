// Writers on their own: what they write reads back through our reader, and misuse is refused.
#include "capture/writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "capture/capture.h"

namespace warden::capture {
namespace {

using ::testing::HasSubstr;

std::string tempFile(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("warden-writer-" + name)).string();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(PcapngWriter, WritesInterfacesFramesAndCommentsThatReadBack) {
  std::string path = tempFile("a.pcapng");
  std::vector<std::byte> a(61, std::byte{7}), b(1, std::byte{9});
  {
    Result<PcapngWriter> w = PcapngWriter::create(path);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(*w->addInterface(link::kEthernet, 65535, "eth0"), 0u);
    EXPECT_EQ(*w->addInterface(link::kRaw), 1u);
    ASSERT_TRUE(w->write({1'700'000'000'123'456'789, 100, a, 0, "coalesced from 3, 4, 5"}).ok());
    ASSERT_TRUE(w->write({5, 0, b, 1, ""}).ok());
    Status bad = w->write({5, 0, b, 2, ""});
    EXPECT_EQ(bad.code(), Code::kInvalidArgument);
    EXPECT_THAT(bad.message(), HasSubstr("frame for interface 2, but 2 were added"));
    ASSERT_TRUE(w->close().ok());
    EXPECT_TRUE(w->close().ok()) << "closing twice is harmless";
  }
  Result<Capture> c = Capture::open(path, OpenOptions{.strict = true});
  ASSERT_TRUE(c.ok()) << c.status().toString();
  ASSERT_EQ(c->frameCount(), 2u);
  EXPECT_EQ(c->interfaces()[0].name, "eth0");
  EXPECT_EQ(c->interfaces()[0].timestampResolution, "1e-9");
  EXPECT_EQ(c->frame(0).timestampNs, 1'700'000'000'123'456'789);
  EXPECT_EQ(c->frame(0).wireLength, 100u);
  EXPECT_EQ(c->frame(0).capturedLength, 61u);
  EXPECT_EQ(c->frame(0).comment, "coalesced from 3, 4, 5");
  EXPECT_EQ(c->frame(1).linkType, link::kRaw);
  EXPECT_EQ(c->frame(1).wireLength, 1u) << "0 means the captured length";
  std::filesystem::remove(path);
}

TEST(PcapWriter, MicrosecondFilesRoundTimestampsDown) {
  std::string path = tempFile("b.pcap");
  std::vector<std::byte> a(20, std::byte{1});
  {
    Result<PcapWriter> w = PcapWriter::create(path, link::kEthernet, 65535, /*nanoseconds=*/false);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write({1'000'000'000'999'999'999, 0, a, 0, {}}).ok());
    EXPECT_EQ(w->write({-5, 0, a, 0, {}}).code(), Code::kInvalidArgument);
    ASSERT_TRUE(w->close().ok());
  }
  Result<Capture> c = Capture::open(path, OpenOptions{.strict = true});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->interfaces()[0].timestampResolution, "1e-6");
  EXPECT_EQ(c->frame(0).timestampNs, 1'000'000'000'999'999'000);
  std::filesystem::remove(path);
}

TEST(FileOutput, UnwritablePathIsAnIoError) {
  Result<FileOutput> out = FileOutput::create("/nonexistent-dir/x.pcap");
  EXPECT_EQ(out.status().code(), Code::kIoError);
  EXPECT_THAT(out.status().message(), HasSubstr("/nonexistent-dir/x.pcap: cannot create"));
}

// A write the thread could not make is the error of a later call, with the file and the offset.
TEST(FileOutput, AFailedBackgroundWriteIsReported) {
  Result<FileOutput> out = FileOutput::create("/dev/full");
  ASSERT_TRUE(out.ok());
  Status failed;
  for (int i = 0; i < 8 && failed.ok(); ++i) {
    out->buffer().resize(out->buffer().size() + (1 << 20), std::byte{1});
    failed = out->flushIfFull();
  }
  if (failed.ok()) failed = out->close();
  EXPECT_EQ(failed.code(), Code::kIoError);
  EXPECT_THAT(failed.message(), HasSubstr("/dev/full: write of"));
  EXPECT_THAT(failed.message(), HasSubstr("No space left"));
}

// Megabytes of buffered bytes and borrowed spans go out whole and in order, through the writer
// thread and through flush(), and the byte count includes what is still queued.
// About 30 MB: more buffers than the writer thread's queue holds, so the producer waits for room.
TEST(FileOutput, BufferedAndBorrowedBytesArriveWholeAndInOrder) {
  std::string path = tempFile("large.bin");
  std::vector<std::vector<std::byte>> borrowed;
  for (std::size_t i = 0; i < 30000; ++i)
    borrowed.emplace_back(i % 2 ? i * 7 % 1500 : 0, static_cast<std::byte>(i % 251));
  std::vector<std::byte> expected;
  {
    Result<FileOutput> out = FileOutput::create(path);
    ASSERT_TRUE(out.ok());
    for (std::size_t i = 0; i < borrowed.size(); ++i) {
      std::vector<std::byte> own(i % 3 ? i % 5 : 1000 + i % 700, static_cast<std::byte>(i * 7));
      out->buffer().insert(out->buffer().end(), own.begin(), own.end());
      expected.insert(expected.end(), own.begin(), own.end());
      out->borrow(borrowed[i]);
      expected.insert(expected.end(), borrowed[i].begin(), borrowed[i].end());
      ASSERT_TRUE(out->flushIfFull().ok());
      if (i == 15000) {
        ASSERT_TRUE(out->flush().ok());
      }
      ASSERT_EQ(out->bytesWritten(), expected.size());
    }
    ASSERT_TRUE(out->close().ok());
  }
  EXPECT_EQ(readFile(path),
            std::string(reinterpret_cast<const char*>(expected.data()), expected.size()));
  std::filesystem::remove(path);
}

// A stable frame's block is the same bytes as a copied one's, comments and padding included.
TEST(PcapngWriter, StableFramesWriteTheSameBlocksAsCopiedOnes) {
  std::vector<std::byte> bytes(61, std::byte{7});
  std::string files[2];
  for (int stable = 0; stable < 2; ++stable) {
    files[stable] = tempFile(stable ? "stable.pcapng" : "copied.pcapng");
    Result<PcapngWriter> w = PcapngWriter::create(files[stable]);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->addInterface(link::kEthernet).ok());
    for (std::size_t n : {61, 60, 1, 0}) {
      std::span<const std::byte> frame(bytes.data(), n);
      ASSERT_TRUE(w->write({5, 0, frame, 0, n % 2 ? "odd" : "", stable == 1}).ok());
    }
    ASSERT_TRUE(w->close().ok());
  }
  EXPECT_EQ(readFile(files[0]), readFile(files[1]));
  Result<Capture> c = Capture::open(files[1], OpenOptions{.strict = true});
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->frameCount(), 4u);
  EXPECT_EQ(c->frame(0).comment, "odd");
  for (const std::string& f : files) std::filesystem::remove(f);
}

}  // namespace
}  // namespace warden::capture
