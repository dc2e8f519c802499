/*
 * sim-driver: loads libnvidia-ml.so.1 / libcuda.so.1 with dlopen and runs the
 * commands given on its command line, printing one JSON line per command.
 *
 *   sim-driver [--nvml PATH] [--cuda PATH] COMMAND [ARGS]... [COMMAND [ARGS]...]...
 *
 * Library paths default to $NVML_LIBRARY_PATH and $CUDA_LIBRARY_PATH.
 * Every line: {"cmd":..., "args":[...], "rc":N|null, "ms":elapsed, ...}.
 * Devices (D) are "0" (index), "uuid:GPU-...", "pci:0000:00:06.0" or "mig:G:M".
 * Meta commands:
 *   bg [repeat N] CMD ARGS...   run CMD (N times) on a new thread (its line says "thread":"bg")
 *   join                        wait for all bg commands
 *   until rc=N|value=JSON MS CMD ARGS...  repeat CMD until it matches or MS pass
 *   repeat N CMD ARGS...        run CMD N times, report every rc
 *   sync                        print a line, then wait for a line on stdin
 *   sleep MS
 * Run without arguments for the command list.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NVML_NO_UNVERSIONED_FUNC_DEFS 1
#include <nvml.h>

#include "cuda_types.h"

nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long *reasons);

/* ------------------------------------------------------------------ */
/* libraries                                                            */

static const char *nvml_path, *cuda_path;
static void *nvml_lib, *cuda_lib;
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

static void *lib_sym(void **lib, const char *path, const char *name) {
  pthread_mutex_lock(&lib_lock);
  if (!*lib && path) {
    *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*lib) fprintf(stderr, "sim-driver: dlopen %s: %s\n", path, dlerror());
  }
  pthread_mutex_unlock(&lib_lock);
  return *lib ? dlsym(*lib, name) : NULL;
}

#define NVF(name) ((__typeof__(&name))lib_sym(&nvml_lib, nvml_path, #name))
#define CUF(name) ((__typeof__(&name))lib_sym(&cuda_lib, cuda_path, #name))

/* ------------------------------------------------------------------ */
/* results                                                              */

typedef struct {
  int has_rc;
  long rc;
  char fields[16384];
  char value[8192];
} result_t;

static void add(result_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(result_t *r, const char *fmt, ...) {
  size_t len = strlen(r->fields);
  if (len + 2 >= sizeof r->fields) return;
  r->fields[len++] = ',';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->fields + len, sizeof r->fields - len, fmt, ap);
  va_end(ap);
}

static void json_str(char *out, size_t n, const char *s) {
  size_t o = 0;
  if (!s) {
    snprintf(out, n, "null");
    return;
  }
  out[o++] = '"';
  for (; *s && o + 8 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      out[o++] = '\\', out[o++] = (char)c;
    else if (c < 0x20)
      o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
    else
      out[o++] = (char)c;
  }
  out[o++] = '"';
  out[o] = 0;
}

static void value_raw(result_t *r, const char *json) {
  snprintf(r->value, sizeof r->value, "%s", json);
  add(r, "\"value\":%s", json);
}

static void value_str(result_t *r, const char *s) {
  char buf[4096];
  json_str(buf, sizeof buf, s);
  value_raw(r, buf);
}

static void value_num(result_t *r, long long v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", v);
  value_raw(r, buf);
}

