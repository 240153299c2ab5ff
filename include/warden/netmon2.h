// The Network Monitor 2 expert SDK names and shapes over Warden's expert ABI, so an expert written
// for NM2 ports with few changes: the Expert* helpers, NMERR_* codes, EXPERTENUMINFO,
// EXPERTCONFIG, NMEVENTDATA with its typed columns, the frame directions and request flags.
// What differs: frames are reached through EXPERTFRAMEDESCRIPTOR's Warden members (pFrame is the
// raw bytes, as in NM2), filters are display-filter text (ExpertCreateFilter) instead of
// FilterAddObject programs, there is no HWND, and WINAPI is empty. Plain C, like expert.h.
#ifndef WARDEN_NETMON2_H_
#define WARDEN_NETMON2_H_

#include <string.h>
#include <time.h>

#include "warden/expert.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WINAPI

typedef uint8_t BYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef int32_t LONG;
typedef int BOOL;
typedef size_t SIZE_T;
typedef void* LPVOID;
typedef char* LPSTR;
typedef const char* LPCSTR;
typedef double DOUBLE;
typedef WardenKey HEXPERTKEY;
typedef WardenFilter* HFILTER;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

// Error codes (nmerr section of netmon.h).
#define NMERR_SUCCESS WARDEN_OK
#define NMERR_INVALID_HFILTER WARDEN_ERR_BAD_FILTER
#define NMERR_NO_MORE_FRAMES WARDEN_ERR_NO_MORE_FRAMES
#define NMERR_BUFFER_TOO_SMALL WARDEN_ERR_BUFFER_TOO_SMALL
#define NMERR_OUT_OF_MEMORY WARDEN_ERR_OUT_OF_MEMORY
#define NMERR_FRAME_FAILED_FILTER WARDEN_ERR_FAILED_FILTER
#define NMERR_EXPERT_TERMINATE WARDEN_ERR_TERMINATE
#define NMERR_BAD_VERSION WARDEN_ERR_BAD_VERSION

// Register.
#define EXPERTSTRINGLENGTH WARDEN_EXPERT_STRING_LENGTH
#define EXPERT_ENUM_FLAG_CONFIGURABLE WARDEN_EXPERT_CONFIGURABLE
#define EXPERT_ENUM_FLAG_VIEWER_PRIVATE 0x0002u
#define EXPERT_ENUM_FLAG_NO_VIEWER WARDEN_EXPERT_NO_EVENTS
#define EXPERT_ENUM_FLAG_ADD_ME_TO_RMC_IN_SUMMARY 0x0010u
#define EXPERT_ENUM_FLAG_ADD_ME_TO_RMC_IN_DETAIL 0x0020u

// The first five members of NM2's EXPERTENUMINFO; the host's private tail is not shared.
typedef struct _EXPERTENUMINFO {
  char szName[EXPERTSTRINGLENGTH];
  char szVendor[EXPERTSTRINGLENGTH];
  char szDescription[EXPERTSTRINGLENGTH];
  DWORD Version;
  DWORD Flags;
} EXPERTENUMINFO, *PEXPERTENUMINFO;

typedef WardenExpertConfig EXPERTCONFIG, *PEXPERTCONFIG;
typedef WardenStartupInfo EXPERTSTARTUPINFO, *PEXPERTSTARTUPINFO;
typedef WardenFrameDescriptor EXPERTFRAMEDESCRIPTOR, *LPEXPERTFRAMEDESCRIPTOR;
#define EXPERT_STARTUP_FLAG_USE_STARTUP_DATA_OVER_CONFIG_DATA WARDEN_STARTUP_USE_FOCUS_OVER_CONFIG

// Frames.
#define GET_SPECIFIED_FRAME WARDEN_FRAME_SPECIFIC
#define GET_FRAME_NEXT_FORWARD WARDEN_FRAME_NEXT_FORWARD
#define GET_FRAME_NEXT_BACKWARD WARDEN_FRAME_NEXT_BACKWARD
#define FLAGS_DEFER_TO_UI_FILTER WARDEN_FRAME_APPLY_RUN_FILTER
#define FLAGS_ATTACH_PROPERTIES WARDEN_FRAME_ATTACH_FIELDS

