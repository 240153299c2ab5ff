// GUID for com.idl (an imported C header, as MIDL reads guiddef.h).
typedef struct _GUID {
  unsigned long Data1;
  unsigned short Data2;
  unsigned short Data3;
  byte Data4[8];
} GUID;