static void value_fmt(result_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void value_fmt(result_t *r, const char *fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  value_raw(r, buf);
}

static void set_rc(result_t *r, long rc) {
  r->has_rc = 1;
  r->rc = rc;
}

static int missing(result_t *r, const char *name) {
  add(r, "\"error\":\"missing symbol %s\"", name);
  return -1;
}

#define NEED(r, f, name)                                                                                              \
  do {                                                                                                                \
    if (!(f)) {                                                                                                       \
      missing(r, name);                                                                                               \
      return;                                                                                                         \
    }                                                                                                                 \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static long num(const char *s) { return strtol(s, NULL, 0); }

/* ------------------------------------------------------------------ */
/* NVML                                                                 */

static int get_device(const char *spec, nvmlDevice_t *dev, result_t *r) {
  nvmlReturn_t rc;
  if (strncmp(spec, "uuid:", 5) == 0) {
    __typeof__(&nvmlDeviceGetHandleByUUID) f = NVF(nvmlDeviceGetHandleByUUID);
    if (!f) return missing(r, "nvmlDeviceGetHandleByUUID");
    rc = f(spec + 5, dev);
  } else if (strncmp(spec, "pci:", 4) == 0) {
    __typeof__(&nvmlDeviceGetHandleByPciBusId_v2) f = NVF(nvmlDeviceGetHandleByPciBusId_v2);
    if (!f) return missing(r, "nvmlDeviceGetHandleByPciBusId_v2");
    rc = f(spec + 4, dev);
  } else if (strncmp(spec, "mig:", 4) == 0) {
    unsigned g = 0, m = 0;
    if (sscanf(spec + 4, "%u:%u", &g, &m) != 2) return add(r, "\"error\":\"bad device %s\"", spec), -1;
    char parent[16];
    snprintf(parent, sizeof parent, "%u", g);
    nvmlDevice_t p;
    if (get_device(parent, &p, r)) return -1;
    __typeof__(&nvmlDeviceGetMigDeviceHandleByIndex) f = NVF(nvmlDeviceGetMigDeviceHandleByIndex);
    if (!f) return missing(r, "nvmlDeviceGetMigDeviceHandleByIndex");
    rc = f(p, m, dev);
  } else {
    __typeof__(&nvmlDeviceGetHandleByIndex_v2) f = NVF(nvmlDeviceGetHandleByIndex_v2);
    if (!f) f = NVF(nvmlDeviceGetHandleByIndex);
    if (!f) return missing(r, "nvmlDeviceGetHandleByIndex");
    rc = f((unsigned)num(spec), dev);
  }
  if (rc) {
    set_rc(r, rc);
    add(r, "\"stage\":\"handle\"");
    return -1;
  }
  return 0;
}

#define DEVICE(r, spec, dev)                                                                                          \
  nvmlDevice_t dev;                                                                                                   \
  if (get_device(spec, &dev, r)) return

static void c_init(char **a, result_t *r) {
  (void)a;
  __typeof__(&nvmlInit_v2) f = NVF(nvmlInit_v2);
  NEED(r, f, "nvmlInit_v2");
  set_rc(r, f());
}

static void c_init_flags(char **a, result_t *r) {
  __typeof__(&nvmlInitWithFlags) f = NVF(nvmlInitWithFlags);
  NEED(r, f, "nvmlInitWithFlags");
  set_rc(r, f((unsigned)num(a[0])));
}

static void c_shutdown(char **a, result_t *r) {
  (void)a;
  __typeof__(&nvmlShutdown) f = NVF(nvmlShutdown);
  NEED(r, f, "nvmlShutdown");
  set_rc(r, f());
}

static void count_common(result_t *r, int allow_v2) {
  __typeof__(&nvmlDeviceGetCount_v2) f = allow_v2 ? NVF(nvmlDeviceGetCount_v2) : NULL;
  const char *used = "nvmlDeviceGetCount_v2";
  if (!f) f = NVF(nvmlDeviceGetCount), used = "nvmlDeviceGetCount";
  NEED(r, f, "nvmlDeviceGetCount");
  unsigned n = 0;
  set_rc(r, f(&n));
  add(r, "\"symbol\":\"%s\"", used);
  if (!r->rc) value_num(r, n);
}

static void c_count(char **a, result_t *r) { (void)a, count_common(r, 1); }
static void c_count_v1(char **a, result_t *r) { (void)a, count_common(r, 0); }

static void c_system_string(result_t *r, int which, unsigned len) {
  __typeof__(&nvmlSystemGetDriverVersion) f = which ? NVF(nvmlSystemGetNVMLVersion) : NVF(nvmlSystemGetDriverVersion);
  NEED(r, f, which ? "nvmlSystemGetNVMLVersion" : "nvmlSystemGetDriverVersion");
  char buf[256] = "";
  set_rc(r, f(buf, len));
  if (!r->rc) value_str(r, buf);
}

static void c_driver_version(char **a, result_t *r) { c_system_string(r, 0, a[0] ? (unsigned)num(a[0]) : 80); }
static void c_nvml_version(char **a, result_t *r) { c_system_string(r, 1, a[0] ? (unsigned)num(a[0]) : 80); }

static void cuda_version_common(result_t *r, int allow_v2) {
  __typeof__(&nvmlSystemGetCudaDriverVersion_v2) f = allow_v2 ? NVF(nvmlSystemGetCudaDriverVersion_v2) : NULL;
  const char *used = "nvmlSystemGetCudaDriverVersion_v2";
  if (!f) f = NVF(nvmlSystemGetCudaDriverVersion), used = "nvmlSystemGetCudaDriverVersion";
  NEED(r, f, "nvmlSystemGetCudaDriverVersion");
  int v = 0;
  set_rc(r, f(&v));
  add(r, "\"symbol\":\"%s\"", used);
  if (!r->rc) value_num(r, v);
}

static void c_cuda_version(char **a, result_t *r) { (void)a, cuda_version_common(r, 1); }
static void c_cuda_version_v1(char **a, result_t *r) { (void)a, cuda_version_common(r, 0); }

static void c_error_string(char **a, result_t *r) {
  __typeof__(&nvmlErrorString) f = NVF(nvmlErrorString);
  NEED(r, f, "nvmlErrorString");
  value_str(r, f((nvmlReturn_t)num(a[0])));
}

static void c_describe_lib(result_t *r, int cuda) {
  const char *(*f)(void) = cuda ? (const char *(*)(void))lib_sym(&cuda_lib, cuda_path, "gpuSimDescribe")
                                : (const char *(*)(void))lib_sym(&nvml_lib, nvml_path, "gpuSimDescribe");
  NEED(r, f, "gpuSimDescribe");
  value_raw(r, f());
}

static void c_describe(char **a, result_t *r) { (void)a, c_describe_lib(r, 0); }
static void c_cu_describe(char **a, result_t *r) { (void)a, c_describe_lib(r, 1); }

static void c_sym(char **a, result_t *r) {
  void *s = strcmp(a[0], "cuda") == 0 ? lib_sym(&cuda_lib, cuda_path, a[1]) : lib_sym(&nvml_lib, nvml_path, a[1]);
  value_raw(r, s ? "true" : "false");
}

static void c_handle(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  set_rc(r, 0);
  value_fmt(r, "\"%p\"", (void *)d);
}

static void dev_string(char **a, result_t *r, int which, unsigned len) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetUUID) f = which == 0 ? NVF(nvmlDeviceGetUUID) : which == 1 ? NVF(nvmlDeviceGetName)
                                                                                     : NVF(nvmlDeviceGetSerial);
  NEED(r, f, "nvmlDeviceGet{UUID,Name,Serial}");
  char buf[256] = "";
  set_rc(r, f(d, buf, len));
  if (!r->rc) value_str(r, buf);
}

static void c_uuid(char **a, result_t *r) { dev_string(a, r, 0, 96); }
static void c_name(char **a, result_t *r) { dev_string(a, r, 1, 96); }
static void c_serial(char **a, result_t *r) { dev_string(a, r, 2, 30); }
static void c_name_len(char **a, result_t *r) { dev_string(a, r, 1, (unsigned)num(a[1])); }
static void c_uuid_len(char **a, result_t *r) { dev_string(a, r, 0, (unsigned)num(a[1])); }

static void c_pci(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetPciInfo_v3) f = NVF(nvmlDeviceGetPciInfo_v3);
  NEED(r, f, "nvmlDeviceGetPciInfo_v3");
  nvmlPciInfo_t p;
  memset(&p, 0, sizeof p);
  set_rc(r, f(d, &p));
  if (r->rc) return;
  value_fmt(r,
            "{\"busId\":\"%s\",\"busIdLegacy\":\"%s\",\"domain\":%u,\"bus\":%u,\"device\":%u,\"pciDeviceId\":%u,"
            "\"pciSubSystemId\":%u}",
            p.busId, p.busIdLegacy, p.domain, p.bus, p.device, p.pciDeviceId, p.pciSubSystemId);
}

/* unsigned-int getters with the (device, unsigned*) shape */
static void dev_u32(char **a, result_t *r, const char *name) {
  DEVICE(r, a[0], d);
  nvmlReturn_t (*f)(nvmlDevice_t, unsigned *) =
      (nvmlReturn_t(*)(nvmlDevice_t, unsigned *))lib_sym(&nvml_lib, nvml_path, name);
  NEED(r, f, name);
  unsigned v = 0;
  set_rc(r, f(d, &v));
  if (!r->rc) value_num(r, v);
}