// Status.
typedef WardenStatus EXPERTSTATUSENUMERATION;
#define EXPERTSTATUS_INACTIVE WARDEN_STATUS_INACTIVE
#define EXPERTSTATUS_STARTING WARDEN_STATUS_STARTING
#define EXPERTSTATUS_RUNNING WARDEN_STATUS_RUNNING
#define EXPERTSTATUS_PROBLEM WARDEN_STATUS_PROBLEM
#define EXPERTSTATUS_ABORTED WARDEN_STATUS_ABORTED
#define EXPERTSTATUS_DONE WARDEN_STATUS_DONE
#define EXPERTSUBSTATUS_ABORTED_USER 0x1u
#define EXPERTSUBSTATUS_ABORTED_LOAD_FAIL 0x2u
#define EXPERTSUBSTATUS_ABORTED_THREAD_FAIL 0x4u
#define EXPERTSUBSTATUS_ABORTED_BAD_ENTRY 0x8u

// Events: NM2's NMEVENTDATA with a trailing column array, converted at submit time.
#define NMEVENTFLAG_MONITOR 0x0u
#define NMEVENTFLAG_EXPERT 0x1u
#define NMEVENTFLAG_DO_NOT_DISPLAY_SEVERITY 0x80000000u
#define NMEVENTFLAG_DO_NOT_DISPLAY_SOURCE 0x40000000u
#define NMEVENTFLAG_DO_NOT_DISPLAY_EVENT_NAME 0x20000000u
#define NMEVENTFLAG_DO_NOT_DISPLAY_DESCRIPTION 0x10000000u
#define NMEVENTFLAG_DO_NOT_DISPLAY_MACHINE 0x08000000u
#define NMEVENTFLAG_DO_NOT_DISPLAY_TIME 0x04000000u
#define NMEVENTFLAG_DO_NOT_DISPLAY_DATE 0x02000000u
#define NMEVENTFLAG_DO_NOT_DISPLAY_FIXED_COLUMNS 0xFE000000u

#define NMEVENT_SEVERITY_INFORMATIONAL WARDEN_SEVERITY_INFORMATIONAL
#define NMEVENT_SEVERITY_WARNING WARDEN_SEVERITY_WARNING
#define NMEVENT_SEVERITY_STRONG_WARNING WARDEN_SEVERITY_STRONG_WARNING
#define NMEVENT_SEVERITY_ERROR WARDEN_SEVERITY_ERROR
#define NMEVENT_SEVERITY_SEVERE_ERROR WARDEN_SEVERITY_SEVERE_ERROR
#define NMEVENT_SEVERITY_CRITICAL_ERROR WARDEN_SEVERITY_CRITICAL

typedef enum _NMCOLUMNTYPE {
  NMCOLUMNTYPE_UINT8 = 0,
  NMCOLUMNTYPE_SINT8,
  NMCOLUMNTYPE_UINT16,
  NMCOLUMNTYPE_SINT16,
  NMCOLUMNTYPE_UINT32,
  NMCOLUMNTYPE_SINT32,
  NMCOLUMNTYPE_FLOAT64,
  NMCOLUMNTYPE_FRAME,
  NMCOLUMNTYPE_YESNO,
  NMCOLUMNTYPE_ONOFF,
  NMCOLUMNTYPE_TRUEFALSE,
  NMCOLUMNTYPE_MACADDR,
  NMCOLUMNTYPE_IPXADDR,  // not supported: submitting one fails with WARDEN_ERR_INVALID_PARAMETER
  NMCOLUMNTYPE_IPADDR,
  NMCOLUMNTYPE_VARTIME,
  NMCOLUMNTYPE_STRING
} NMCOLUMNTYPE;

typedef struct _NMCOLUMNVARIANT {
  NMCOLUMNTYPE Type;
  union {
    BYTE Uint8Val;
    char Sint8Val;
    WORD Uint16Val;
    short Sint16Val;
    DWORD Uint32Val;
    LONG Sint32Val;
    DOUBLE Float64Val;
    DWORD FrameVal;
    BOOL YesNoVal;
    BOOL OnOffVal;
    BOOL TrueFalseVal;
    BYTE MACAddrVal[6];
    DWORD IPAddrVal;    // as it lies in the frame (network order in memory)
    DOUBLE VarTimeVal;  // OLE automation date: days since 1899-12-30
    LPCSTR pStringVal;
  } Value;
} NMCOLUMNVARIANT;

