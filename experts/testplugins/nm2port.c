// An expert written the Network Monitor 2 way (netmon2.h names and shapes): counts the frames that
// contain TCP with a filter, reports the count and the first frame's source address in an
// NMEVENTDATA built in host memory and submitted twice (the NM2 samples reuse their buffer).
#include <stdlib.h>

#include "warden/netmon2.h"

WARDEN_EXPERT_PLUGIN();

BOOL WINAPI Register(PEXPERTENUMINFO pExpertEnumInfo) {
  strcpy(pExpertEnumInfo->szName, "NM2 port");
  strcpy(pExpertEnumInfo->szVendor, "Warden tests");
  strcpy(pExpertEnumInfo->szDescription, "counts TCP frames through the NM2 names");
  pExpertEnumInfo->Version = 0;
  pExpertEnumInfo->Flags = 0;
  return TRUE;
}

BOOL WINAPI Run(HEXPERTKEY hExpertKey, PEXPERTCONFIG pConfig, PEXPERTSTARTUPINFO pStartupInfo,
                DWORD StartupFlags) {
  EXPERTFRAMEDESCRIPTOR frame;
  HFILTER hFilter = NULL;
  DWORD rc, count = 0, number = (DWORD)-1, firstSource = 0, error = 0;
  PNMEVENTDATA pEvent;
  (void)pConfig, (void)StartupFlags;
  if (ExpertIndicateStatus(hExpertKey, EXPERTSTATUS_STARTING, 0, "counting", 0) != NMERR_SUCCESS)
    return TRUE;
  if (ExpertCreateFilter(hExpertKey, "tcp", &hFilter) != NMERR_SUCCESS) return FALSE;
  while ((rc = ExpertGetFrame(hExpertKey, GET_FRAME_NEXT_FORWARD, FLAGS_DEFER_TO_UI_FILTER, number,
                              hFilter, &frame)) == NMERR_SUCCESS) {
    number = frame.frameNumber;
    if (count++ == 0) {
      ExpertGetFrame(hExpertKey, GET_SPECIFIED_FRAME, FLAGS_ATTACH_PROPERTIES, number, NULL,
                     &frame);
      for (DWORD i = 0; i < frame.fieldCount; ++i) {
        if (strcmp(frame.fields[i].name, "ip.src") == 0)
          memcpy(&firstSource, frame.fields[i].bytes, 4);
      }
    }
    ExpertIndicateStatus(hExpertKey, EXPERTSTATUS_RUNNING, 0, NULL,
                         (LONG)(number * 100 / (pStartupInfo->frameCount + 1)));
  }
  if (rc == NMERR_EXPERT_TERMINATE) return TRUE;
  pEvent = (PNMEVENTDATA)ExpertAllocMemory(hExpertKey,
                                           sizeof(NMEVENTDATA) + 2 * sizeof(NMCOLUMNINFO), &error);
  if (pEvent == NULL) return FALSE;
  memset(pEvent, 0, sizeof(NMEVENTDATA) + 2 * sizeof(NMCOLUMNINFO));
  pEvent->EventIdent = 1;
  pEvent->Flags = NMEVENTFLAG_EXPERT;
  pEvent->Severity = NMEVENT_SEVERITY_INFORMATIONAL;
  pEvent->NumColumns = 3;
  pEvent->szEventName = "TCP frames";
  pEvent->SysTime.wYear = 2001;
  pEvent->SysTime.wMonth = 9;
  pEvent->SysTime.wDay = 9;
  pEvent->SysTime.wHour = 1;
  pEvent->SysTime.wMinute = 46;
  pEvent->SysTime.wSecond = 40;
  pEvent->Column[0].szColumnName = "Frames";
  pEvent->Column[0].VariantData.Type = NMCOLUMNTYPE_UINT32;
  pEvent->Column[0].VariantData.Value.Uint32Val = count;
  pEvent->Column[1].szColumnName = "First source";
  pEvent->Column[1].VariantData.Type = NMCOLUMNTYPE_IPADDR;
  pEvent->Column[1].VariantData.Value.IPAddrVal = firstSource;
  pEvent->Column[2].szColumnName = "Round";
  pEvent->Column[2].VariantData.Type = NMCOLUMNTYPE_STRING;
  pEvent->Column[2].VariantData.Value.pStringVal = "first";
  if (ExpertSubmitEvent(hExpertKey, pEvent) != NMERR_SUCCESS) return FALSE;
  pEvent->Column[2].VariantData.Value.pStringVal = "second";  // reuse, as NM2 samples do
  if (ExpertSubmitEvent(hExpertKey, pEvent) != NMERR_SUCCESS) return FALSE;
  ExpertFreeMemory(hExpertKey, pEvent);
  ExpertDestroyFilter(hExpertKey, hFilter);
  return TRUE;
}