static void c_index(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetIndex"); }
static void c_minor(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetMinorNumber"); }
static void c_arch(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetArchitecture"); }
static void c_power(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetPowerUsage"); }
static void c_power_limit(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetEnforcedPowerLimit"); }
static void c_pstate(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetPerformanceState"); }
static void c_fan(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetFanSpeed"); }
static void c_num_fans(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetNumFans"); }
static void c_max_mig(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetMaxMigDeviceCount"); }
static void c_is_mig(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceIsMigDeviceHandle"); }
static void c_gi(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetGpuInstanceId"); }
static void c_ci(char **a, result_t *r) { dev_u32(a, r, "nvmlDeviceGetComputeInstanceId"); }

static void c_cc(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetCudaComputeCapability) f = NVF(nvmlDeviceGetCudaComputeCapability);
  NEED(r, f, "nvmlDeviceGetCudaComputeCapability");
  int maj = 0, min = 0;
  set_rc(r, f(d, &maj, &min));
  if (!r->rc) value_fmt(r, "\"%d.%d\"", maj, min);
}

static void c_memory(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetMemoryInfo) f = NVF(nvmlDeviceGetMemoryInfo);
  NEED(r, f, "nvmlDeviceGetMemoryInfo");
  nvmlMemory_t m;
  memset(&m, 0, sizeof m);
  set_rc(r, f(d, &m));
  if (!r->rc) value_fmt(r, "{\"total\":%llu,\"free\":%llu,\"used\":%llu}", m.total, m.free, m.used);
}

static void c_memory_v2(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetMemoryInfo_v2) f = NVF(nvmlDeviceGetMemoryInfo_v2);
  NEED(r, f, "nvmlDeviceGetMemoryInfo_v2");
  nvmlMemory_v2_t m;
  memset(&m, 0, sizeof m);
  m.version = a[1] ? (unsigned)num(a[1]) : nvmlMemory_v2;
  set_rc(r, f(d, &m));
  if (!r->rc)
    value_fmt(r, "{\"version\":%u,\"total\":%llu,\"reserved\":%llu,\"free\":%llu,\"used\":%llu}", m.version, m.total,
              m.reserved, m.free, m.used);
}

static void c_temp(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetTemperature) f = NVF(nvmlDeviceGetTemperature);
  NEED(r, f, "nvmlDeviceGetTemperature");
  unsigned v = 0;
  set_rc(r, f(d, NVML_TEMPERATURE_GPU, &v));
  if (!r->rc) value_num(r, v);
}

static void c_threshold(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetTemperatureThreshold) f = NVF(nvmlDeviceGetTemperatureThreshold);
  NEED(r, f, "nvmlDeviceGetTemperatureThreshold");
  unsigned v = 0;
  set_rc(r, f(d, (nvmlTemperatureThresholds_t)num(a[1]), &v));
  if (!r->rc) value_num(r, v);
}

static void c_energy(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetTotalEnergyConsumption) f = NVF(nvmlDeviceGetTotalEnergyConsumption);
  NEED(r, f, "nvmlDeviceGetTotalEnergyConsumption");
  unsigned long long v = 0;
  set_rc(r, f(d, &v));
  if (!r->rc) value_num(r, (long long)v);
}

static void c_util(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetUtilizationRates) f = NVF(nvmlDeviceGetUtilizationRates);
  NEED(r, f, "nvmlDeviceGetUtilizationRates");
  nvmlUtilization_t u = {0, 0};
  set_rc(r, f(d, &u));
  if (!r->rc) value_fmt(r, "{\"gpu\":%u,\"memory\":%u}", u.gpu, u.memory);
}

static void reasons_common(char **a, result_t *r, int allow_new) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetCurrentClocksEventReasons) f = allow_new ? NVF(nvmlDeviceGetCurrentClocksEventReasons) : NULL;
  const char *used = "nvmlDeviceGetCurrentClocksEventReasons";
  if (!f) f = NVF(nvmlDeviceGetCurrentClocksThrottleReasons), used = "nvmlDeviceGetCurrentClocksThrottleReasons";
  NEED(r, f, "nvmlDeviceGetCurrentClocksThrottleReasons");
  unsigned long long v = 0;
  set_rc(r, f(d, &v));
  add(r, "\"symbol\":\"%s\"", used);
  if (!r->rc) value_num(r, (long long)v);
}

static void c_clock_reasons(char **a, result_t *r) { reasons_common(a, r, 1); }
static void c_throttle_reasons(char **a, result_t *r) { reasons_common(a, r, 0); }

static void c_clock(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetClockInfo) f = NVF(nvmlDeviceGetClockInfo);
  NEED(r, f, "nvmlDeviceGetClockInfo");
  unsigned v = 0;
  set_rc(r, f(d, (nvmlClockType_t)num(a[1]), &v));
  if (!r->rc) value_num(r, v);
}

static void c_ecc_mode(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetEccMode) f = NVF(nvmlDeviceGetEccMode);
  NEED(r, f, "nvmlDeviceGetEccMode");
  nvmlEnableState_t c = 0, p = 0;
  set_rc(r, f(d, &c, &p));
  if (!r->rc) value_fmt(r, "{\"current\":%d,\"pending\":%d}", (int)c, (int)p);
}

static void c_ecc_errors(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetTotalEccErrors) f = NVF(nvmlDeviceGetTotalEccErrors);
  NEED(r, f, "nvmlDeviceGetTotalEccErrors");
  unsigned long long v = 0;
  set_rc(r, f(d, (nvmlMemoryErrorType_t)num(a[1]), (nvmlEccCounterType_t)num(a[2]), &v));
  if (!r->rc) value_num(r, (long long)v);
}

static void c_remapped(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetRemappedRows) f = NVF(nvmlDeviceGetRemappedRows);
  NEED(r, f, "nvmlDeviceGetRemappedRows");
  unsigned c = 0, u = 0, p = 0, x = 0;
  set_rc(r, f(d, &c, &u, &p, &x));
  if (!r->rc) value_fmt(r, "{\"correctable\":%u,\"uncorrectable\":%u,\"pending\":%u,\"failure\":%u}", c, u, p, x);
}

static void c_mig_mode(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetMigMode) f = NVF(nvmlDeviceGetMigMode);
  NEED(r, f, "nvmlDeviceGetMigMode");
  unsigned c = 0, p = 0;
  set_rc(r, f(d, &c, &p));
  if (!r->rc) value_fmt(r, "{\"current\":%u,\"pending\":%u}", c, p);
}

static void uuid_of(nvmlDevice_t d, result_t *r) {
  __typeof__(&nvmlDeviceGetUUID) u = NVF(nvmlDeviceGetUUID);
  char buf[96] = "";
  if (u && u(d, buf, sizeof buf) == NVML_SUCCESS) value_str(r, buf);
}