typedef struct _NMCOLUMNINFO {
  LPSTR szColumnName;
  NMCOLUMNVARIANT VariantData;
} NMCOLUMNINFO;

typedef struct _SYSTEMTIME {
  WORD wYear, wMonth, wDayOfWeek, wDay, wHour, wMinute, wSecond, wMilliseconds;
} SYSTEMTIME;

// The NM 2.x header layout (pszReserved first, pvReserved instead of szUrl).
typedef struct _NMEVENTDATA {
  LPSTR pszReserved;
  BYTE Version;  // 0
  DWORD EventIdent;
  DWORD Flags;
  DWORD Severity;
  BYTE NumColumns;
  LPSTR szSourceName;
  LPSTR szEventName;
  LPSTR szDescription;
  LPSTR szMachine;
  LPSTR Justification;
  LPVOID pvReserved;
  SYSTEMTIME SysTime;      // UTC; all zero for none
  NMCOLUMNINFO Column[1];  // really NumColumns entries: allocate sizeof + (n - 1) columns
} NMEVENTDATA, *PNMEVENTDATA;

// The helpers.
static inline LPVOID ExpertAllocMemory(HEXPERTKEY key, SIZE_T nBytes, DWORD* pError) {
  return WardenAllocMemory(key, nBytes, pError);
}
static inline LPVOID ExpertReallocMemory(HEXPERTKEY key, LPVOID pOriginal, SIZE_T nBytes,
                                         DWORD* pError) {
  return WardenReallocMemory(key, pOriginal, nBytes, pError);
}
static inline DWORD ExpertFreeMemory(HEXPERTKEY key, LPVOID pOriginal) {
  return WardenFreeMemory(key, pOriginal);
}
static inline SIZE_T ExpertMemorySize(HEXPERTKEY key, LPVOID pOriginal) {
  return WardenMemorySize(key, pOriginal);
}
static inline DWORD ExpertGetFrame(HEXPERTKEY key, DWORD Direction, DWORD RequestFlags,
                                   DWORD RequestedFrameNumber, HFILTER hFilter,
                                   LPEXPERTFRAMEDESCRIPTOR pEFrameDescriptor) {
  return WardenGetFrame(key, Direction, RequestFlags, RequestedFrameNumber, hFilter,
                        pEFrameDescriptor);
}
// NM2 built filters with CreateFilter/FilterAddObject; here a filter is display-filter text.
static inline DWORD ExpertCreateFilter(HEXPERTKEY key, LPCSTR text, HFILTER* phFilter) {
  return WardenCreateFilter(key, text, phFilter, NULL, 0);
}
static inline DWORD ExpertDestroyFilter(HEXPERTKEY key, HFILTER hFilter) {
  return WardenDestroyFilter(key, hFilter);
}
static inline DWORD ExpertIndicateStatus(HEXPERTKEY key, EXPERTSTATUSENUMERATION Status,
                                         DWORD SubStatus, const char* szText, LONG PercentDone) {
  return WardenIndicateStatus(key, Status, SubStatus, szText, PercentDone);
}
static inline DWORD ExpertGetStartupInfo(HEXPERTKEY key, PEXPERTSTARTUPINFO pExpertStartupInfo) {
  return WardenGetStartupInfo(key, pExpertStartupInfo);
}

// SYSTEMTIME (UTC) to nanoseconds since the Unix epoch; 0 for an all-zero time.
static inline int64_t WardenNm2SystemTimeToNs(const SYSTEMTIME* t) {
  struct tm parts;
  if (t->wYear == 0) return 0;
  memset(&parts, 0, sizeof parts);
  parts.tm_year = t->wYear - 1900;
  parts.tm_mon = t->wMonth - 1;
  parts.tm_mday = t->wDay;
  parts.tm_hour = t->wHour;
  parts.tm_min = t->wMinute;
  parts.tm_sec = t->wSecond;
  return (int64_t)timegm(&parts) * 1000000000 + (int64_t)t->wMilliseconds * 1000000;
}

