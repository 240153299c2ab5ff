// Warden expert ABI: what a plug-in exports and the host helpers it calls. Plain C (C99 and
// C++), opaque handles, a version symbol; nothing C++ crosses it.
//
// A plug-in is a shared library that puts WARDEN_EXPERT_PLUGIN() in one source file and exports
//   int Register(WardenExpertInfo* info);
//   int Configure(WardenKey key, WardenExpertConfig** config, const WardenStartupInfo* startup,
//                 uint32_t startupFlags);           (only with WARDEN_EXPERT_CONFIGURABLE)
//   int Run(WardenKey key, const WardenExpertConfig* config, const WardenStartupInfo* startup,
//           uint32_t startupFlags);
// with C linkage (non-zero means success, as the Network Monitor 2 BOOL entry points).
//
// The memory contract: every block taken with WardenAllocMemory/WardenReallocMemory belongs to the
// run. When Run returns, fails, throws or is aborted the host frees whatever is left, so an expert
// that fails loses nothing. Other resources (file descriptors, temporary files) are the expert's
// own cleanup job; registered with WardenRegisterResource, the host closes them too if the expert
// does not. After an abort (user, timeout, memory quota) every helper returns
// WARDEN_ERR_TERMINATE and the expert must return from Run promptly.
//
// Helpers are only valid on the thread running Configure or Run, with the key that call received
// (the key of Configure is not the key of Run). They are reached through the key, so a plug-in
// needs no link-time symbols from the host.
#ifndef WARDEN_EXPERT_H_
#define WARDEN_EXPERT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bumped on any incompatible change of this header; the host refuses other versions.
#define WARDEN_EXPERT_ABI_VERSION 1u

#if defined(__GNUC__)
#define WARDEN_EXPERT_EXPORT __attribute__((visibility("default")))
#else
#define WARDEN_EXPERT_EXPORT
#endif

// Put once in a plug-in: the symbol the host checks before it calls anything.
#ifdef __cplusplus
#define WARDEN_EXPERT_PLUGIN()                                               \
  extern "C" WARDEN_EXPERT_EXPORT const uint32_t warden_expert_abi_version = \
      WARDEN_EXPERT_ABI_VERSION
#else
#define WARDEN_EXPERT_PLUGIN() \
  WARDEN_EXPERT_EXPORT const uint32_t warden_expert_abi_version = WARDEN_EXPERT_ABI_VERSION
#endif

// ---- Error codes (the Network Monitor 2 NMERR_* numbers where one exists) ----
#define WARDEN_OK 0u
#define WARDEN_ERR_BAD_FILTER 2u            // NMERR_INVALID_HFILTER: a filter that does not parse
#define WARDEN_ERR_NO_MORE_FRAMES 5u        // NMERR_NO_MORE_FRAMES: no (matching) frame that way
#define WARDEN_ERR_BUFFER_TOO_SMALL 6u      // NMERR_BUFFER_TOO_SMALL
#define WARDEN_ERR_OUT_OF_MEMORY 19u        // NMERR_OUT_OF_MEMORY: the allocation was refused
#define WARDEN_ERR_FAILED_FILTER 124u       // NMERR_FRAME_FAILED_FILTER: a specific frame failed
#define WARDEN_ERR_TERMINATE 125u           // NMERR_EXPERT_TERMINATE: aborted, return from Run now
#define WARDEN_ERR_BAD_VERSION 137u         // NMERR_BAD_VERSION
#define WARDEN_ERR_INVALID_PARAMETER 1001u  // a null or out-of-range argument
#define WARDEN_ERR_INVALID_POINTER 1002u    // not a live block of this run (double or foreign free)
#define WARDEN_ERR_NOT_FOUND 1003u          // no such option, frame, field or resource
#define WARDEN_ERR_LIMIT 1004u              // a host limit (event count or bytes) was reached