static void c_mig_handle(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetMigDeviceHandleByIndex) f = NVF(nvmlDeviceGetMigDeviceHandleByIndex);
  NEED(r, f, "nvmlDeviceGetMigDeviceHandleByIndex");
  nvmlDevice_t m;
  set_rc(r, f(d, (unsigned)num(a[1]), &m));
  if (!r->rc) uuid_of(m, r);
}

static void c_parent(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetDeviceHandleFromMigDeviceHandle) f = NVF(nvmlDeviceGetDeviceHandleFromMigDeviceHandle);
  NEED(r, f, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle");
  nvmlDevice_t p;
  set_rc(r, f(d, &p));
  if (!r->rc) uuid_of(p, r);
}

static void procs_common(char **a, result_t *r, int version) {
  DEVICE(r, a[0], d);
  unsigned cap = a[1] ? (unsigned)num(a[1]) : 64;
  unsigned count = cap;
  nvmlProcessInfo_t infos[64];
  nvmlProcessInfo_v1_t infos1[64];
  const char *used;
  nvmlReturn_t rc;
  if (cap > 64) cap = count = 64;
  if (version == 1) {
    __typeof__(&nvmlDeviceGetComputeRunningProcesses) f = NVF(nvmlDeviceGetComputeRunningProcesses);
    NEED(r, f, "nvmlDeviceGetComputeRunningProcesses");
    used = "nvmlDeviceGetComputeRunningProcesses";
    rc = f(d, &count, cap ? infos1 : NULL);
  } else {
    __typeof__(&nvmlDeviceGetComputeRunningProcesses_v3) f =
        version == 3 ? NVF(nvmlDeviceGetComputeRunningProcesses_v3) : NULL;
    used = "nvmlDeviceGetComputeRunningProcesses_v3";
    if (!f) {
      f = (__typeof__(f))NVF(nvmlDeviceGetComputeRunningProcesses_v2);
      used = "nvmlDeviceGetComputeRunningProcesses_v2";
    }
    NEED(r, f, "nvmlDeviceGetComputeRunningProcesses_v2");
    rc = f(d, &count, cap ? infos : NULL);
  }
  set_rc(r, rc);
  add(r, "\"symbol\":\"%s\",\"count\":%u", used, count);
  if (rc) return;
  char buf[8192];
  size_t o = 0;
  o += (size_t)snprintf(buf + o, sizeof buf - o, "[");
  for (unsigned i = 0; i < count && o < sizeof buf - 200; i++) {
    if (version == 1)
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%s{\"pid\":%u,\"used\":%llu}", i ? "," : "", infos1[i].pid,
                            infos1[i].usedGpuMemory);
    else
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%s{\"pid\":%u,\"used\":%llu,\"gi\":%u,\"ci\":%u}", i ? "," : "",
                            infos[i].pid, infos[i].usedGpuMemory, infos[i].gpuInstanceId, infos[i].computeInstanceId);
  }
  snprintf(buf + o, sizeof buf - o, "]");
  value_raw(r, buf);
}

static void c_procs(char **a, result_t *r) { procs_common(a, r, 3); }
static void c_procs_v2(char **a, result_t *r) { procs_common(a, r, 2); }
static void c_procs_v1(char **a, result_t *r) { procs_common(a, r, 1); }

static void c_event_types(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceGetSupportedEventTypes) f = NVF(nvmlDeviceGetSupportedEventTypes);
  NEED(r, f, "nvmlDeviceGetSupportedEventTypes");
  unsigned long long v = 0;
  set_rc(r, f(d, &v));
  if (!r->rc) value_num(r, (long long)v);
}

static nvmlEventSet_t event_set;

static void c_event_create(char **a, result_t *r) {
  (void)a;
  __typeof__(&nvmlEventSetCreate) f = NVF(nvmlEventSetCreate);
  NEED(r, f, "nvmlEventSetCreate");
  set_rc(r, f(&event_set));
}

static void c_register(char **a, result_t *r) {
  DEVICE(r, a[0], d);
  __typeof__(&nvmlDeviceRegisterEvents) f = NVF(nvmlDeviceRegisterEvents);
  NEED(r, f, "nvmlDeviceRegisterEvents");
  set_rc(r, f(d, (unsigned long long)strtoull(a[1], NULL, 0), event_set));
}

static void c_wait_event(char **a, result_t *r) {
  __typeof__(&nvmlEventSetWait_v2) f = NVF(nvmlEventSetWait_v2);
  NEED(r, f, "nvmlEventSetWait_v2");
  nvmlEventData_t e;
  memset(&e, 0, sizeof e);
  set_rc(r, f(event_set, &e, (unsigned)num(a[0])));
  if (r->rc) return;
  char uuid[96] = "";
  __typeof__(&nvmlDeviceGetUUID) u = NVF(nvmlDeviceGetUUID);
  if (u) u(e.device, uuid, sizeof uuid);
  value_fmt(r, "{\"type\":%llu,\"data\":%llu,\"gi\":%u,\"ci\":%u,\"uuid\":\"%s\"}", e.eventType, e.eventData,
            e.gpuInstanceId, e.computeInstanceId, uuid);
}

static void c_event_free(char **a, result_t *r) {
  (void)a;
  __typeof__(&nvmlEventSetFree) f = NVF(nvmlEventSetFree);
  NEED(r, f, "nvmlEventSetFree");
  set_rc(r, f(event_set));
}

/* ------------------------------------------------------------------ */
/* CUDA                                                                 */

static void c_cu_init(char **a, result_t *r) {
  __typeof__(&cuInit) f = CUF(cuInit);
  NEED(r, f, "cuInit");
  set_rc(r, f(a[0] ? (unsigned)num(a[0]) : 0));
}

static void c_cu_version(char **a, result_t *r) {
  (void)a;
  __typeof__(&cuDriverGetVersion) f = CUF(cuDriverGetVersion);
  NEED(r, f, "cuDriverGetVersion");
  int v = 0;
  set_rc(r, f(&v));
  if (!r->rc) value_num(r, v);
}

static void c_cu_count(char **a, result_t *r) {
  (void)a;
  __typeof__(&cuDeviceGetCount) f = CUF(cuDeviceGetCount);
  NEED(r, f, "cuDeviceGetCount");
  int v = 0;
  set_rc(r, f(&v));
  if (!r->rc) value_num(r, v);
}

static void c_cu_get(char **a, result_t *r) {
  __typeof__(&cuDeviceGet) f = CUF(cuDeviceGet);
  NEED(r, f, "cuDeviceGet");
  CUdevice d = -1;
  set_rc(r, f(&d, (int)num(a[0])));
  if (!r->rc) value_num(r, d);
}

