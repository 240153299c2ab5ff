// Context handles: the client's ClientContext objects and the server's table of manager pointers
// by UUID, with rundown. UUIDs are random (version 4), so a client cannot guess another's handle.
#include <fmt/format.h>

#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <random>

#include "warden/stub.h"

namespace warden::stub {

namespace {

bool isNull(const std::uint8_t* wire) {
  for (int i = 0; i < 20; ++i) {
    if (wire[i] != 0) return false;
  }
  return true;
}

}  // namespace

void pushClientContext(ndr::Encoder& e, const void* handle, bool nullAllowed, const char* field) {
  e.align(4);
  if (handle == nullptr) {
    if (!nullAllowed) {
      throw ndr::Fault(kSsInNullContext, fmt::format("{}: an [in] context handle is null", field));
    }
    std::uint8_t zeros[20] = {};
    e.putBytes(zeros, sizeof zeros);
    return;
  }
  const auto& c = *static_cast<const ClientContext*>(handle);
  e.put<std::uint32_t>(c.attributes);
  e.putBytes(c.uuid, sizeof c.uuid);
}

void pullClientContext(ndr::Decoder& d, void*& handle, handle_t binding, const char* field) {
  d.align(4);
  std::uint8_t wire[20];
  d.getBytes(wire, sizeof wire, field);
  auto* c = static_cast<ClientContext*>(handle);
  if (isNull(wire)) {  // the server closed it
    delete c;
    handle = nullptr;
    return;
  }
  if (c == nullptr) c = new ClientContext;
  std::memcpy(&c->attributes, wire, 4);
  std::memcpy(c->uuid, wire + 4, 16);
  c->binding = binding;
  handle = c;
}

handle_t contextBinding(const void* handle) {
  if (handle == nullptr) {
    throw ndr::Fault(kSsInNullContext, "binding through a null context handle",
                     ndr::Fault::Origin::kLocal);
  }
  return static_cast<const ClientContext*>(handle)->binding;
}

namespace {

struct AutoBindings {
  std::mutex mutex;
  std::map<const void*, handle_t> bySpec;  // null: every interface without its own
};
AutoBindings& autoBindings() {
  static AutoBindings bindings;
  return bindings;
}

}  // namespace

handle_t autoBinding(RPC_IF_HANDLE spec) {
  AutoBindings& all = autoBindings();
  std::lock_guard lock(all.mutex);
  auto it = all.bySpec.find(spec);
  if (it == all.bySpec.end()) it = all.bySpec.find(nullptr);
  if (it == all.bySpec.end()) {
    throw ndr::Fault(kNoBindings,
                     "auto_handle: no binding for the interface (the application names one with "
                     "setAutoBinding)",
                     ndr::Fault::Origin::kCommunication);
  }
  return it->second;
}

void setAutoBinding(RPC_IF_HANDLE spec, handle_t binding) {
  AutoBindings& all = autoBindings();
  std::lock_guard lock(all.mutex);
  if (binding == nullptr) {
    all.bySpec.erase(spec);
  } else {
    all.bySpec[spec] = binding;
  }
}

struct ContextTable::State {
  struct Entry {
    void* user;
    Rundown rundown;
  };
  mutable std::mutex mutex;
  std::map<std::array<std::uint8_t, 16>, Entry> entries;
  std::mt19937_64 random{std::random_device{}()};
};

namespace {
std::array<std::uint8_t, 16> asArray(const ContextTable::Key& key) {
  std::array<std::uint8_t, 16> a;
  std::memcpy(a.data(), key.uuid, 16);
  return a;
}
}  // namespace

ContextTable::ContextTable() : state_(std::make_unique<State>()) {}
ContextTable::~ContextTable() = default;

bool ContextTable::find(const Key& key, void*& user) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->entries.find(asArray(key));
  if (it == state_->entries.end()) return false;
  user = it->second.user;
  return true;
}

ContextTable::Key ContextTable::open(void* user, Rundown rundown) {
  std::lock_guard lock(state_->mutex);
  Key key;
  for (;;) {
    for (int i = 0; i < 16; i += 8) {
      std::uint64_t r = state_->random();
      std::memcpy(key.uuid + i, &r, 8);
    }
    key.uuid[7] = static_cast<std::uint8_t>((key.uuid[7] & 0x0f) | 0x40);  // version 4
    key.uuid[8] = static_cast<std::uint8_t>((key.uuid[8] & 0x3f) | 0x80);  // variant
    if (state_->entries.emplace(asArray(key), State::Entry{user, rundown}).second) return key;
  }
}

void ContextTable::update(const Key& key, void* user) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->entries.find(asArray(key));
  if (it != state_->entries.end()) it->second.user = user;
}

void ContextTable::close(const Key& key) {
  std::lock_guard lock(state_->mutex);
  state_->entries.erase(asArray(key));
}

std::size_t ContextTable::size() const {
  std::lock_guard lock(state_->mutex);
  return state_->entries.size();
}

void ContextTable::runDown() {
  std::map<std::array<std::uint8_t, 16>, State::Entry> open;
  {
    std::lock_guard lock(state_->mutex);
    open.swap(state_->entries);
  }
  for (auto& [key, entry] : open) {
    if (entry.rundown != nullptr) entry.rundown(entry.user);
  }
}

void ServerCall::pullContextRaw(ServerContext& slot, void*& user, bool nullAllowed,
                                const char* field) {
  ndr::Decoder& d = request();
  d.align(4);
  std::uint8_t wire[20];
  d.getBytes(wire, sizeof wire, field);
  slot = {};
  user = nullptr;
  if (isNull(wire)) {
    if (!nullAllowed) {
      throw ndr::Fault(kSsInNullContext, fmt::format("{}: an [in] context handle is null", field));
    }
    return;
  }
  std::memcpy(slot.key.uuid, wire + 4, 16);
  if (contexts_ == nullptr || !contexts_->find(slot.key, user)) {
    throw ndr::Fault(kSsContextMismatch, fmt::format("{}: a context handle this server did not "
                                                     "give out",
                                                     field));
  }
  slot.known = true;
}

void ServerCall::pushContext(ServerContext& slot, const void* user, ContextTable::Rundown rundown) {
  ndr::Encoder& e = reply();
  e.align(4);
  std::uint8_t wire[20] = {};
  if (contexts_ == nullptr) throw ndr::Fault(ndr::kCallFailed, "no context handle table");
  if (user == nullptr) {
    if (slot.known) contexts_->close(slot.key);  // the manager closed it
  } else {
    if (slot.known) {
      contexts_->update(slot.key, const_cast<void*>(user));
    } else {
      slot.key = contexts_->open(const_cast<void*>(user), rundown);
      slot.known = true;
    }
    std::memcpy(wire + 4, slot.key.uuid, 16);
  }
  e.putBytes(wire, sizeof wire);
}

}  // namespace warden::stub