// ---- Register ----
#define WARDEN_EXPERT_STRING_LENGTH 260
#define WARDEN_EXPERT_CONFIGURABLE 0x0001u    // exports Configure and takes options
#define WARDEN_EXPERT_NO_EVENTS 0x0004u       // produces no events (NM2 EXPERT_ENUM_FLAG_NO_VIEWER)
#define WARDEN_EXPERT_WRITES_CAPTURE 0x0100u  // writes a new capture file (Protocol Coalesce)

// Filled by Register. Same layout as the first five members of NM2's EXPERTENUMINFO.
typedef struct WardenExpertInfo {
  char name[WARDEN_EXPERT_STRING_LENGTH];
  char vendor[WARDEN_EXPERT_STRING_LENGTH];
  char description[WARDEN_EXPERT_STRING_LENGTH];
  uint32_t version;
  uint32_t flags;  // WARDEN_EXPERT_*
} WardenExpertInfo;

// A configuration blob: rawConfigLength is the total length including its own 4 bytes (as NM2's
// EXPERTCONFIG). Configure allocates it with WardenAllocMemory; the host takes it over.
typedef struct WardenExpertConfig {
  uint32_t rawConfigLength;
  uint8_t rawConfigData[4];  // really rawConfigLength - 4 bytes
} WardenExpertConfig;

// ---- Startup info ----
#define WARDEN_STARTUP_USE_FOCUS_OVER_CONFIG 0x0001u  // NM2 ..._USE_STARTUP_DATA_OVER_CONFIG_DATA

typedef struct WardenStartupInfo {
  uint32_t flags;
  const char* capturePath;   // the capture being analysed
  uint32_t frameCount;       // frames in the capture
  uint32_t focusedFrame;     // 1-based; 0 when none
  const char* focusedField;  // a field name such as "tcp.window_size_value"; "" when none
  const char* options;       // the options text given for this expert ("" when none)
} WardenStartupInfo;

// ---- Frames ----
#define WARDEN_FRAME_SPECIFIC 0u       // exactly frameNumber (NM2 GET_SPECIFIED_FRAME)
#define WARDEN_FRAME_NEXT_FORWARD 1u   // first frame after frameNumber that passes (0: from start)
#define WARDEN_FRAME_NEXT_BACKWARD 2u  // last frame before frameNumber that passes (0: from end)
// frameNumber UINT32_MAX (NM2's (DWORD)-1) means "from the start" forward, "from the end" back.

#define WARDEN_FRAME_APPLY_RUN_FILTER \
  0x1u                                   // also apply the run's --filter (NM2 DEFER_TO_UI_FILTER)
#define WARDEN_FRAME_ATTACH_FIELDS 0x2u  // decode and attach fields (NM2 ATTACH_PROPERTIES)
#define WARDEN_FRAME_ATTACH_PROTOCOLS 0x4u  // only the protocol stack (cheap): protocols, malformed

typedef enum WardenFieldType {
  WARDEN_FIELD_UNSIGNED = 0,
  WARDEN_FIELD_BOOL = 1,
  WARDEN_FIELD_MAC = 2,
  WARDEN_FIELD_IPV4 = 3,
  WARDEN_FIELD_IPV6 = 4,
  WARDEN_FIELD_STRING = 5
} WardenFieldType;

// One field instance; a field may occur twice in a frame (ip.addr: source and destination).
typedef struct WardenField {
  const char* name;    // Wireshark's name: "ip.src", "tcp.window_size_value"
  uint32_t type;       // WardenFieldType
  uint32_t hexDigits;  // unsigned fields Wireshark shows in hex: digits to print, else 0
  uint64_t number;     // UNSIGNED, BOOL
  uint8_t bytes[16];   // MAC (6), IPV4 (4), IPV6 (16), network order
  const char* text;    // STRING, NUL-terminated
} WardenField;

