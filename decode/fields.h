// The field table: Wireshark-compatible field names (ip.src, tcp.window_size_value, ...) giving
// typed values for a decoded frame. Filters and the Property Distribution expert read frames
// through it. A field may have two values in one frame (ip.addr: source and destination).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "decode/decoder.h"

namespace warden::decode {

enum class FieldType : std::uint8_t { kUnsigned, kBool, kMac, kAddress, kString };

struct FieldValue {
  FieldType type = FieldType::kUnsigned;
  std::uint64_t number = 0;  // kUnsigned, kBool (0/1)
  Mac mac{};
  Address address;
  std::string_view text;       // kString: a view into the frame or the DecodedFrame
  std::uint8_t hexDigits = 0;  // kUnsigned shown in hex ("0x0800"), as Wireshark's BASE_HEX fields
  // As tshark -T fields prints it.
  std::string toString() const;
};

struct FieldDef {
  std::string_view name;
  FieldType type;
  std::string_view description;
  // Writes up to two values; returns how many (0: the frame does not have the field).
  int (*get)(const DecodedFrame& frame, FieldValue* values);
};

// Every field, in a stable order.
std::span<const FieldDef> allFields();
// The field called `name`, or null.
const FieldDef* findField(std::string_view name);

}  // namespace warden::decode