static void c_cu_name(char **a, result_t *r) {
  __typeof__(&cuDeviceGetName) f = CUF(cuDeviceGetName);
  NEED(r, f, "cuDeviceGetName");
  char buf[256] = "";
  set_rc(r, f(buf, a[1] ? (int)num(a[1]) : (int)sizeof buf, (CUdevice)num(a[0])));
  if (!r->rc) value_str(r, buf);
}

static void hex16(const CUuuid *u, char *out) {
  for (int i = 0; i < 16; i++) sprintf(out + 2 * i, "%02x", (unsigned char)u->bytes[i]);
}

static void uuid_common(char **a, result_t *r, int v2) {
  __typeof__(&cuDeviceGetUuid) f = v2 ? CUF(cuDeviceGetUuid_v2) : CUF(cuDeviceGetUuid);
  NEED(r, f, v2 ? "cuDeviceGetUuid_v2" : "cuDeviceGetUuid");
  CUuuid u;
  memset(&u, 0, sizeof u);
  set_rc(r, f(&u, (CUdevice)num(a[0])));
  char hex[33];
  hex16(&u, hex);
  if (!r->rc) value_str(r, hex);
}

static void c_cu_uuid(char **a, result_t *r) { uuid_common(a, r, 0); }
static void c_cu_uuid_v2(char **a, result_t *r) { uuid_common(a, r, 1); }

static void c_cu_pci(char **a, result_t *r) {
  __typeof__(&cuDeviceGetPCIBusId) f = CUF(cuDeviceGetPCIBusId);
  NEED(r, f, "cuDeviceGetPCIBusId");
  char buf[64] = "";
  set_rc(r, f(buf, sizeof buf, (CUdevice)num(a[0])));
  if (!r->rc) value_str(r, buf);
}

static void c_cu_mem(char **a, result_t *r) {
  __typeof__(&cuDeviceTotalMem_v2) f = CUF(cuDeviceTotalMem_v2);
  NEED(r, f, "cuDeviceTotalMem_v2");
  size_t v = 0;
  set_rc(r, f(&v, (CUdevice)num(a[0])));
  if (!r->rc) value_num(r, (long long)v);
}

static void c_cu_attr(char **a, result_t *r) {
  __typeof__(&cuDeviceGetAttribute) f = CUF(cuDeviceGetAttribute);
  NEED(r, f, "cuDeviceGetAttribute");
  int v = 0;
  set_rc(r, f(&v, (CUdevice_attribute)num(a[1]), (CUdevice)num(a[0])));
  if (!r->rc) value_num(r, v);
}

static void c_cu_devices(char **a, result_t *r) {
  (void)a;
  __typeof__(&cuDeviceGetCount) count = CUF(cuDeviceGetCount);
  __typeof__(&cuDeviceGetName) name = CUF(cuDeviceGetName);
  __typeof__(&cuDeviceGetUuid) uuid1 = CUF(cuDeviceGetUuid);
  __typeof__(&cuDeviceGetUuid_v2) uuid2 = CUF(cuDeviceGetUuid_v2);
  __typeof__(&cuDeviceGetPCIBusId) pci = CUF(cuDeviceGetPCIBusId);
  __typeof__(&cuDeviceGetAttribute) attr = CUF(cuDeviceGetAttribute);
  NEED(r, count && name && uuid1 && pci && attr, "cuDevice*");
  int n = 0;
  set_rc(r, count(&n));
  if (r->rc) return;
  char buf[8000];
  size_t o = (size_t)snprintf(buf, sizeof buf, "[");
  for (int i = 0; i < n && o < sizeof buf - 400; i++) {
    char nm[128] = "", bus[32] = "", h1[33], h2[33] = "";
    CUuuid u1, u2;
    int maj = 0, min = 0, sms = 0;
    memset(&u1, 0, sizeof u1);
    memset(&u2, 0, sizeof u2);
    name(nm, sizeof nm, i);
    uuid1(&u1, i);
    hex16(&u1, h1);
    if (uuid2) {
      uuid2(&u2, i);
      hex16(&u2, h2);
    }
    pci(bus, sizeof bus, i);
    attr(&maj, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, i);
    attr(&min, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, i);
    attr(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, i);
    o += (size_t)snprintf(buf + o, sizeof buf - o,
                          "%s{\"ordinal\":%d,\"name\":\"%s\",\"uuid\":\"%s\",\"uuidV2\":\"%s\",\"pci\":\"%s\","
                          "\"cc\":\"%d.%d\",\"sms\":%d}",
                          i ? "," : "", i, nm, h1, h2, bus, maj, min, sms);
  }
  snprintf(buf + o, sizeof buf - o, "]");
  value_raw(r, buf);
}

static int cu_ctx_for(int dev, result_t *r) {
  __typeof__(&cuDevicePrimaryCtxRetain) retain = CUF(cuDevicePrimaryCtxRetain);
  __typeof__(&cuCtxSetCurrent) set = CUF(cuCtxSetCurrent);
  if (!retain || !set) return missing(r, "cuDevicePrimaryCtxRetain/cuCtxSetCurrent");
  CUcontext ctx = NULL;
  CUresult rc = retain(&ctx, dev);
  if (!rc) rc = set(ctx);
  if (rc) {
    set_rc(r, rc);
    add(r, "\"stage\":\"context\"");
    return -1;
  }
  return 0;
}

