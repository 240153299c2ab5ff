// Session and the helper table of expert.h. A run's thread calls Configure and Run and then
// releases the run's scope itself; the host thread only watches (interrupt, deadlines, grace
// periods) and joins. State the two threads share (abort reason, status, events) sits behind the
// run's mutex or in atomics.
#include "experts/session.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <list>

#include "custody/scope.h"
#include "decode/decoder.h"
#include "decode/fields.h"
#include "experts/options.h"
#include "experts/read_tracker.h"

// The opaque filter handle of the ABI.
struct WardenFilter {
  warden::decode::DisplayFilter filter;
};

namespace warden::experts {

namespace {

using Clock = std::chrono::steady_clock;

// The key an entry point receives: the public part first, so a WardenKey converts back.
struct KeyImpl {
  WardenExpertKey_ pub;
  RunContext* run;
  custody::Scope* scope;
};
static_assert(std::is_standard_layout_v<KeyImpl>);

extern const WardenHostApi kHostApi;

}  // namespace

class RunContext {
 public:
  RunContext(Session& session, const RunRequest& request, std::shared_ptr<ReadTracker> reads,
             std::size_t readSlot)
      : session_(session),
        plugin_(*request.plugin),
        optionsText_(request.options),
        reads_(std::move(reads)),
        readSlot_(readSlot) {
    result_.expert = plugin_.id();
    result_.name = std::string(plugin_.name());
    result_.text = text_;
    result_.options = request.options;
  }

