// Status formatting and the slow paths of Result (failure construction, bad access).
#include "base/status.h"

#include <cstdio>
#include <cstdlib>

namespace warden {

std::string_view codeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kMalformed:
      return "malformed";
    case Code::kTruncated:
      return "truncated";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kLimitExceeded:
      return "limit exceeded";
    case Code::kNotFound:
      return "not found";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kIoError:
      return "i/o error";
    case Code::kDisconnected:
      return "disconnected";
    case Code::kCancelled:
      return "cancelled";
    case Code::kInternal:
      return "internal error";
  }
  return "unknown code";
}

Status::Status(Code code, std::string message, SourceLocation where) {
  if (code == Code::kOk) return;  // an ok code makes an ok status, whatever the message
  rep_ = std::make_unique<Rep>(Rep{code, std::move(message), {}, where});
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

Status& Status::addContext(std::string_view context) & {
  if (rep_ && !context.empty()) rep_->context.insert(0, fmt::format("{}: ", context));
  return *this;
}

Status&& Status::addContext(std::string_view context) && {
  addContext(context);
  return std::move(*this);
}

std::string Status::toString() const {
  if (!rep_) return "ok";
  std::string_view file = rep_->where.file;
  // Print the path from the source tree root on, not the build machine's absolute path.
  for (std::string_view root : {"/base/", "/custody/", "/capture/", "/decode/", "/reassembly/",
                                "/experts/", "/idl/", "/ndr/", "/rpc/", "/tools/"}) {
    if (auto at = file.rfind(root); at != std::string_view::npos) {
      file.remove_prefix(at + 1);
      break;
    }
  }
  return fmt::format("{}: {}{} [{}:{}]", codeName(rep_->code), rep_->context, rep_->message, file,
                     rep_->where.line);
}

namespace detail {

void dieOnBadAccess(const Status& status) {
  std::fprintf(stderr, "warden: value() of a failed Result: %s\n", status.toString().c_str());
  std::abort();
}

StatusBuilder::operator Status() && {
  if (!extra_.empty()) status_.addContext(extra_);
  return std::move(status_);
}

}  // namespace detail
}  // namespace warden