/* cu_smoke O [BYTES]: context, alloc, memset, copy back, pattern round trip, free, release */
static void c_cu_smoke(char **a, result_t *r) {
  int dev = (int)num(a[0]);
  size_t n = a[1] ? (size_t)strtoull(a[1], NULL, 0) : (1u << 20);
  __typeof__(&cuMemAlloc_v2) alloc = CUF(cuMemAlloc_v2);
  __typeof__(&cuMemsetD8_v2) memset_d8 = CUF(cuMemsetD8_v2);
  __typeof__(&cuMemcpyDtoH_v2) dtoh = CUF(cuMemcpyDtoH_v2);
  __typeof__(&cuMemcpyHtoD_v2) htod = CUF(cuMemcpyHtoD_v2);
  __typeof__(&cuMemFree_v2) mfree = CUF(cuMemFree_v2);
  __typeof__(&cuCtxSynchronize) sync = CUF(cuCtxSynchronize);
  __typeof__(&cuDevicePrimaryCtxRelease_v2) release = CUF(cuDevicePrimaryCtxRelease_v2);
  NEED(r, alloc && memset_d8 && dtoh && htod && mfree && sync && release, "cuMem*");
  if (cu_ctx_for(dev, r)) return;
  unsigned char *host = malloc(n), *back = malloc(n);
  CUdeviceptr p = 0;
  const char *stage = "alloc";
  long mismatches = 0, first_bad = -1;
  CUresult rc = alloc(&p, n);
  if (!rc) stage = "memset", rc = memset_d8(p, 0x5A, n);
  if (!rc) stage = "synchronize", rc = sync();
  if (!rc) stage = "copy_back", rc = dtoh(back, p, n);
  for (size_t i = 0; !rc && i < n; i++)
    if (back[i] != 0x5A) mismatches++, first_bad = first_bad < 0 ? (long)i : first_bad;
  for (size_t i = 0; i < n; i++) host[i] = (unsigned char)(i * 131u + 7u);
  if (!rc) stage = "copy_to", rc = htod(p, host, n);
  if (!rc) stage = "copy_back2", rc = dtoh(back, p, n);
  for (size_t i = 0; !rc && i < n; i++)
    if (back[i] != host[i]) mismatches++, first_bad = first_bad < 0 ? (long)i : first_bad;
  if (!rc) stage = "free", rc = mfree(p);
  if (!rc) stage = "release", rc = release(dev);
  if (!rc) stage = "done";
  set_rc(r, rc);
  add(r, "\"stage\":\"%s\"", stage);
  value_fmt(r, "{\"bytes\":%zu,\"mismatches\":%ld,\"firstBad\":%ld}", n, mismatches, first_bad);
  free(host);
  free(back);
}

static void c_cu_alloc(char **a, result_t *r) {
  __typeof__(&cuMemAlloc_v2) alloc = CUF(cuMemAlloc_v2);
  NEED(r, alloc, "cuMemAlloc_v2");
  if (cu_ctx_for((int)num(a[0]), r)) return;
  CUdeviceptr p = 0;
  set_rc(r, alloc(&p, (size_t)strtoull(a[1], NULL, 0)));
  if (!r->rc) value_fmt(r, "\"0x%llx\"", p);
}

static void c_cu_alloc_raw(char **a, result_t *r) {
  __typeof__(&cuMemAlloc_v2) alloc = CUF(cuMemAlloc_v2);
  NEED(r, alloc, "cuMemAlloc_v2");
  CUdeviceptr p = 0;
  set_rc(r, alloc(&p, (size_t)strtoull(a[0], NULL, 0)));
  if (!r->rc) value_fmt(r, "\"0x%llx\"", p);
}

static void c_cu_ctx(char **a, result_t *r) {
  (void)a;
  __typeof__(&cuCtxGetCurrent) f = CUF(cuCtxGetCurrent);
  NEED(r, f, "cuCtxGetCurrent");
  CUcontext c = NULL;
  set_rc(r, f(&c));
  if (!r->rc) value_raw(r, c ? "\"set\"" : "null");
}

static void cu_error_common(char **a, result_t *r, int name) {
  __typeof__(&cuGetErrorName) f = name ? CUF(cuGetErrorName) : CUF(cuGetErrorString);
  NEED(r, f, name ? "cuGetErrorName" : "cuGetErrorString");
  const char *s = NULL;
  set_rc(r, f((CUresult)num(a[0]), &s));
  value_str(r, s);
}

static void c_cu_error_name(char **a, result_t *r) { cu_error_common(a, r, 1); }
static void c_cu_error_string(char **a, result_t *r) { cu_error_common(a, r, 0); }

/* ------------------------------------------------------------------ */
/* command table and meta commands                                      */

typedef struct {
  const char *name;
  int min_args, max_args;
  void (*run)(char **args, result_t *r);
  const char *help;
} command_t;

