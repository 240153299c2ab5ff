// CaptureBuilder: what a format reader sees of the Capture it fills. Readers report problems
// through stop(): strict mode turns the problem into the open() error, lenient mode records it and
// keeps the frames read so far.
#pragma once

#include <span>
#include <string>

#include "capture/capture.h"

namespace warden::capture {

class CaptureBuilder {
 public:
  CaptureBuilder(Capture& capture, const OpenOptions& options)
      : capture_(capture), options_(options) {}

  std::span<const std::byte> data() const { return capture_.data_; }
  const OpenOptions& options() const { return options_; }
  std::size_t frameCount() const { return capture_.frames_.size(); }

  void setFormat(Format format, std::string version) {
    capture_.format_ = format;
    capture_.version_ = std::move(version);
  }
  std::uint32_t addInterface(Interface interface) {
    capture_.interfaces_.push_back(std::move(interface));
    return static_cast<std::uint32_t>(capture_.interfaces_.size() - 1);
  }
  Interface& interface(std::uint32_t index) { return capture_.interfaces_[index]; }
  std::size_t interfaceCount() const { return capture_.interfaces_.size(); }
  void addFrame(const FrameRecord& record, std::string_view comment = {}) {
    if (!comment.empty()) capture_.comments_.emplace(capture_.frames_.size(), comment);
    capture_.frames_.push_back(record);
    if (record.offset >= released_ + kReleaseBehind) {  // resident memory stays flat while indexing
      capture_.release(released_, record.offset);
      released_ = record.offset;
    }
  }
  void reserveFrames(std::size_t n) { capture_.frames_.reserve(n); }
  void countSecondThread(std::size_t frames) { capture_.secondThreadFrames_ += frames; }
  // Lets go of file bytes [from, to) a reader's other thread has walked (any thread).
  void releaseBehind(std::uint64_t from, std::uint64_t to) const { capture_.release(from, to); }
  void addSectionComment(std::string_view comment) { capture_.sectionComments_.push_back(comment); }
  // A non-fatal oddity (reading goes on in both modes).
  void warn(Status status) { capture_.warnings_.push_back(std::move(status)); }

  // A problem that ends reading: the error in strict mode, a warning (and ok) otherwise.
  [[nodiscard]] Status stop(Status problem) {
    if (options_.strict) return problem;
    problem.addContext(fmt::format("stopped after frame {}", capture_.frames_.size()));
    capture_.warnings_.push_back(std::move(problem));
    return Status();
  }

 private:
  static constexpr std::uint64_t kReleaseBehind = std::uint64_t{16} << 20;
  Capture& capture_;
  const OpenOptions& options_;
  std::uint64_t released_ = 0;  // file bytes before this are no longer resident
};

// Nanoseconds computed in 128 bits, saturated to int64: hostile headers must not overflow.
inline std::int64_t saturatedNanoseconds(__int128 ns) {
  constexpr __int128 kMax = INT64_MAX, kMin = INT64_MIN;
  return static_cast<std::int64_t>(ns > kMax ? kMax : ns < kMin ? kMin : ns);
}

// One indexer per format; each expects the builder's data to start with its magic number.
Status indexPcap(CaptureBuilder& builder);
Status indexPcapng(CaptureBuilder& builder);
Status indexNetmon(CaptureBuilder& builder);

}  // namespace warden::capture