// Converts the NM2 event (columns included) and submits it; the host copies everything.
static inline DWORD ExpertSubmitEvent(HEXPERTKEY key, PNMEVENTDATA pExpertEvent) {
  WardenColumn columns[WARDEN_EVENT_MAX_COLUMNS];
  WardenEvent event;
  unsigned i;
  if (pExpertEvent == NULL) return WARDEN_ERR_INVALID_PARAMETER;
  for (i = 0; i < pExpertEvent->NumColumns; ++i) {
    const NMCOLUMNVARIANT* v = &pExpertEvent->Column[i].VariantData;
    WardenColumn* c = &columns[i];
    memset(c, 0, sizeof *c);
    c->name = pExpertEvent->Column[i].szColumnName;
    switch (v->Type) {
      case NMCOLUMNTYPE_UINT8:
        c->type = WARDEN_COLUMN_U8;
        c->value.u8 = v->Value.Uint8Val;
        break;
      case NMCOLUMNTYPE_SINT8:
        c->type = WARDEN_COLUMN_I8;
        c->value.i8 = (int8_t)v->Value.Sint8Val;
        break;
      case NMCOLUMNTYPE_UINT16:
        c->type = WARDEN_COLUMN_U16;
        c->value.u16 = v->Value.Uint16Val;
        break;
      case NMCOLUMNTYPE_SINT16:
        c->type = WARDEN_COLUMN_I16;
        c->value.i16 = v->Value.Sint16Val;
        break;
      case NMCOLUMNTYPE_UINT32:
        c->type = WARDEN_COLUMN_U32;
        c->value.u32 = v->Value.Uint32Val;
        break;
      case NMCOLUMNTYPE_SINT32:
        c->type = WARDEN_COLUMN_I32;
        c->value.i32 = v->Value.Sint32Val;
        break;
      case NMCOLUMNTYPE_FLOAT64:
        c->type = WARDEN_COLUMN_F64;
        c->value.f64 = v->Value.Float64Val;
        break;
      case NMCOLUMNTYPE_FRAME:
        c->type = WARDEN_COLUMN_FRAME;
        c->value.frame = v->Value.FrameVal;
        break;
      case NMCOLUMNTYPE_YESNO:
        c->type = WARDEN_COLUMN_YESNO;
        c->value.flag = v->Value.YesNoVal;
        break;
      case NMCOLUMNTYPE_ONOFF:
        c->type = WARDEN_COLUMN_ONOFF;
        c->value.flag = v->Value.OnOffVal;
        break;
      case NMCOLUMNTYPE_TRUEFALSE:
        c->type = WARDEN_COLUMN_TRUEFALSE;
        c->value.flag = v->Value.TrueFalseVal;
        break;
      case NMCOLUMNTYPE_MACADDR:
        c->type = WARDEN_COLUMN_MAC;
        memcpy(c->value.mac, v->Value.MACAddrVal, 6);
        break;
      case NMCOLUMNTYPE_IPADDR:
        c->type = WARDEN_COLUMN_IPV4;
        memcpy(c->value.ipv4, &v->Value.IPAddrVal, 4);
        break;
      case NMCOLUMNTYPE_VARTIME:
        c->type = WARDEN_COLUMN_TIME;
        c->value.timeNs = (int64_t)((v->Value.VarTimeVal - 25569.0) * 86400.0 * 1e9);
        break;
      case NMCOLUMNTYPE_STRING:
        c->type = WARDEN_COLUMN_STRING;
        c->value.string = v->Value.pStringVal;
        break;
      default:
        return WARDEN_ERR_INVALID_PARAMETER;
    }
  }
  memset(&event, 0, sizeof event);
  event.version = pExpertEvent->Version;
  event.id = pExpertEvent->EventIdent;
  event.flags = pExpertEvent->Flags;
  event.severity = pExpertEvent->Severity;
  event.sourceName = pExpertEvent->szSourceName;
  event.eventName = pExpertEvent->szEventName;
  event.description = pExpertEvent->szDescription;
  event.timestampNs = WardenNm2SystemTimeToNs(&pExpertEvent->SysTime);
  event.columnCount = pExpertEvent->NumColumns;
  event.columns = columns;
  return WardenSubmitEvent(key, &event);
}

#ifdef __cplusplus
}
#endif

#endif  // WARDEN_NETMON2_H_
