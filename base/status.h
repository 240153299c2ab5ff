// Status and Result<T>: how every expected failure in Warden travels to the caller.
// A code says what the caller should do, the message carries the values involved, and context is
// added on the way up (`WARDEN_TRY(x) << "while reading IDB " << i`). Success costs one null
// pointer.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace warden {

// Chosen by what the caller does next, not by where the failure happened.
enum class Code : std::uint8_t {
  kOk = 0,
  kMalformed,        // input violates its format: report it, skip or stop that unit
  kTruncated,        // input ends early: wait for more bytes or stop at the last good unit
  kUnsupported,      // valid but not handled (yet): tell the user, do not retry
  kLimitExceeded,    // a quota, limit or the system refused: raise the limit or shed work
  kNotFound,         // the named thing does not exist
  kInvalidArgument,  // the caller passed something this API never gave out or never accepts
  kIoError,          // the operating system failed a file or socket operation: report errno
  kDisconnected,     // the peer or transport went away: reconnect or give up
  kCancelled,        // the owner asked to stop: unwind without reporting a fault
  kInternal,         // a broken invariant inside Warden: a bug to report
};

// "malformed", "truncated", ... as printed in messages.
std::string_view codeName(Code code);

// Where a Status was made. std::source_location is missing in clang 14's view of libstdc++ 12,
// so this uses the builtins both compilers provide.
struct SourceLocation {
  const char* file = "";
  std::uint32_t line = 0;

  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          std::uint32_t line = __builtin_LINE()) {
    return SourceLocation{file, line};
  }
};

// The outcome of an operation that returns no value. Copyable; ok() when empty.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, SourceLocation where = SourceLocation::current());

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  // The innermost message, without context.
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : ""; }
  SourceLocation where() const { return rep_ ? rep_->where : SourceLocation{}; }

  // Prefixes context, outermost first when printed: "reading x.pcap: record 5: need 16 bytes...".
  Status& addContext(std::string_view context) &;
  Status&& addContext(std::string_view context) &&;

  // "truncated: reading x.pcap: record 5: need 16 bytes at offset 24, have 3
  // [capture/pcap.cc:120]".
  std::string toString() const;

  // Marks a status as looked at on purpose, for call sites that only log or count failures.
  void ignore() const {}

 private:
  struct Rep {
    Code code;
    std::string message;
    std::string context;  // already joined, outermost first, each followed by ": "
    SourceLocation where;
  };
  std::unique_ptr<Rep> rep_;
};

inline Status okStatus() { return Status(); }

// Shorthands that build a Status with fmt formatting and the caller's location.
#define WARDEN_STATUS_MAKER(Name, CodeValue)                                            \
  template <typename... Args>                                                           \
  struct Name {                                                                         \
    Status status;                                                                      \
    Name(fmt::format_string<Args...> format, Args&&... args,                            \
         SourceLocation where = SourceLocation::current())                              \
        : status(CodeValue, fmt::format(format, std::forward<Args>(args)...), where) {} \
    operator Status() && { return std::move(status); } /* NOLINT: implicit by design */ \
  };                                                                                    \
  template <typename... Args>                                                           \
  Name(fmt::format_string<Args...>, Args&&...) -> Name<Args...>;
WARDEN_STATUS_MAKER(MalformedError, Code::kMalformed)
WARDEN_STATUS_MAKER(TruncatedError, Code::kTruncated)
WARDEN_STATUS_MAKER(UnsupportedError, Code::kUnsupported)
WARDEN_STATUS_MAKER(LimitExceededError, Code::kLimitExceeded)
WARDEN_STATUS_MAKER(NotFoundError, Code::kNotFound)
WARDEN_STATUS_MAKER(InvalidArgumentError, Code::kInvalidArgument)
WARDEN_STATUS_MAKER(IoError, Code::kIoError)
WARDEN_STATUS_MAKER(DisconnectedError, Code::kDisconnected)
WARDEN_STATUS_MAKER(CancelledError, Code::kCancelled)
WARDEN_STATUS_MAKER(InternalError, Code::kInternal)
#undef WARDEN_STATUS_MAKER

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, Status>, "use Status for no value");

 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit like absl::StatusOr
  Result(Status status) : value_(std::move(status)) {  // NOLINT
    if (std::get<Status>(value_).ok()) {
      value_ = Status(Code::kInternal, "Result made from an ok Status");
    }
  }
  template <typename U>
  requires(std::is_convertible_v<U, Status> && !std::is_convertible_v<U, T>) Result(U&& status)
      : Result(Status(std::forward<U>(status))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(value_); }
  // The failure; an ok Status when there is a value.
  Status status() const& { return ok() ? Status() : std::get<Status>(value_); }
  Status status() && { return ok() ? Status() : std::move(std::get<Status>(value_)); }

  // Precondition: ok(). Checked: a violation is a bug and aborts with the status.
  T& value() & { return checked(), std::get<T>(value_); }
  const T& value() const& { return checked(), std::get<T>(value_); }
  T&& value() && { return checked(), std::get<T>(std::move(value_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The value, or `fallback` on failure.
  T valueOr(T fallback) const& { return ok() ? std::get<T>(value_) : std::move(fallback); }

  // Adds context to a failure; a value passes through untouched.
  Result&& addContext(std::string_view context) && {
    if (!ok()) std::get<Status>(value_).addContext(context);
    return std::move(*this);
  }

 private:
  void checked() const;
  std::variant<T, Status> value_;
};

namespace detail {
[[noreturn]] void dieOnBadAccess(const Status& status);

// Collects `<<` context after WARDEN_TRY and turns into a Status (and so into any Result<T>).
class StatusBuilder {
 public:
  explicit StatusBuilder(Status status) : status_(std::move(status)) {}
  template <typename T>
  StatusBuilder&& operator<<(const T& part) && {
    extra_ += fmt::format("{}", part);
    return std::move(*this);
  }
  operator Status() &&;  // NOLINT: implicit by design (Result<T> converts through Status)

 private:
  Status status_;
  std::string extra_;
};

inline Status toStatus(Status status) { return status; }
template <typename T>
Status toStatus(Result<T>&& result) {
  return std::move(result).status();
}
}  // namespace detail

template <typename T>
void Result<T>::checked() const {
  if (!ok()) detail::dieOnBadAccess(std::get<Status>(value_));
}

}  // namespace warden

#define WARDEN_CONCAT_INNER(a, b) a##b
#define WARDEN_CONCAT(a, b) WARDEN_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status or Result) failed. Context may follow:
//   WARDEN_TRY(reader.skip(4)) << "IDB " << i;
#define WARDEN_TRY(expr)                                                       \
  if (::warden::Status warden_try_status = ::warden::detail::toStatus((expr)); \
      warden_try_status.ok()) {                                                \
  } else                                                                       \
    return ::warden::detail::StatusBuilder(std::move(warden_try_status))

// Declares or assigns `lhs` from a Result, returning its Status on failure. Context may follow as
// a third argument: WARDEN_ASSIGN_OR_RETURN(auto n, r.u32le(), << "record " << i);
#define WARDEN_ASSIGN_OR_RETURN(lhs, expr, ...) \
  WARDEN_ASSIGN_OR_RETURN_IMPL(WARDEN_CONCAT(warden_result_, __LINE__), lhs, expr, __VA_ARGS__)
#define WARDEN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr, ...)                                     \
  auto tmp = (expr);                                                                          \
  if (!tmp.ok()) return ::warden::detail::StatusBuilder(std::move(tmp).status()) __VA_ARGS__; \
  lhs = std::move(tmp).value()