// Filled by WardenGetFrame. The structure is the caller's; what it points to is the host's and
// stays valid until the next WardenGetFrame of the run (frame bytes: until the run ends).
typedef struct WardenFrameDescriptor {
  uint32_t frameNumber;  // 1-based, as Wireshark numbers frames
  uint32_t linkType;     // LINKTYPE_*
  int64_t timestampNs;   // since the Unix epoch
  uint32_t capturedLength;
  uint32_t wireLength;
  uint32_t interfaceId;
  const uint8_t* data;  // capturedLength bytes, read-only
  const char* comment;  // pcapng packet comment or NULL
  // With WARDEN_FRAME_ATTACH_FIELDS (protocols and malformed also with ..._ATTACH_PROTOCOLS),
  // else NULL / 0:
  const char* protocols;  // "eth:ip:tcp:http"
  const char* malformed;  // "layer at offset N: reason" or NULL
  uint32_t fieldCount;
  const WardenField* fields;
} WardenFrameDescriptor;

typedef struct WardenFilter WardenFilter;  // a compiled display filter

// ---- Status ----
typedef enum WardenStatus {
  WARDEN_STATUS_INACTIVE = 0,
  WARDEN_STATUS_STARTING = 1,
  WARDEN_STATUS_RUNNING = 2,
  WARDEN_STATUS_PROBLEM = 3,
  WARDEN_STATUS_ABORTED = 4,
  WARDEN_STATUS_DONE = 5
} WardenStatus;

// ---- Events ----
typedef enum WardenSeverity {
  WARDEN_SEVERITY_INFORMATIONAL = 0,
  WARDEN_SEVERITY_WARNING = 1,
  WARDEN_SEVERITY_STRONG_WARNING = 2,
  WARDEN_SEVERITY_ERROR = 3,
  WARDEN_SEVERITY_SEVERE_ERROR = 4,
  WARDEN_SEVERITY_CRITICAL = 5
} WardenSeverity;

typedef enum WardenColumnType {
  WARDEN_COLUMN_U8 = 0,
  WARDEN_COLUMN_I8 = 1,
  WARDEN_COLUMN_U16 = 2,
  WARDEN_COLUMN_I16 = 3,
  WARDEN_COLUMN_U32 = 4,
  WARDEN_COLUMN_I32 = 5,
  WARDEN_COLUMN_F64 = 6,
  WARDEN_COLUMN_FRAME = 7,
  WARDEN_COLUMN_YESNO = 8,
  WARDEN_COLUMN_ONOFF = 9,
  WARDEN_COLUMN_TRUEFALSE = 10,
  WARDEN_COLUMN_MAC = 11,
  WARDEN_COLUMN_IPV4 = 12,
  WARDEN_COLUMN_IPV6 = 13,
  WARDEN_COLUMN_TIME = 14,
  WARDEN_COLUMN_STRING = 15
} WardenColumnType;

typedef struct WardenColumn {
  const char* name;
  uint32_t type;  // WardenColumnType
  union {
    uint8_t u8;
    int8_t i8;
    uint16_t u16;
    int16_t i16;
    uint32_t u32;
    int32_t i32;
    double f64;
    uint32_t frame;  // a frame number
    int32_t flag;    // YESNO, ONOFF, TRUEFALSE: non-zero is yes/on/true
    uint8_t mac[6];
    uint8_t ipv4[4];  // network order
    uint8_t ipv6[16];
    int64_t timeNs;  // since the Unix epoch
    const char* string;
  } value;
} WardenColumn;

#define WARDEN_EVENT_MAX_COLUMNS 255u

// An event (one result row). The host copies it, strings included, during WardenSubmitEvent: the
// expert may reuse the structure and its strings at once.
typedef struct WardenEvent {
  uint32_t version;        // 0
  uint32_t id;             // expert-defined; rows with one id usually share their columns
  uint32_t flags;          // NM2 NMEVENTFLAG_* display bits, kept for viewers
  uint32_t severity;       // WardenSeverity
  const char* sourceName;  // NULL: the expert's name
  const char* eventName;
  const char* description;
  int64_t timestampNs;   // when it happened (a frame's time), 0 when not tied to a time
  uint32_t columnCount;  // at most WARDEN_EVENT_MAX_COLUMNS
  const WardenColumn* columns;
} WardenEvent;

// ---- Resources (Warden's addition) ----
// Returns 0 on success, anything else is reported as the closer's failure.
typedef int (*WardenCloser)(void* context);
typedef uint64_t WardenResource;  // 0 is never a resource

