/*
 * Prints, as JSON, the layout the C compiler gives the NVML structs the binding declares, and the
 * constants it relies on, as the genuine nvml.h defines them:
 *
 *   { "structs": { "<type>": { "size": N, "members": { "<member>": [offset, size], ... } }, ... },
 *     "constants": { "<name>": N, ... } }
 *
 * Member sizes are printed with the offsets because offsets alone miss a member declared too
 * narrow when alignment padding follows it (a 4-byte `reserved` before the 8-byte aligned `free`
 * of nvmlMemory_v2_t leaves every offset and the struct size unchanged).
 *
 * Which structs and members to print comes from nvml-abi-members.h, written by the ABI test from
 * the koffi definitions (so a member declared under a name nvml.h lacks fails to compile):
 *
 *   #define NVML_ABI_MEMBERS(S, M) S(nvmlMemory_t) M(nvmlMemory_t, total) M(nvmlMemory_t, free) ...
 *
 * Build: cc -std=c11 -I<dir of nvml.h> -I<dir of nvml-abi-members.h> nvml-abi.c
 */
#include <stddef.h>
#include <stdio.h>

#include <nvml.h>

#include "nvml-abi-members.h"

static int structs_printed = 0;
static int members_printed = 0;

static void begin_struct(const char *type, size_t size) {
  if (structs_printed++ > 0) printf(" } },");
  printf("\n    \"%s\": { \"size\": %zu, \"members\": {", type, size);
  members_printed = 0;
}

static void member(const char *name, size_t offset, size_t size) {
  printf("%s \"%s\": [%zu, %zu]", members_printed++ > 0 ? "," : "", name, offset, size);
}

static void constant(const char *name, unsigned long long value, int last) {
  printf("\n    \"%s\": %llu%s", name, value, last ? "" : ",");
}

int main(void) {
  printf("{\n  \"structs\": {");
#define ABI_STRUCT(type) begin_struct(#type, sizeof(type));
#define ABI_MEMBER(type, name) member(#name, offsetof(type, name), sizeof(((type *)0)->name));
  NVML_ABI_MEMBERS(ABI_STRUCT, ABI_MEMBER)
  if (structs_printed > 0) printf(" } }");
  printf("\n  },\n  \"constants\": {");
  constant("nvmlMemory_v2", nvmlMemory_v2, 0);
  constant("nvmlEventTypeSingleBitEccError", nvmlEventTypeSingleBitEccError, 0);
  constant("nvmlEventTypeDoubleBitEccError", nvmlEventTypeDoubleBitEccError, 0);
  constant("nvmlEventTypeXidCriticalError", nvmlEventTypeXidCriticalError, 1);
  printf("\n  }\n}\n");
  return 0;
}