static const command_t commands[] = {
    {"init", 0, 0, c_init, "nvmlInit_v2"},
    {"init_flags", 1, 1, c_init_flags, "nvmlInitWithFlags FLAGS"},
    {"shutdown", 0, 0, c_shutdown, "nvmlShutdown"},
    {"count", 0, 0, c_count, "nvmlDeviceGetCount_v2 (falls back to v1)"},
    {"count_v1", 0, 0, c_count_v1, "nvmlDeviceGetCount"},
    {"driver_version", 0, 1, c_driver_version, "nvmlSystemGetDriverVersion [LEN]"},
    {"nvml_version", 0, 1, c_nvml_version, "nvmlSystemGetNVMLVersion [LEN]"},
    {"cuda_version", 0, 0, c_cuda_version, "nvmlSystemGetCudaDriverVersion_v2 (falls back to v1)"},
    {"cuda_version_v1", 0, 0, c_cuda_version_v1, "nvmlSystemGetCudaDriverVersion"},
    {"error_string", 1, 1, c_error_string, "nvmlErrorString CODE"},
    {"describe", 0, 0, c_describe, "gpuSimDescribe (NVML library)"},
    {"sym", 2, 2, c_sym, "sym nvml|cuda NAME: whether dlsym finds it"},
    {"handle", 1, 1, c_handle, "handle of D (pointer)"},
    {"name", 1, 1, c_name, "nvmlDeviceGetName D"},
    {"name_len", 2, 2, c_name_len, "nvmlDeviceGetName D LEN"},
    {"uuid", 1, 1, c_uuid, "nvmlDeviceGetUUID D"},
    {"uuid_len", 2, 2, c_uuid_len, "nvmlDeviceGetUUID D LEN"},
    {"serial", 1, 1, c_serial, "nvmlDeviceGetSerial D"},
    {"pci", 1, 1, c_pci, "nvmlDeviceGetPciInfo_v3 D"},
    {"index", 1, 1, c_index, "nvmlDeviceGetIndex D"},
    {"minor", 1, 1, c_minor, "nvmlDeviceGetMinorNumber D"},
    {"cc", 1, 1, c_cc, "nvmlDeviceGetCudaComputeCapability D"},
    {"arch", 1, 1, c_arch, "nvmlDeviceGetArchitecture D"},
    {"memory", 1, 1, c_memory, "nvmlDeviceGetMemoryInfo D"},
    {"memory_v2", 1, 2, c_memory_v2, "nvmlDeviceGetMemoryInfo_v2 D [VERSION]"},
    {"temp", 1, 1, c_temp, "nvmlDeviceGetTemperature D"},
    {"threshold", 2, 2, c_threshold, "nvmlDeviceGetTemperatureThreshold D TYPE"},
    {"power", 1, 1, c_power, "nvmlDeviceGetPowerUsage D"},
    {"power_limit", 1, 1, c_power_limit, "nvmlDeviceGetEnforcedPowerLimit D"},
    {"energy", 1, 1, c_energy, "nvmlDeviceGetTotalEnergyConsumption D"},
    {"util", 1, 1, c_util, "nvmlDeviceGetUtilizationRates D"},
    {"pstate", 1, 1, c_pstate, "nvmlDeviceGetPerformanceState D"},
    {"clock_reasons", 1, 1, c_clock_reasons, "nvmlDeviceGetCurrentClocksEventReasons D (falls back)"},
    {"throttle_reasons", 1, 1, c_throttle_reasons, "nvmlDeviceGetCurrentClocksThrottleReasons D"},
    {"clock", 2, 2, c_clock, "nvmlDeviceGetClockInfo D TYPE"},
    {"fan", 1, 1, c_fan, "nvmlDeviceGetFanSpeed D"},
    {"num_fans", 1, 1, c_num_fans, "nvmlDeviceGetNumFans D"},
    {"ecc_mode", 1, 1, c_ecc_mode, "nvmlDeviceGetEccMode D"},
    {"ecc_errors", 3, 3, c_ecc_errors, "nvmlDeviceGetTotalEccErrors D TYPE COUNTER"},
    {"remapped", 1, 1, c_remapped, "nvmlDeviceGetRemappedRows D"},
    {"mig_mode", 1, 1, c_mig_mode, "nvmlDeviceGetMigMode D"},
    {"max_mig", 1, 1, c_max_mig, "nvmlDeviceGetMaxMigDeviceCount D"},
    {"mig_handle", 2, 2, c_mig_handle, "nvmlDeviceGetMigDeviceHandleByIndex D I (value: its UUID)"},
    {"is_mig", 1, 1, c_is_mig, "nvmlDeviceIsMigDeviceHandle D"},
    {"gi", 1, 1, c_gi, "nvmlDeviceGetGpuInstanceId D"},
    {"ci", 1, 1, c_ci, "nvmlDeviceGetComputeInstanceId D"},
    {"parent", 1, 1, c_parent, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle D (value: parent UUID)"},
    {"procs", 1, 2, c_procs, "nvmlDeviceGetComputeRunningProcesses_v3 D [CAPACITY] (falls back to v2)"},
    {"procs_v2", 1, 2, c_procs_v2, "nvmlDeviceGetComputeRunningProcesses_v2 D [CAPACITY]"},
    {"procs_v1", 1, 2, c_procs_v1, "nvmlDeviceGetComputeRunningProcesses D [CAPACITY]"},
    {"event_types", 1, 1, c_event_types, "nvmlDeviceGetSupportedEventTypes D"},
    {"event_create", 0, 0, c_event_create, "nvmlEventSetCreate"},
    {"register", 2, 2, c_register, "nvmlDeviceRegisterEvents D MASK"},
    {"wait_event", 1, 1, c_wait_event, "nvmlEventSetWait_v2 TIMEOUT_MS"},
    {"event_free", 0, 0, c_event_free, "nvmlEventSetFree"},
    {"cu_init", 0, 1, c_cu_init, "cuInit [FLAGS]"},
    {"cu_version", 0, 0, c_cu_version, "cuDriverGetVersion"},
    {"cu_count", 0, 0, c_cu_count, "cuDeviceGetCount"},
    {"cu_get", 1, 1, c_cu_get, "cuDeviceGet ORDINAL"},
    {"cu_name", 1, 2, c_cu_name, "cuDeviceGetName O [LEN]"},
    {"cu_uuid", 1, 1, c_cu_uuid, "cuDeviceGetUuid O (hex)"},
    {"cu_uuid_v2", 1, 1, c_cu_uuid_v2, "cuDeviceGetUuid_v2 O (hex)"},
    {"cu_pci", 1, 1, c_cu_pci, "cuDeviceGetPCIBusId O"},
    {"cu_mem", 1, 1, c_cu_mem, "cuDeviceTotalMem_v2 O"},
    {"cu_attr", 2, 2, c_cu_attr, "cuDeviceGetAttribute O ATTR"},
    {"cu_devices", 0, 0, c_cu_devices, "every CUDA device: name, uuids, pci, cc, sms"},
    {"cu_smoke", 1, 2, c_cu_smoke, "context + alloc + memset + copies + free + release on O [BYTES]"},
    {"cu_alloc", 2, 2, c_cu_alloc, "retain+set context on O, then cuMemAlloc_v2 BYTES"},
    {"cu_alloc_raw", 1, 1, c_cu_alloc_raw, "cuMemAlloc_v2 BYTES in whatever context is current"},
    {"cu_ctx", 0, 0, c_cu_ctx, "cuCtxGetCurrent"},
    {"cu_error_name", 1, 1, c_cu_error_name, "cuGetErrorName CODE"},
    {"cu_error_string", 1, 1, c_cu_error_string, "cuGetErrorString CODE"},
    {"cu_describe", 0, 0, c_cu_describe, "gpuSimDescribe (CUDA library)"},
};

static const command_t *find_command(const char *name) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static const char *const meta_words[] = {"bg", "join", "until", "repeat", "sync", "sleep"};

static int is_command_word(const char *s) {
  if (find_command(s)) return 1;
  for (size_t i = 0; i < sizeof meta_words / sizeof meta_words[0]; i++)
    if (strcmp(meta_words[i], s) == 0) return 1;
  return 0;
}

/* Number of args a command takes at argv[0..): stops at max or the next command word. */
static int arg_count(const command_t *c, char **argv, int argc) {
  int n = 0;
  while (n < c->max_args && n < argc && (n < c->min_args || !is_command_word(argv[n]))) n++;
  return n;
}

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void emit(const char *cmd, char **args, int nargs, const result_t *r, double ms, const char *thread,
                 const char *extra) {
  char line[32768];
  size_t o = 0;
  o += (size_t)snprintf(line + o, sizeof line - o, "{\"cmd\":\"%s\",\"args\":[", cmd);
  for (int i = 0; i < nargs; i++) {
    char a[1024];
    json_str(a, sizeof a, args[i]);
    o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", i ? "," : "", a);
  }
  if (r->has_rc)
    o += (size_t)snprintf(line + o, sizeof line - o, "],\"rc\":%ld", r->rc);
  else
    o += (size_t)snprintf(line + o, sizeof line - o, "],\"rc\":null");
  o += (size_t)snprintf(line + o, sizeof line - o, ",\"ms\":%.3f%s", ms, r->fields);
  if (thread) o += (size_t)snprintf(line + o, sizeof line - o, ",\"thread\":\"%s\"", thread);
  if (extra) o += (size_t)snprintf(line + o, sizeof line - o, ",%s", extra);
  snprintf(line + o, sizeof line - o, "}\n");
  pthread_mutex_lock(&out_lock);
  fputs(line, stdout);
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
}

static double run_one(const command_t *c, char **args, int nargs, result_t *r) {
  char *padded[8] = {0};
  for (int i = 0; i < nargs && i < 7; i++) padded[i] = args[i];
  memset(r, 0, sizeof *r);
  double t0 = now_ms();
  c->run(padded, r);
  return now_ms() - t0;
}

typedef struct {
  const command_t *c;
  char **args;
  int nargs;
  long times; /* 0: a single run; else `repeat times` */
} bg_job_t;

static void emit_repeat(const command_t *c, char **args, int nargs, long times, result_t *r, const char *thread) {
  char rcs[16384];
  size_t o = (size_t)snprintf(rcs, sizeof rcs, "\"repeat\":%ld,\"rcs\":[", times);
  double total = 0;
  for (long k = 0; k < times && o < sizeof rcs - 16; k++) {
    total += run_one(c, args, nargs, r);
    o += (size_t)snprintf(rcs + o, sizeof rcs - o, "%s%ld", k ? "," : "", r->has_rc ? r->rc : -1L);
  }
  snprintf(rcs + o, sizeof rcs - o, "]");
  emit(c->name, args, nargs, r, total, thread, rcs);
}

static void *bg_main(void *p) {
  bg_job_t *job = p;
  result_t *r = malloc(sizeof *r);
  if (job->times > 0) {
    emit_repeat(job->c, job->args, job->nargs, job->times, r, "bg");
  } else {
    double ms = run_one(job->c, job->args, job->nargs, r);
    emit(job->c->name, job->args, job->nargs, r, ms, "bg", NULL);
  }
  free(r);
  free(job);
  return NULL;
}

static pthread_t bg_threads[64];
static int bg_count;

static void usage(void) {
  fprintf(stderr, "usage: sim-driver [--nvml PATH] [--cuda PATH] COMMAND [ARGS]...\n"
                  "meta: bg CMD..., join, until rc=N|value=JSON MS CMD..., repeat N CMD..., sync, sleep MS\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(stderr, "  %-16s %s\n", commands[i].name, commands[i].help);
}

static int matches(const result_t *r, const char *want) {
  if (strncmp(want, "rc=", 3) == 0) return r->has_rc && r->rc == strtol(want + 3, NULL, 0);
  if (strncmp(want, "value=", 6) == 0) return strcmp(r->value, want + 6) == 0;
  return 0;
}

int main(int argc, char **argv) {
  nvml_path = getenv("NVML_LIBRARY_PATH");
  cuda_path = getenv("CUDA_LIBRARY_PATH");
  int i = 1;
  while (i + 1 < argc && strncmp(argv[i], "--", 2) == 0) {
    if (strcmp(argv[i], "--nvml") == 0)
      nvml_path = argv[i + 1];
    else if (strcmp(argv[i], "--cuda") == 0)
      cuda_path = argv[i + 1];
    else
      break;
    i += 2;
  }
  if (i >= argc) {
    usage();
    return 2;
  }
  static result_t r;
  while (i < argc) {
    const char *word = argv[i];
    if (strcmp(word, "join") == 0) {
      for (int b = 0; b < bg_count; b++) pthread_join(bg_threads[b], NULL);
      bg_count = 0;
      i++;
      continue;
    }
    if (strcmp(word, "sleep") == 0 && i + 1 < argc) {
      long ms = num(argv[i + 1]);
      struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
      i += 2;
      continue;
    }
    if (strcmp(word, "sync") == 0) {
      pthread_mutex_lock(&out_lock);
      fputs("{\"cmd\":\"sync\"}\n", stdout);
      fflush(stdout);
      pthread_mutex_unlock(&out_lock);
      char buf[256];
      if (!fgets(buf, sizeof buf, stdin)) return 3;
      i++;
      continue;
    }
    int bg = 0, repeat = 0;
    const char *until = NULL;
    long until_ms = 0, times = 1;
    if (strcmp(word, "bg") == 0) {
      bg = 1;
      i++;
      if (i + 1 < argc && strcmp(argv[i], "repeat") == 0) {
        times = num(argv[i + 1]);
        i += 2;
      } else {
        times = 0;
      }
    } else if (strcmp(word, "until") == 0 && i + 2 < argc) {
      until = argv[i + 1];
      until_ms = num(argv[i + 2]);
      i += 3;
    } else if (strcmp(word, "repeat") == 0 && i + 1 < argc) {
      repeat = 1;
      times = num(argv[i + 1]);
      i += 2;
    }
    if (i >= argc) break;
    const command_t *c = find_command(argv[i]);
    if (!c) {
      fprintf(stderr, "sim-driver: unknown command '%s'\n", argv[i]);
      usage();
      return 2;
    }
    i++;
    int nargs = arg_count(c, argv + i, argc - i);
    if (nargs < c->min_args) {
      fprintf(stderr, "sim-driver: %s needs %d argument(s)\n", c->name, c->min_args);
      return 2;
    }
    char **args = argv + i;
    i += nargs;
    if (bg) {
      bg_job_t *job = malloc(sizeof *job);
      *job = (bg_job_t){c, args, nargs, times};
      if (bg_count < 64) pthread_create(&bg_threads[bg_count++], NULL, bg_main, job);
      continue;
    }
    if (until) {
      double start = now_ms(), ms = 0;
      long attempts = 0;
      int ok = 0;
      do {
        ms = run_one(c, args, nargs, &r);
        attempts++;
        if ((ok = matches(&r, until))) break;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
      } while (now_ms() - start < (double)until_ms);
      char want[2048], extra[2400];
      json_str(want, sizeof want, until);
      snprintf(extra, sizeof extra, "\"until\":{\"want\":%s,\"matched\":%s,\"attempts\":%ld,\"waitedMs\":%.1f}", want,
               ok ? "true" : "false", attempts, now_ms() - start);
      emit(c->name, args, nargs, &r, ms, NULL, extra);
      continue;
    }
    if (repeat) {
      emit_repeat(c, args, nargs, times, &r, NULL);
      continue;
    }
    double ms = run_one(c, args, nargs, &r);
    emit(c->name, args, nargs, &r, ms, NULL, NULL);
  }
  for (int b = 0; b < bg_count; b++) pthread_join(bg_threads[b], NULL);
  return 0;
}