// ---- The host's helpers ----
typedef struct WardenExpertKey_* WardenKey;

typedef struct WardenHostApi {
  uint32_t abiVersion;  // WARDEN_EXPERT_ABI_VERSION of the host
  uint32_t size;        // sizeof(WardenHostApi) of the host
  void* (*allocMemory)(WardenKey key, size_t bytes, uint32_t* error);
  void* (*reallocMemory)(WardenKey key, void* block, size_t bytes, uint32_t* error);
  uint32_t (*freeMemory)(WardenKey key, void* block);
  size_t (*memorySize)(WardenKey key, const void* block);
  uint32_t (*getFrame)(WardenKey key, uint32_t direction, uint32_t flags, uint32_t frameNumber,
                       const WardenFilter* filter, WardenFrameDescriptor* out);
  uint32_t (*createFilter)(WardenKey key, const char* text, WardenFilter** out, char* message,
                           size_t messageSize);
  uint32_t (*destroyFilter)(WardenKey key, WardenFilter* filter);
  uint32_t (*indicateStatus)(WardenKey key, uint32_t status, uint32_t subStatus, const char* text,
                             int32_t percentDone);
  uint32_t (*submitEvent)(WardenKey key, const WardenEvent* event);
  uint32_t (*getStartupInfo)(WardenKey key, WardenStartupInfo* out);
  uint32_t (*getOption)(WardenKey key, const char* name, char* value, size_t valueSize);
  uint32_t (*registerResource)(WardenKey key, const char* name, WardenCloser closer, void* context,
                               WardenResource* out);
  uint32_t (*releaseResource)(WardenKey key, WardenResource resource, int runCloser);
  uint32_t (*selectFields)(WardenKey key, const char* const* names, uint32_t count);
  uint32_t (*retainFrames)(WardenKey key, uint32_t firstFrame);
} WardenHostApi;

// The key an entry point receives. Its only public member is the helper table.
struct WardenExpertKey_ {
  const WardenHostApi* api;
};

// A block of `bytes` owned by the run, 16-byte aligned; NULL with *error (if given) set to
// WARDEN_ERR_OUT_OF_MEMORY or WARDEN_ERR_TERMINATE. A refusal by the run's memory quota aborts
// the run.
static inline void* WardenAllocMemory(WardenKey key, size_t bytes, uint32_t* error) {
  return key->api->allocMemory(key, bytes, error);
}
// realloc semantics; on failure NULL and the old block is unchanged.
static inline void* WardenReallocMemory(WardenKey key, void* block, size_t bytes, uint32_t* error) {
  return key->api->reallocMemory(key, block, bytes, error);
}
// WARDEN_OK, WARDEN_ERR_INVALID_POINTER (double or foreign free) or WARDEN_ERR_TERMINATE.
static inline uint32_t WardenFreeMemory(WardenKey key, void* block) {
  return key->api->freeMemory(key, block);
}
// The requested size of a live block of the run, 0 for anything else.
static inline size_t WardenMemorySize(WardenKey key, const void* block) {
  return key->api->memorySize(key, block);
}
// A frame by number or the next/previous one passing `filter` (NULL: none) and, with
// WARDEN_FRAME_APPLY_RUN_FILTER, the run's filter. WARDEN_ERR_NO_MORE_FRAMES at either end.
static inline uint32_t WardenGetFrame(WardenKey key, uint32_t direction, uint32_t flags,
                                      uint32_t frameNumber, const WardenFilter* filter,
                                      WardenFrameDescriptor* out) {
  return key->api->getFrame(key, direction, flags, frameNumber, filter, out);
}
// Compiles a Wireshark-style display filter ("tcp.port == 80 && ip.src == 10.0.0.0/8"). On
// WARDEN_ERR_BAD_FILTER the reason (with its column) goes to `message` when given. Filters live
// until destroyed or the run ends.
static inline uint32_t WardenCreateFilter(WardenKey key, const char* text, WardenFilter** out,
                                          char* message, size_t messageSize) {
  return key->api->createFilter(key, text, out, message, messageSize);
}
static inline uint32_t WardenDestroyFilter(WardenKey key, WardenFilter* filter) {
  return key->api->destroyFilter(key, filter);
}
// Progress (percentDone 0..99; the host shows 100 when Run succeeds) and problems.
static inline uint32_t WardenIndicateStatus(WardenKey key, WardenStatus status, uint32_t subStatus,
                                            const char* text, int32_t percentDone) {
  return key->api->indicateStatus(key, (uint32_t)status, subStatus, text, percentDone);
}
// Copies the event into the run's results.
static inline uint32_t WardenSubmitEvent(WardenKey key, const WardenEvent* event) {
  return key->api->submitEvent(key, event);
}
static inline uint32_t WardenGetStartupInfo(WardenKey key, WardenStartupInfo* out) {
  return key->api->getStartupInfo(key, out);
}
// The value of option `name` from the command line ("-e expert:name=value,other=2" or a JSON
// object), NUL-terminated. WARDEN_ERR_NOT_FOUND when not given, WARDEN_ERR_BUFFER_TOO_SMALL when
// it does not fit. Options nobody asked for during Configure are reported to the user as unknown.
static inline uint32_t WardenGetOption(WardenKey key, const char* name, char* value,
                                       size_t valueSize) {
  return key->api->getOption(key, name, value, valueSize);
}
// A resource the host closes (closer(context)) if the expert leaves it behind: on failure, abort
// or a forgotten release. Closers run newest first, before the run's memory is freed.
static inline uint32_t WardenRegisterResource(WardenKey key, const char* name, WardenCloser closer,
                                              void* context, WardenResource* out) {
  return key->api->registerResource(key, name, closer, context, out);
}
// The expert is done with a resource: run its closer now (runCloser != 0) or just forget it.
static inline uint32_t WardenReleaseResource(WardenKey key, WardenResource resource,
                                             int runCloser) {
  return key->api->releaseResource(key, resource, runCloser);
}