  void start() {
    started_ = Clock::now();
    thread_ = std::thread([this] { execute(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

  // First reason wins; later aborts change nothing.
  void abort(Outcome reason, std::string message) {
    std::lock_guard lock(mutex_);
    if (abortReason_.load(std::memory_order_relaxed) != 0) return;
    abortMessage_ = std::move(message);
    abortedAt_ = Clock::now();
    abortReason_.store(static_cast<int>(reason) + 1, std::memory_order_release);
  }
  bool aborted() const { return abortReason_.load(std::memory_order_acquire) != 0; }

  // The host's periodic look: deadline and grace period. True when the run is now hung.
  bool watch(Clock::time_point now) {
    const SessionOptions& options = session_.options();
    if (!aborted() && options.timeout && now - started_ > *options.timeout) {
      abort(Outcome::kTimedOut,
            fmt::format("still running after the {} ms timeout", options.timeout->count()));
    }
    std::lock_guard lock(mutex_);
    return aborted() && now - abortedAt_ > options.grace;
  }

  // The result while the thread may still run (hung): what it submitted so far.
  RunResult snapshot() {
    std::lock_guard lock(mutex_);
    RunResult copy = result_;
    copy.outcome = Outcome::kHung;
    copy.message = fmt::format(
        "{}; ignored TERMINATE for more than {} ms and is still running "
        "(its memory is released when it returns)",
        abortMessage_, session_.options().grace.count());
    copy.duration = Clock::now() - started_;
    copy.framesRead = framesRead_.load(std::memory_order_relaxed);
    return copy;
  }
  RunResult takeResult() { return std::move(result_); }
  std::pair<std::string, StatusReport> progress() {
    std::lock_guard lock(mutex_);
    return {result_.expert, result_.status};
  }

  // ---- Helpers (on the run's thread) ----
  void* allocMemory(custody::Scope& scope, std::size_t bytes, std::uint32_t* error) {
    if (aborted()) return refuse(error, WARDEN_ERR_TERMINATE);
    Status why;
    void* p = scope.heap().alloc(bytes, &why);
    if (p == nullptr) return refused(scope, bytes, 1, why, error);
    if (error) *error = WARDEN_OK;
    return p;
  }
  void* reallocMemory(custody::Scope& scope, void* block, std::size_t bytes, std::uint32_t* error) {
    if (aborted()) return refuse(error, WARDEN_ERR_TERMINATE);
    Status why;
    void* p = scope.heap().realloc(block, bytes, &why);
    if (p == nullptr) {
      if (why.code() == Code::kInvalidArgument) return refuse(error, WARDEN_ERR_INVALID_POINTER);
      std::size_t old = block ? scope.heap().size(block).valueOr(0) : 0;
      return refused(scope, bytes > old ? bytes - old : 0, block ? 0 : 1, why, error);
    }
    if (error) *error = WARDEN_OK;
    return p;
  }
  std::uint32_t freeMemory(custody::Scope& scope, void* block) {
    Status status = scope.heap().free(block);
    if (aborted()) return WARDEN_ERR_TERMINATE;
    return status.ok() ? WARDEN_OK : WARDEN_ERR_INVALID_POINTER;
  }

  std::uint32_t getFrame(std::uint32_t direction, std::uint32_t flags, std::uint32_t number,
                         const WardenFilter* filter, WardenFrameDescriptor* out);
  std::uint32_t createFilter(const char* text, WardenFilter** out, char* message,
                             std::size_t messageSize);
  std::uint32_t destroyFilter(WardenFilter* filter);
  std::uint32_t indicateStatus(std::uint32_t status, std::uint32_t subStatus, const char* text,
                               std::int32_t percent);
  std::uint32_t submitEvent(const WardenEvent* event);
  std::uint32_t getStartupInfo(WardenStartupInfo* out) const {
    if (out == nullptr) return WARDEN_ERR_INVALID_PARAMETER;
    *out = startup_;
    return aborted() ? WARDEN_ERR_TERMINATE : WARDEN_OK;
  }
  std::uint32_t getOption(const char* name, char* value, std::size_t size) {
    if (aborted()) return WARDEN_ERR_TERMINATE;
    if (name == nullptr || (value == nullptr && size != 0)) return WARDEN_ERR_INVALID_PARAMETER;
    const std::string* found = options_.find(name);
    if (found == nullptr) return WARDEN_ERR_NOT_FOUND;
    if (found->size() + 1 > size) return WARDEN_ERR_BUFFER_TOO_SMALL;
    std::memcpy(value, found->c_str(), found->size() + 1);
    return WARDEN_OK;
  }
  std::uint32_t registerResource(custody::Scope& scope, const char* name, WardenCloser closer,
                                 void* context, WardenResource* out) {
    if (aborted()) return WARDEN_ERR_TERMINATE;
    if (closer == nullptr || out == nullptr) return WARDEN_ERR_INVALID_PARAMETER;
    std::string label = name ? name : "resource";
    *out = scope.ledger().add(label, [closer, context, label]() -> Status {
      int rc = closer(context);
      if (rc != 0) return IoError("closer of '{}' returned {}", label, rc);
      return Status();
    });
    return WARDEN_OK;
  }
  std::uint32_t selectFields(const char* const* names, std::uint32_t count);
  std::uint32_t retainFrames(std::uint32_t firstFrame);
  std::uint32_t releaseResource(custody::Scope& scope, WardenResource resource, int runCloser) {
    Status status = runCloser ? scope.ledger().close(resource) : scope.ledger().dismiss(resource);
    if (aborted()) return WARDEN_ERR_TERMINATE;
    if (status.code() == Code::kNotFound) return WARDEN_ERR_NOT_FOUND;
    return status.ok() ? WARDEN_OK : WARDEN_ERR_INVALID_PARAMETER;
  }

 private:
  void execute() noexcept;
  // Calls an entry point; false with the outcome set when it threw.
  template <typename Call>
  bool callExpert(const char* entry, Call call, int& ok);
  void configure(std::vector<std::uint8_t>& config, bool& haveConfig);
  void settle(custody::Scope& scope);
  void fail(Outcome outcome, std::string message) {
    std::lock_guard lock(mutex_);
    if (failed_) return;
    failed_ = true;
    result_.outcome = outcome;
    result_.message = std::move(message);
  }

  void* refuse(std::uint32_t* error, std::uint32_t code) {
    if (error) *error = code;
    return nullptr;
  }
  void* refused(custody::Scope& scope, std::size_t bytes, std::size_t blocks, const Status& why,
                std::uint32_t* error) {
    custody::HeapStats stats = scope.heap().stats();
    const custody::Heap& heap = scope.heap();
    bool overBytes = heap.maxBytes() != custody::kUnlimited && bytes <= custody::kMaxBlockBytes &&
                     stats.liveBytes + bytes > heap.maxBytes();
    bool overBlocks =
        heap.maxBlocks() != custody::kUnlimited && stats.liveBlocks + blocks > heap.maxBlocks();
    if (overBytes || overBlocks) abort(Outcome::kQuotaExceeded, std::string(why.message()));
    return refuse(error, WARDEN_ERR_OUT_OF_MEMORY);
  }
  bool passes(std::size_t index, std::uint32_t flags, const WardenFilter* filter);
  void decodeAt(std::size_t index);
  void attachDecoded(WardenFrameDescriptor& out, bool withFields);
  void reportRead(std::uint64_t offset);

  Session& session_;
  const Plugin& plugin_;
  std::string optionsText_;
  Options options_;
  WardenStartupInfo startup_{};
  std::thread thread_;
  Clock::time_point started_;
  std::atomic<bool> finished_{false};
  std::atomic<int> abortReason_{0};  // Outcome + 1
  std::mutex mutex_;                 // abort details, result_ while the thread runs
  std::string abortMessage_;
  Clock::time_point abortedAt_;
  bool failed_ = false;
  RunResult result_;
  std::shared_ptr<EventText> text_ = std::make_shared<EventText>();  // result_.text, writable
  std::size_t eventBytes_ = 0;
  std::atomic<std::uint64_t> framesRead_{0};
  std::shared_ptr<ReadTracker> reads_;  // shared with the other runs (and outlives a hung one)
  std::size_t readSlot_;
  std::uint64_t lastReadReport_ = 0;     // the file offset last reported to reads_
  std::uint64_t lastKeepReport_ = 0;     // and the offset the run keeps from
  std::uint64_t retained_ = UINT64_MAX;  // offset of the first frame the run retains

  // Frame access state.
  std::size_t decodedIndex_ = SIZE_MAX;
  decode::DecodedFrame decoded_;
  std::vector<WardenField> fields_;
  std::vector<std::string> fieldTexts_;
  std::vector<std::size_t> textOf_;  // field index of each text, reused frame after frame
  std::string protocols_;
  std::string malformed_;
  std::string comment_;
  std::list<WardenFilter> filters_;
  bool selecting_ = false;                        // WardenSelectFields narrowed ATTACH_FIELDS
  std::vector<decode::FieldDef> selectedFields_;  // in table order
};

namespace {

KeyImpl& impl(WardenKey key) { return *reinterpret_cast<KeyImpl*>(key); }

std::string_view boundedView(const char* s) {
  constexpr std::size_t kMaxString = 1 << 20;
  if (s == nullptr) return {};
  return std::string_view(s, strnlen(s, kMaxString));
}
std::string boundedString(const char* s) { return std::string(boundedView(s)); }

}  // namespace

// ---- Frames ----

void RunContext::decodeAt(std::size_t index) {
  if (decodedIndex_ == index) return;
  capture::Frame frame = session_.capture().frame(index);
  decode::decodeFrame(frame.bytes, frame.linkType, frame.wireLength, decoded_);
  decodedIndex_ = index;
}

bool RunContext::passes(std::size_t index, std::uint32_t flags, const WardenFilter* filter) {
  const decode::DisplayFilter* runFilter =
      (flags & WARDEN_FRAME_APPLY_RUN_FILTER) ? session_.runFilter() : nullptr;
  if (runFilter == nullptr && filter == nullptr) return true;
  decodeAt(index);
  if (runFilter && !runFilter->matches(decoded_)) return false;
  return filter == nullptr || filter->filter.matches(decoded_);
}

void RunContext::attachDecoded(WardenFrameDescriptor& out, bool withFields) {
  fields_.clear();
  fieldTexts_.clear();
  textOf_.clear();
  // Getters assign whole values, so one pair serves every field (not ~55 constructions a frame).
  decode::FieldValue values[2];
  std::span<const decode::FieldDef> defs;
  if (withFields)
    defs = selecting_ ? std::span<const decode::FieldDef>(selectedFields_) : decode::allFields();
  for (const decode::FieldDef& def : defs) {
    int n = def.get(decoded_, values);
    for (int i = 0; i < n; ++i) {
      WardenField field{};
      field.name = def.name.data();  // the table's names are NUL-terminated literals
      const decode::FieldValue& v = values[i];
      switch (v.type) {
        case decode::FieldType::kUnsigned:
          field.type = WARDEN_FIELD_UNSIGNED;
          field.number = v.number;
          field.hexDigits = v.hexDigits;
          break;
        case decode::FieldType::kBool:
          field.type = WARDEN_FIELD_BOOL;
          field.number = v.number;
          break;
        case decode::FieldType::kMac:
          field.type = WARDEN_FIELD_MAC;
          std::memcpy(field.bytes, v.mac.data(), 6);
          break;
        case decode::FieldType::kAddress:
          field.type = v.address.family == 6 ? WARDEN_FIELD_IPV6 : WARDEN_FIELD_IPV4;
          std::memcpy(field.bytes, v.address.bytes.data(), v.address.family == 6 ? 16 : 4);
          break;
        case decode::FieldType::kString:
          field.type = WARDEN_FIELD_STRING;
          fieldTexts_.emplace_back(v.text);
          textOf_.push_back(fields_.size());
          break;
      }
      fields_.push_back(field);
    }
  }
  for (std::size_t t = 0; t < textOf_.size(); ++t)
    fields_[textOf_[t]].text = fieldTexts_[t].c_str();
  protocols_ = decoded_.protocols();
  malformed_.clear();
  if (decoded_.malformed.present) {
    malformed_ = fmt::format("{} at offset {}: {}", decode::layerName(decoded_.malformed.layer),
                             decoded_.malformed.offset, decoded_.malformed.reason);
  }
  out.protocols = protocols_.c_str();
  out.malformed = malformed_.empty() ? nullptr : malformed_.c_str();
  out.fieldCount = static_cast<std::uint32_t>(fields_.size());
  out.fields = fields_.empty() ? nullptr : fields_.data();
}

std::uint32_t RunContext::getFrame(std::uint32_t direction, std::uint32_t flags,
                                   std::uint32_t number, const WardenFilter* filter,
                                   WardenFrameDescriptor* out) {
  if (aborted()) return WARDEN_ERR_TERMINATE;
  if (out == nullptr || direction > WARDEN_FRAME_NEXT_BACKWARD) return WARDEN_ERR_INVALID_PARAMETER;
  if (filter != nullptr && std::none_of(filters_.begin(), filters_.end(),
                                        [&](const WardenFilter& f) { return &f == filter; })) {
    return WARDEN_ERR_BAD_FILTER;
  }
  const capture::Capture& capture = session_.capture();
  const std::size_t count = capture.frameCount();
  std::size_t index = SIZE_MAX;              // of the frame to deliver
  constexpr std::size_t kAbortCheck = 4096;  // frames scanned between looks at the abort flag
  if (direction == WARDEN_FRAME_SPECIFIC) {
    if (number == 0 || number > count) return WARDEN_ERR_NOT_FOUND;
    if (!passes(number - 1, flags, filter)) return WARDEN_ERR_FAILED_FILTER;
    index = number - 1;
  } else if (direction == WARDEN_FRAME_NEXT_FORWARD) {
    std::size_t from = number == UINT32_MAX ? 0 : number;  // the index of frame number + 1
    for (std::size_t i = from, scanned = 0; i < count; ++i, ++scanned) {
      if (scanned % kAbortCheck == kAbortCheck - 1 && aborted()) return WARDEN_ERR_TERMINATE;
      capture.prefetch(i + 4);
      if (passes(i, flags, filter)) {
        index = i;
        break;
      }
    }
  } else {
    std::size_t from = (number == UINT32_MAX || number == 0 || number > count + 1)
                           ? count
                           : std::size_t{number} - 1;  // frames before `number`: indices < from
    for (std::size_t i = from, scanned = 0; i-- > 0; ++scanned) {
      if (scanned % kAbortCheck == kAbortCheck - 1 && aborted()) return WARDEN_ERR_TERMINATE;
      if (passes(i, flags, filter)) {
        index = i;
        break;
      }
    }
  }
  if (index == SIZE_MAX) return WARDEN_ERR_NO_MORE_FRAMES;
  capture::Frame frame = capture.frame(index);
  *out = WardenFrameDescriptor{};
  out->frameNumber = static_cast<std::uint32_t>(frame.number);
  out->linkType = frame.linkType;
  out->timestampNs = frame.timestampNs;
  out->capturedLength = frame.capturedLength;
  out->wireLength = frame.wireLength;
  out->interfaceId = frame.interface;
  out->data = reinterpret_cast<const std::uint8_t*>(frame.bytes.data());
  if (!frame.comment.empty()) {
    comment_.assign(frame.comment);  // a view into the mapped file, not terminated
    out->comment = comment_.c_str();
  }
  if (flags & (WARDEN_FRAME_ATTACH_FIELDS | WARDEN_FRAME_ATTACH_PROTOCOLS)) {
    decodeAt(index);
    attachDecoded(*out, (flags & WARDEN_FRAME_ATTACH_FIELDS) != 0);
  }
  framesRead_.fetch_add(1, std::memory_order_relaxed);
  reportRead(capture.records()[index].offset);
  return WARDEN_OK;
}

// The run read at `offset`, and keeps what it retains.
void RunContext::reportRead(std::uint64_t offset) {
  const std::uint64_t keep = std::min(offset, retained_);
  auto far = [](std::uint64_t a, std::uint64_t b) {
    return a >= b + ReadTracker::kReportEvery || a + ReadTracker::kReportEvery <= b;
  };
  if (far(offset, lastReadReport_) || far(keep, lastKeepReport_)) {
    reads_->moved(readSlot_, offset, keep);
    lastReadReport_ = offset;
    lastKeepReport_ = keep;
  }
}

std::uint32_t RunContext::retainFrames(std::uint32_t firstFrame) {
  if (aborted()) return WARDEN_ERR_TERMINATE;
  const capture::Capture& capture = session_.capture();
  if (firstFrame > capture.frameCount()) return WARDEN_ERR_NOT_FOUND;
  retained_ = firstFrame == 0 ? UINT64_MAX : capture.records()[firstFrame - 1].offset;
  return WARDEN_OK;
}

std::uint32_t RunContext::selectFields(const char* const* names, std::uint32_t count) {
  if (aborted()) return WARDEN_ERR_TERMINATE;
  if (names == nullptr && count != 0) return WARDEN_ERR_INVALID_PARAMETER;
  std::span<const decode::FieldDef> table = decode::allFields();
  std::vector<bool> chosen(table.size(), false);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (names[i] == nullptr) return WARDEN_ERR_INVALID_PARAMETER;
    const decode::FieldDef* def = decode::findField(boundedString(names[i]));
    if (def == nullptr) return WARDEN_ERR_NOT_FOUND;
    chosen[static_cast<std::size_t>(def - table.data())] = true;
  }
  selectedFields_.clear();
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (chosen[i]) selectedFields_.push_back(table[i]);
  }
  selecting_ = count != 0;
  return WARDEN_OK;
}

std::uint32_t RunContext::createFilter(const char* text, WardenFilter** out, char* message,
                                       std::size_t messageSize) {
  if (aborted()) return WARDEN_ERR_TERMINATE;
  if (text == nullptr || out == nullptr) return WARDEN_ERR_INVALID_PARAMETER;
  auto parsed = decode::DisplayFilter::parse(boundedString(text));
  if (!parsed.ok()) {
    if (message != nullptr && messageSize > 0) {
      std::string why(parsed.status().message());
      std::size_t n = std::min(why.size(), messageSize - 1);
      std::memcpy(message, why.data(), n);
      message[n] = '\0';
    }
    return WARDEN_ERR_BAD_FILTER;
  }
  filters_.push_back(WardenFilter{std::move(*parsed)});
  *out = &filters_.back();
  return WARDEN_OK;
}

std::uint32_t RunContext::destroyFilter(WardenFilter* filter) {
  auto it = std::find_if(filters_.begin(), filters_.end(),
                         [&](const WardenFilter& f) { return &f == filter; });
  if (it == filters_.end()) return WARDEN_ERR_BAD_FILTER;
  filters_.erase(it);
  return aborted() ? WARDEN_ERR_TERMINATE : WARDEN_OK;
}

// ---- Status and events ----

std::uint32_t RunContext::indicateStatus(std::uint32_t status, std::uint32_t subStatus,
                                         const char* text, std::int32_t percent) {
  if (aborted()) return WARDEN_ERR_TERMINATE;
  if (status > WARDEN_STATUS_DONE) return WARDEN_ERR_INVALID_PARAMETER;
  std::lock_guard lock(mutex_);
  StatusReport& report = result_.status;
  report.status = static_cast<WardenStatus>(status);
  report.subStatus = subStatus;
  report.text = boundedString(text);
  if (percent >= 0 && percent <= 99) report.percent = percent;  // NM2: above 99 is ignored
  if (status == WARDEN_STATUS_PROBLEM) result_.problems.push_back(report.text);
  return WARDEN_OK;
}

std::uint32_t RunContext::submitEvent(const WardenEvent* in) {
  if (aborted()) return WARDEN_ERR_TERMINATE;
  if (in == nullptr || in->severity > WARDEN_SEVERITY_CRITICAL ||
      in->columnCount > WARDEN_EVENT_MAX_COLUMNS ||
      (in->columnCount > 0 && in->columns == nullptr)) {
    std::lock_guard lock(mutex_);
    ++result_.rejectedEvents;
    return WARDEN_ERR_INVALID_PARAMETER;
  }
  // Views of the expert's strings first; they are copied into the run's EventText under the
  // lock, once the event is known to be well formed and within the limit.
  Event event;
  event.id = in->id;
  event.flags = in->flags;
  event.severity = static_cast<WardenSeverity>(in->severity);
  std::string_view source = in->sourceName ? boundedView(in->sourceName) : result_.name;
  std::string_view name = boundedView(in->eventName);
  std::string_view description = boundedView(in->description);
  event.timestampNs = in->timestampNs;
  event.columns.resize(in->columnCount);
  std::size_t bytes = sizeof(Event) + in->columnCount * sizeof(Column) + source.size() +
                      name.size() + description.size();
  for (std::uint32_t i = 0; i < in->columnCount; ++i) {
    const WardenColumn& c = in->columns[i];
    Column& column = event.columns[i];
    column.name = boundedView(c.name);
    ColumnValue& v = column.value;
    v.type = static_cast<WardenColumnType>(c.type);
    switch (c.type) {
      case WARDEN_COLUMN_U8:
        v.integer = c.value.u8;
        break;
      case WARDEN_COLUMN_I8:
        v.integer = c.value.i8;
        break;
      case WARDEN_COLUMN_U16:
        v.integer = c.value.u16;
        break;
      case WARDEN_COLUMN_I16:
        v.integer = c.value.i16;
        break;
      case WARDEN_COLUMN_U32:
        v.integer = c.value.u32;
        break;
      case WARDEN_COLUMN_I32:
        v.integer = c.value.i32;
        break;
      case WARDEN_COLUMN_F64:
        v.real = c.value.f64;
        break;
      case WARDEN_COLUMN_FRAME:
        v.integer = c.value.frame;
        break;
      case WARDEN_COLUMN_YESNO:
      case WARDEN_COLUMN_ONOFF:
      case WARDEN_COLUMN_TRUEFALSE:
        v.integer = c.value.flag != 0;
        break;
      case WARDEN_COLUMN_MAC:
        v.bytes = {};
        std::memcpy(v.bytes.data(), c.value.mac, 6);
        break;
      case WARDEN_COLUMN_IPV4:
        v.bytes = {};
        std::memcpy(v.bytes.data(), c.value.ipv4, 4);
        break;
      case WARDEN_COLUMN_IPV6:
        std::memcpy(v.bytes.data(), c.value.ipv6, 16);
        break;
      case WARDEN_COLUMN_TIME:
        v.integer = c.value.timeNs;
        break;
      case WARDEN_COLUMN_STRING:
        v.text = boundedView(c.value.string);
        break;
      default: {
        std::lock_guard lock(mutex_);
        ++result_.rejectedEvents;
        return WARDEN_ERR_INVALID_PARAMETER;
      }
    }
    bytes += column.name.size() + v.text.size();
  }
  std::unique_lock lock(mutex_);
  if (abortReason_.load(std::memory_order_relaxed) != 0) return WARDEN_ERR_TERMINATE;
  const std::size_t limit = session_.options().maxEventBytes;
  if (eventBytes_ + bytes > limit) {  // an upper bound: names already interned cost nothing
    lock.unlock();
    abort(Outcome::kLimitExceeded, fmt::format("its events passed the {}-byte limit", limit));
    return WARDEN_ERR_LIMIT;
  }
  const std::size_t textBefore = text_->bytes();
  event.source = text_->intern(source);
  event.name = text_->intern(name);
  event.description = text_->keep(description);
  for (Column& column : event.columns) {
    column.name = text_->intern(column.name);
    if (column.value.type == WARDEN_COLUMN_STRING)
      column.value.text = text_->keep(column.value.text);
  }
  eventBytes_ +=
      sizeof(Event) + event.columns.size() * sizeof(Column) + text_->bytes() - textBefore;
  result_.events.push_back(std::move(event));
  return WARDEN_OK;
}

// ---- The run ----

template <typename Call>
bool RunContext::callExpert(const char* entry, Call call, int& ok) {
  try {
    ok = call();
    return true;
  } catch (const std::exception& e) {
    fail(Outcome::kThrew, fmt::format("{} threw: {}", entry, e.what()));
  } catch (...) {
    fail(Outcome::kThrew, fmt::format("{} threw an exception that is not a std::exception", entry));
  }
  return false;
}

// Adds what a scope still held to the result, then releases it.
void RunContext::settle(custody::Scope& scope) {
  custody::HeapStats stats = scope.heap().stats();
  custody::ReleaseReport report = scope.release();
  std::lock_guard lock(mutex_);
  custody::HeapStats& memory = result_.memory;
  memory.peakBytes = std::max(memory.peakBytes, stats.peakBytes);
  memory.totalAllocations += stats.totalAllocations;
  memory.refusedAllocations += stats.refusedAllocations;
  memory.invalidFrees += stats.invalidFrees;
  result_.reclaimed.bytes += report.memory.bytes;
  result_.reclaimed.blocks += report.memory.blocks;
  result_.closersRun += report.closersRun;
  for (auto& failure : report.closerFailures) result_.closerFailures.push_back(std::move(failure));
}

custody::HeapOptions runHeapOptions(const SessionOptions& options, std::string name) {
  custody::HeapOptions heap;
  heap.name = std::move(name);
  heap.maxBytes = options.memoryQuota;
  heap.maxBlocks = options.blockQuota;
  return heap;
}

// Configure with its own key and scope (NM2: the key of Configure is not the key of Run). The
// configuration it returns is copied out; the scope is released whatever happened.
void RunContext::configure(std::vector<std::uint8_t>& config, bool& haveConfig) {
  custody::Scope scope("configure " + plugin_.id(),
                       runHeapOptions(session_.options(), "configure " + plugin_.id()));
  KeyImpl key{{&kHostApi}, this, &scope};
  WardenExpertConfig* blob = nullptr;
  int ok = 0;
  if (callExpert(
          "Configure",
          [&] { return plugin_.configureProc()(&key.pub, &blob, &startup_, startup_.flags); },
          ok) &&
      !aborted()) {
    if (!ok) {
      std::string why = "Configure returned failure";
      if (!result_.problems.empty()) why += ": " + result_.problems.back();
      fail(Outcome::kFailed, why);
    } else if (std::vector<std::string> unknown = options_.unused(); !unknown.empty()) {
      fail(Outcome::kBadConfiguration,
           fmt::format("unknown option{} '{}'", unknown.size() > 1 ? "s" : "",
                       fmt::join(unknown, "', '")));
    } else if (blob != nullptr) {
      auto size = scope.heap().size(blob);
      if (!size.ok()) {
        fail(Outcome::kBadConfiguration,
             "Configure returned a configuration not allocated with WardenAllocMemory");
      } else if (*size < 4 || blob->rawConfigLength < 4 || blob->rawConfigLength > *size) {
        fail(Outcome::kBadConfiguration,
             fmt::format("Configure returned a configuration of {} bytes in a block of {}",
                         *size < 4 ? 0 : blob->rawConfigLength, *size));
      } else {
        auto* bytes = reinterpret_cast<const std::uint8_t*>(blob);
        config.assign(bytes, bytes + blob->rawConfigLength);
        haveConfig = true;
        (void)scope.heap().free(blob);  // the host took it over: not a leak of the expert's
      }
    }
  }
  settle(scope);
}

void RunContext::execute() noexcept {
  const SessionOptions& options = session_.options();
  startup_.flags = options.focusedFrame != 0 || !options.focusedField.empty()
                       ? WARDEN_STARTUP_USE_FOCUS_OVER_CONFIG
                       : 0;
  startup_.capturePath = session_.capturePath().c_str();
  startup_.frameCount = static_cast<std::uint32_t>(
      std::min<std::size_t>(session_.capture().frameCount(), UINT32_MAX));
  startup_.focusedFrame = options.focusedFrame;
  startup_.focusedField = options.focusedField.c_str();
  startup_.options = optionsText_.c_str();
  custody::Scope scope("expert " + plugin_.id(), runHeapOptions(options, "expert " + plugin_.id()));
  try {
    auto parsed = Options::parse(optionsText_);
    std::vector<std::uint8_t> config;
    bool haveConfig = false;
    if (!parsed.ok()) {
      fail(Outcome::kBadConfiguration, std::string(parsed.status().message()));
    } else {
      options_ = std::move(*parsed);
      if (plugin_.configurable()) {
        configure(config, haveConfig);
      } else if (!options_.empty()) {
        fail(Outcome::kBadConfiguration,
             fmt::format("{} takes no options (given '{}')", plugin_.id(), optionsText_));
      }
    }
    if (!failed_ && !aborted()) {
      // The configuration is the host's, outside the run's heap (as NM2 persisted it): an
      // expert cannot free or grow it, and it is not counted as the expert's memory.
      std::vector<std::max_align_t> configStorage((config.size() + sizeof(std::max_align_t) - 1) /
                                                  sizeof(std::max_align_t));
      WardenExpertConfig* blob = nullptr;
      if (haveConfig) {
        std::memcpy(configStorage.data(), config.data(), config.size());
        blob = reinterpret_cast<WardenExpertConfig*>(configStorage.data());
      }
      KeyImpl key{{&kHostApi}, this, &scope};
      {
        std::lock_guard lock(mutex_);
        result_.status.status = WARDEN_STATUS_RUNNING;
      }
      int ok = 0;
      if (!failed_ &&
          callExpert(
              "Run", [&] { return plugin_.runProc()(&key.pub, blob, &startup_, startup_.flags); },
              ok) &&
          !aborted()) {
        if (ok) {
          std::lock_guard lock(mutex_);
          result_.status.status = WARDEN_STATUS_DONE;
          result_.status.percent = 100;
        } else {
          std::string why = "Run returned failure";
          if (!result_.problems.empty()) why += ": " + result_.problems.back();
          fail(Outcome::kFailed, why);
        }
      }
    }
  } catch (const std::exception& e) {
    // The host's own failure (out of memory copying results): still release and report.
    fail(Outcome::kFailed, fmt::format("host error: {}", e.what()));
  }
  if (int reason = abortReason_.load(std::memory_order_acquire); reason != 0) {
    std::lock_guard lock(mutex_);
    result_.outcome = static_cast<Outcome>(reason - 1);
    result_.message = abortMessage_;
    result_.status.status = WARDEN_STATUS_ABORTED;
    failed_ = true;
  }
  filters_.clear();
  reads_->done(readSlot_);
  settle(scope);
  result_.duration = Clock::now() - started_;
  result_.framesRead = framesRead_.load(std::memory_order_relaxed);
  finished_.store(true, std::memory_order_release);
  session_.notifyFinished();
}

// ---- The helper table ----

namespace {

void* hostAllocMemory(WardenKey key, size_t bytes, uint32_t* error) {
  KeyImpl& k = impl(key);
  return k.run->allocMemory(*k.scope, bytes, error);
}
void* hostReallocMemory(WardenKey key, void* block, size_t bytes, uint32_t* error) {
  KeyImpl& k = impl(key);
  return k.run->reallocMemory(*k.scope, block, bytes, error);
}
uint32_t hostFreeMemory(WardenKey key, void* block) {
  KeyImpl& k = impl(key);
  return k.run->freeMemory(*k.scope, block);
}
size_t hostMemorySize(WardenKey key, const void* block) {
  return impl(key).scope->heap().size(block).valueOr(0);
}
uint32_t hostGetFrame(WardenKey key, uint32_t direction, uint32_t flags, uint32_t frameNumber,
                      const WardenFilter* filter, WardenFrameDescriptor* out) {
  return impl(key).run->getFrame(direction, flags, frameNumber, filter, out);
}
uint32_t hostCreateFilter(WardenKey key, const char* text, WardenFilter** out, char* message,
                          size_t messageSize) {
  return impl(key).run->createFilter(text, out, message, messageSize);
}
uint32_t hostDestroyFilter(WardenKey key, WardenFilter* filter) {
  return impl(key).run->destroyFilter(filter);
}
uint32_t hostIndicateStatus(WardenKey key, uint32_t status, uint32_t subStatus, const char* text,
                            int32_t percentDone) {
  return impl(key).run->indicateStatus(status, subStatus, text, percentDone);
}
uint32_t hostSubmitEvent(WardenKey key, const WardenEvent* event) {
  return impl(key).run->submitEvent(event);
}
uint32_t hostGetStartupInfo(WardenKey key, WardenStartupInfo* out) {
  return impl(key).run->getStartupInfo(out);
}
uint32_t hostGetOption(WardenKey key, const char* name, char* value, size_t valueSize) {
  return impl(key).run->getOption(name, value, valueSize);
}
uint32_t hostRegisterResource(WardenKey key, const char* name, WardenCloser closer, void* context,
                              WardenResource* out) {
  KeyImpl& k = impl(key);
  return k.run->registerResource(*k.scope, name, closer, context, out);
}
uint32_t hostReleaseResource(WardenKey key, WardenResource resource, int runCloser) {
  KeyImpl& k = impl(key);
  return k.run->releaseResource(*k.scope, resource, runCloser);
}
uint32_t hostSelectFields(WardenKey key, const char* const* names, uint32_t count) {
  return impl(key).run->selectFields(names, count);
}
uint32_t hostRetainFrames(WardenKey key, uint32_t firstFrame) {
  return impl(key).run->retainFrames(firstFrame);
}

const WardenHostApi kHostApi = {WARDEN_EXPERT_ABI_VERSION,
                                sizeof(WardenHostApi),
                                hostAllocMemory,
                                hostReallocMemory,
                                hostFreeMemory,
                                hostMemorySize,
                                hostGetFrame,
                                hostCreateFilter,
                                hostDestroyFilter,
                                hostIndicateStatus,
                                hostSubmitEvent,
                                hostGetStartupInfo,
                                hostGetOption,
                                hostRegisterResource,
                                hostReleaseResource,
                                hostSelectFields,
                                hostRetainFrames};

}  // namespace

// ---- Session ----

Session::Session(const capture::Capture& capture, std::string capturePath, SessionOptions options)
    : capture_(capture), capturePath_(std::move(capturePath)), options_(std::move(options)) {}

Result<std::unique_ptr<Session>> Session::create(const capture::Capture& capture,
                                                 std::string capturePath, SessionOptions options) {
  std::unique_ptr<Session> session(
      new Session(capture, std::move(capturePath), std::move(options)));
  if (!session->options_.filter.empty()) {
    WARDEN_ASSIGN_OR_RETURN(auto filter, decode::DisplayFilter::parse(session->options_.filter),
                            << "--filter");
    session->runFilter_.emplace(std::move(filter));
  }
  return session;
}

Session::~Session() { waitForHung(); }

void Session::notifyFinished() {
  std::lock_guard lock(mutex_);
  finished_.notify_all();
}

void Session::cancel() {
  std::lock_guard lock(mutex_);
  for (auto& run : active_) {
    if (run) run->abort(Outcome::kCancelled, "cancelled by the user");  // null: moved to hung_
  }
}

std::vector<RunResult> Session::run(const std::vector<RunRequest>& requests) {
  std::vector<RunResult> results(requests.size());
  std::vector<bool> hung(requests.size(), false);
  auto reads = std::make_shared<ReadTracker>(capture_, requests.size());
  {
    std::lock_guard lock(mutex_);
    active_.clear();
    for (const RunRequest& request : requests) {
      active_.push_back(std::make_unique<RunContext>(*this, request, reads, active_.size()));
    }
  }
  for (std::size_t i = 0; i < active_.size(); ++i) {
    try {
      active_[i]->start();
    } catch (const std::system_error& e) {
      // NM2's EXPERTSUBSTATUS_ABORTED_THREAD_FAIL.
      results[i] = active_[i]->takeResult();
      results[i].outcome = Outcome::kFailed;
      results[i].message = fmt::format("could not start a thread: {}", e.what());
      reads->done(i);
      hung[i] = true;  // nothing to join
    }
  }
  constexpr auto kPoll = std::chrono::milliseconds(10);
  auto nextProgress = Clock::now() + options_.progressInterval;
  std::unique_lock lock(mutex_);
  for (;;) {
    bool waiting = false;
    for (std::size_t i = 0; i < active_.size(); ++i) {
      if (hung[i] || active_[i]->finished()) continue;
      if (options_.interrupt && options_.interrupt->load(std::memory_order_relaxed)) {
        active_[i]->abort(Outcome::kCancelled, "cancelled by the user");
      }
      if (active_[i]->watch(Clock::now())) {
        hung[i] = true;
        results[i] = active_[i]->snapshot();
        continue;
      }
      waiting = true;
    }
    if (!waiting) break;
    if (options_.progress && Clock::now() >= nextProgress) {
      std::vector<std::pair<std::string, StatusReport>> statuses;
      for (auto& run : active_) statuses.push_back(run->progress());
      lock.unlock();  // the callback may call cancel()
      options_.progress(statuses);
      lock.lock();
      nextProgress = Clock::now() + options_.progressInterval;
    }
    finished_.wait_for(lock, kPoll);
  }
  // A finishing run takes mutex_ to notify (it may have set finished() just before): never hold
  // it while joining.
  lock.unlock();
  for (std::size_t i = 0; i < active_.size(); ++i) {
    if (hung[i] && !active_[i]->finished() && results[i].outcome == Outcome::kHung) {
      std::lock_guard hungLock(mutex_);
      hung_.push_back(std::move(active_[i]));
      continue;
    }
    if (hung[i] && results[i].outcome != Outcome::kHung) continue;  // never started
    active_[i]->join();
    results[i] = active_[i]->takeResult();
  }
  std::lock_guard activeLock(mutex_);
  active_.clear();
  capture_.release(0, capture_.fileSize());  // between run() calls nothing reads the file
  return results;
}

std::size_t Session::hungRuns() const {
  std::lock_guard lock(mutex_);
  return hung_.size();
}

std::vector<RunResult> Session::waitForHung() {
  std::vector<std::unique_ptr<RunContext>> hung;
  {
    std::lock_guard lock(mutex_);
    hung.swap(hung_);
  }
  std::vector<RunResult> results;
  for (auto& run : hung) {
    run->join();
    RunResult result = run->takeResult();
    result.outcome = Outcome::kHung;
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace warden::experts