// Narrows WARDEN_FRAME_ATTACH_FIELDS to the named fields for the rest of the run, as Network
// Monitor 3's NmAddField narrows its parser: frames then carry only their instances of these
// fields (in the host's table order), which costs a fraction of attaching every field. count 0
// attaches every field again. WARDEN_ERR_NOT_FOUND (the selection unchanged) when a name is not
// a field of the host's table, WARDEN_ERR_BAD_VERSION from a host that predates this helper.
static inline uint32_t WardenSelectFields(WardenKey key, const char* const* names, uint32_t count) {
  if (key->api->size < offsetof(WardenHostApi, selectFields) + sizeof key->api->selectFields)
    return WARDEN_ERR_BAD_VERSION;
  return key->api->selectFields(key, names, count);
}

// Says that the run still reads the bytes of frames it was handed from `firstFrame` on (0: none
// before the one it read last), as an expert that holds frames until it can decide about them
// does. Frame bytes stay valid until the run ends whatever this says; the host uses it to keep
// them resident rather than releasing the memory behind the run's reading position and mapping
// it again when they are read. Call it as that frame moves on. WARDEN_ERR_NOT_FOUND for a number
// past the last frame, WARDEN_ERR_BAD_VERSION from a host that predates this helper.
static inline uint32_t WardenRetainFrames(WardenKey key, uint32_t firstFrame) {
  if (key->api->size < offsetof(WardenHostApi, retainFrames) + sizeof key->api->retainFrames)
    return WARDEN_ERR_BAD_VERSION;
  return key->api->retainFrames(key, firstFrame);
}

// Entry point types, for hosts and for plug-ins that want to check their signatures.
typedef int (*WardenRegisterProc)(WardenExpertInfo* info);
typedef int (*WardenConfigureProc)(WardenKey key, WardenExpertConfig** config,
                                   const WardenStartupInfo* startup, uint32_t startupFlags);
typedef int (*WardenRunProc)(WardenKey key, const WardenExpertConfig* config,
                             const WardenStartupInfo* startup, uint32_t startupFlags);

#ifdef __cplusplus
}
#endif

#endif  // WARDEN_EXPERT_H_
