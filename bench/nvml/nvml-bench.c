/*
 * NVML timings from C, the baseline the koffi binding is compared with.
 *
 *   nvml-bench [--lib PATH] [--ms N] [--max N] COMMAND [ARGS]... [COMMAND [ARGS]...]
 *
 * `--ms N` may also come between commands: it applies to the commands after it.
 *
 * Loads NVML with dlopen (PATH, else $NVML_LIBRARY_PATH, else the loader's libnvidia-ml.so.1),
 * calls nvmlInit_v2 and runs the commands in order, printing one JSON line each:
 *
 *   info                 driver and NVML versions, device count, each GPU's index, UUID and name
 *   timer                cost of one clock_gettime(CLOCK_MONOTONIC) pair (the timing overhead)
 *   call FN...           each named NVML function, called on GPU 0 with the arguments
 *                        NvmlLibrary.sampleDevice uses, repeated for N ms
 *   snapshot G           the calls of NvmlLibrary.sampleDevice on GPUs 0..G-1, one after another
 *   cycle G              the per-request design: nvmlInit_v2, nvmlDeviceGetCount_v2, for each of
 *                        the first G GPUs nvmlDeviceGetHandleByIndex_v2 and the snapshot calls,
 *                        then nvmlShutdown (NVML's reference count goes back to 0 first)
 *
 * Each measurement runs a warm-up, then repeats for --ms milliseconds (default 300) or --max
 * repetitions (default 200000), and reports nanoseconds: n, mean, min, p50, p90, p99, max.
 * Percentiles are nearest-rank, as in bench/lib/stats.ts.
 */
#define _GNU_SOURCE
#define NVML_NO_UNVERSIONED_FUNC_DEFS
#include <dlfcn.h>
#include <nvml.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRING_BUFFER_BYTES 96
#define PROCESS_CAPACITY 64
#define MAX_GPUS 64
#define MEMORY_V2_VERSION ((unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))

typedef nvmlReturn_t (*fn_void)(void);
typedef nvmlReturn_t (*fn_u32p)(unsigned int *);
typedef nvmlReturn_t (*fn_str)(char *, unsigned int);
typedef nvmlReturn_t (*fn_index_handle)(unsigned int, nvmlDevice_t *);
typedef nvmlReturn_t (*fn_uuid_handle)(const char *, nvmlDevice_t *);
typedef nvmlReturn_t (*fn_h_str)(nvmlDevice_t, char *, unsigned int);
typedef nvmlReturn_t (*fn_h_ptr)(nvmlDevice_t, void *);
typedef nvmlReturn_t (*fn_h_int_u32p)(nvmlDevice_t, int, unsigned int *);
typedef nvmlReturn_t (*fn_h_u32p_u32p)(nvmlDevice_t, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*fn_h_ecc)(nvmlDevice_t, int, int, unsigned long long *);
typedef nvmlReturn_t (*fn_h_rows)(nvmlDevice_t, unsigned int *, unsigned int *, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*fn_h_idx_h)(nvmlDevice_t, unsigned int, nvmlDevice_t *);
typedef nvmlReturn_t (*fn_h_procs)(nvmlDevice_t, unsigned int *, void *);
typedef const char *(*fn_error_string)(nvmlReturn_t);

/* Process entry as nvmlDeviceGetComputeRunningProcesses_v3/_v2 fill it (the binding's stride). */
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} process_info_t;

static struct {
  fn_void init, shutdown;
  fn_error_string errorString;
  fn_str driverVersion, nvmlVersion;
  fn_u32p count;
  fn_index_handle handleByIndex;
  fn_uuid_handle handleByUuid;
  fn_h_str uuid, name;
  fn_h_ptr memoryV2, memoryV1, powerUsage, powerLimit, energy, utilization, pstate, clockEvents, fan, maxMigCount;
  fn_h_int_u32p temperature, temperatureThreshold, clock;
  fn_h_u32p_u32p migMode, eccMode;
  fn_h_ecc eccCount;
  fn_h_rows remappedRows;
  fn_h_idx_h migHandle;
  fn_h_procs processes;
  int processesStride;
} nv;

static nvmlDevice_t handles[MAX_GPUS];
static unsigned int gpuCount;
static char uuids[MAX_GPUS][STRING_BUFFER_BYTES];
static long runMs = 300;
static long maxReps = 200000;
static uint64_t *samples;
static volatile size_t sink; /* keeps results observable so no call is optimised away */

static void die(const char *what, const char *detail) {
  printf("{\"error\":\"%s: %s\"}\n", what, detail ? detail : "");
  fflush(stdout);
  exit(2);
}

static void *sym(void *lib, const char *a, const char *b) {
  void *f = dlsym(lib, a);
  if (!f && b) f = dlsym(lib, b);
  return f;
}

static const char *boundName(void *lib, const char *a, const char *b) {
  return dlsym(lib, a) ? a : (b && dlsym(lib, b) ? b : NULL);
}

static const char *clockEventsName;
static const char *processesName;
static const char *memoryName;

static void load(const char *path) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) die("dlopen", dlerror());
  nv.init = (fn_void)sym(lib, "nvmlInit_v2", NULL);
  nv.shutdown = (fn_void)sym(lib, "nvmlShutdown", NULL);
  nv.errorString = (fn_error_string)sym(lib, "nvmlErrorString", NULL);
  nv.driverVersion = (fn_str)sym(lib, "nvmlSystemGetDriverVersion", NULL);
  nv.nvmlVersion = (fn_str)sym(lib, "nvmlSystemGetNVMLVersion", NULL);
  nv.count = (fn_u32p)sym(lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
  nv.handleByIndex = (fn_index_handle)sym(lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
  nv.handleByUuid = (fn_uuid_handle)sym(lib, "nvmlDeviceGetHandleByUUID", NULL);
  nv.uuid = (fn_h_str)sym(lib, "nvmlDeviceGetUUID", NULL);
  nv.name = (fn_h_str)sym(lib, "nvmlDeviceGetName", NULL);
  nv.memoryV2 = (fn_h_ptr)sym(lib, "nvmlDeviceGetMemoryInfo_v2", NULL);
  nv.memoryV1 = (fn_h_ptr)sym(lib, "nvmlDeviceGetMemoryInfo", NULL);
  memoryName = nv.memoryV2 ? "nvmlDeviceGetMemoryInfo_v2" : "nvmlDeviceGetMemoryInfo";
  nv.temperature = (fn_h_int_u32p)sym(lib, "nvmlDeviceGetTemperature", NULL);
  nv.temperatureThreshold = (fn_h_int_u32p)sym(lib, "nvmlDeviceGetTemperatureThreshold", NULL);
  nv.powerUsage = (fn_h_ptr)sym(lib, "nvmlDeviceGetPowerUsage", NULL);
  nv.powerLimit = (fn_h_ptr)sym(lib, "nvmlDeviceGetEnforcedPowerLimit", NULL);
  nv.energy = (fn_h_ptr)sym(lib, "nvmlDeviceGetTotalEnergyConsumption", NULL);
  nv.utilization = (fn_h_ptr)sym(lib, "nvmlDeviceGetUtilizationRates", NULL);
  nv.pstate = (fn_h_ptr)sym(lib, "nvmlDeviceGetPerformanceState", NULL);
  nv.clockEvents = (fn_h_ptr)sym(lib, "nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons");
  clockEventsName = boundName(lib, "nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons");
  nv.clock = (fn_h_int_u32p)sym(lib, "nvmlDeviceGetClockInfo", NULL);
  nv.fan = (fn_h_ptr)sym(lib, "nvmlDeviceGetFanSpeed", NULL);
  nv.eccMode = (fn_h_u32p_u32p)sym(lib, "nvmlDeviceGetEccMode", NULL);
  nv.eccCount = (fn_h_ecc)sym(lib, "nvmlDeviceGetTotalEccErrors", NULL);
  nv.remappedRows = (fn_h_rows)sym(lib, "nvmlDeviceGetRemappedRows", NULL);
  nv.migMode = (fn_h_u32p_u32p)sym(lib, "nvmlDeviceGetMigMode", NULL);
  nv.maxMigCount = (fn_h_ptr)sym(lib, "nvmlDeviceGetMaxMigDeviceCount", NULL);
  nv.migHandle = (fn_h_idx_h)sym(lib, "nvmlDeviceGetMigDeviceHandleByIndex", NULL);
  nv.processes = (fn_h_procs)sym(lib, "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2");
  processesName = boundName(lib, "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2");
  nv.processesStride = (int)sizeof(process_info_t);
  if (!nv.processes) {
    nv.processes = (fn_h_procs)sym(lib, "nvmlDeviceGetComputeRunningProcesses", NULL);
    processesName = "nvmlDeviceGetComputeRunningProcesses";
    nv.processesStride = 16; /* nvmlProcessInfo_v1_t: pid, usedGpuMemory */
  }
  if (!nv.init || !nv.shutdown || !nv.count || !nv.handleByIndex) die("dlsym", "not an NVML library");
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The text of a failed call: the binding asks nvmlErrorString for every code it records. */
static void errorText(nvmlReturn_t rc) {
  if (rc != NVML_SUCCESS && rc != NVML_ERROR_FUNCTION_NOT_FOUND && nv.errorString) sink += strlen(nv.errorString(rc));
}

/* ---- single calls, on GPU 0, with the arguments sampleDevice passes ---------------------------- */

static unsigned int u32a, u32b, u32c, u32d;
static unsigned long long u64a;
static nvmlMemory_v2_t memoryV2;
static nvmlUtilization_t utilization;
static unsigned char processBuffer[PROCESS_CAPACITY * sizeof(process_info_t)];
static char text[STRING_BUFFER_BYTES];
static nvmlDevice_t h0;

static nvmlReturn_t memoryCall(nvmlDevice_t h) {
  if (nv.memoryV2) {
    memoryV2.version = MEMORY_V2_VERSION;
    nvmlReturn_t rc = nv.memoryV2(h, &memoryV2);
    if (rc != NVML_ERROR_FUNCTION_NOT_FOUND && rc != NVML_ERROR_ARGUMENT_VERSION_MISMATCH) return rc;
  }
  return nv.memoryV1(h, &memoryV2);
}

static nvmlReturn_t processesCall(nvmlDevice_t h) {
  u32a = (unsigned int)(sizeof processBuffer / (size_t)nv.processesStride);
  return nv.processes(h, &u32a, processBuffer);
}

typedef nvmlReturn_t (*call_fn)(void);

static nvmlReturn_t c_init_shutdown(void) {
  nvmlReturn_t rc = nv.shutdown();
  if (rc == NVML_SUCCESS) rc = nv.init();
  return rc;
}
static nvmlReturn_t c_errorString(void) { sink += strlen(nv.errorString(NVML_ERROR_NOT_SUPPORTED)); return NVML_SUCCESS; }
static nvmlReturn_t c_driverVersion(void) { return nv.driverVersion(text, STRING_BUFFER_BYTES); }
static nvmlReturn_t c_count(void) { return nv.count(&u32a); }
static nvmlReturn_t c_handleByIndex(void) { nvmlDevice_t h; return nv.handleByIndex(0, &h); }
static nvmlReturn_t c_handleByUuid(void) { nvmlDevice_t h; return nv.handleByUuid(uuids[0], &h); }
static nvmlReturn_t c_uuid(void) { return nv.uuid(h0, text, STRING_BUFFER_BYTES); }
static nvmlReturn_t c_memory(void) { return memoryCall(h0); }
static nvmlReturn_t c_temperature(void) { return nv.temperature(h0, NVML_TEMPERATURE_GPU, &u32a); }
static nvmlReturn_t c_temperatureThreshold(void) { return nv.temperatureThreshold(h0, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN, &u32a); }
static nvmlReturn_t c_powerUsage(void) { return nv.powerUsage(h0, &u32a); }
static nvmlReturn_t c_powerLimit(void) { return nv.powerLimit(h0, &u32a); }
static nvmlReturn_t c_energy(void) { return nv.energy(h0, &u64a); }
static nvmlReturn_t c_migMode(void) { return nv.migMode(h0, &u32a, &u32b); }
static nvmlReturn_t c_utilization(void) { return nv.utilization(h0, &utilization); }
static nvmlReturn_t c_pstate(void) { return nv.pstate(h0, &u32a); }
static nvmlReturn_t c_clockEvents(void) { return nv.clockEvents(h0, &u64a); }
static nvmlReturn_t c_clock(void) { return nv.clock(h0, NVML_CLOCK_SM, &u32a); }
static nvmlReturn_t c_fan(void) { return nv.fan(h0, &u32a); }
static nvmlReturn_t c_eccMode(void) { return nv.eccMode(h0, &u32a, &u32b); }
static nvmlReturn_t c_eccCount(void) { return nv.eccCount(h0, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &u64a); }
static nvmlReturn_t c_remappedRows(void) { return nv.remappedRows(h0, &u32a, &u32b, &u32c, &u32d); }
static nvmlReturn_t c_processes(void) { return processesCall(h0); }

static const struct {
  const char *name; /* the generic name; the report shows the symbol actually bound */
  call_fn fn;
} CALLS[] = {
    {"nvmlInit_v2+nvmlShutdown", c_init_shutdown},
    {"nvmlErrorString", c_errorString},
    {"nvmlSystemGetDriverVersion", c_driverVersion},
    {"nvmlDeviceGetCount_v2", c_count},
    {"nvmlDeviceGetHandleByIndex_v2", c_handleByIndex},
    {"nvmlDeviceGetHandleByUUID", c_handleByUuid},
    {"nvmlDeviceGetUUID", c_uuid},
    {"nvmlDeviceGetMemoryInfo_v2", c_memory},
    {"nvmlDeviceGetTemperature", c_temperature},
    {"nvmlDeviceGetTemperatureThreshold", c_temperatureThreshold},
    {"nvmlDeviceGetPowerUsage", c_powerUsage},
    {"nvmlDeviceGetEnforcedPowerLimit", c_powerLimit},
    {"nvmlDeviceGetTotalEnergyConsumption", c_energy},
    {"nvmlDeviceGetMigMode", c_migMode},
    {"nvmlDeviceGetUtilizationRates", c_utilization},
    {"nvmlDeviceGetPerformanceState", c_pstate},
    {"nvmlDeviceGetCurrentClocksEventReasons", c_clockEvents},
    {"nvmlDeviceGetClockInfo", c_clock},
    {"nvmlDeviceGetFanSpeed", c_fan},
    {"nvmlDeviceGetEccMode", c_eccMode},
    {"nvmlDeviceGetTotalEccErrors", c_eccCount},
    {"nvmlDeviceGetRemappedRows", c_remappedRows},
    {"nvmlDeviceGetComputeRunningProcesses_v3", c_processes},
};

/* ---- the snapshot: the calls NvmlLibrary.sampleDevice makes, in its order --------------------- */

static void field(nvmlReturn_t rc) { errorText(rc); }

static void snapshotOne(nvmlDevice_t h) {
  field(memoryCall(h));
  field(nv.temperature(h, NVML_TEMPERATURE_GPU, &u32a));
  field(nv.temperatureThreshold(h, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN, &u32a));
  field(nv.temperatureThreshold(h, NVML_TEMPERATURE_THRESHOLD_SHUTDOWN, &u32a));
  field(nv.powerUsage(h, &u32a));
  field(nv.powerLimit(h, &u32a));
  field(nv.energy(h, &u64a));
  nvmlReturn_t rc = nv.migMode(h, &u32a, &u32b);
  field(rc);
  if (rc == NVML_SUCCESS && u32a == NVML_DEVICE_MIG_ENABLE) {
    rc = nv.maxMigCount(h, &u32c);
    field(rc);
    for (unsigned int i = 0; rc == NVML_SUCCESS && i < u32c; i++) {
      nvmlDevice_t mig;
      if (nv.migHandle(h, i, &mig) == NVML_SUCCESS) field(memoryCall(mig));
    }
  }
  field(nv.utilization(h, &utilization));
  field(nv.pstate(h, &u32a));
  field(nv.clockEvents(h, &u64a));
  field(nv.clock(h, NVML_CLOCK_SM, &u32a));
  field(nv.clock(h, NVML_CLOCK_MEM, &u32a));
  field(nv.fan(h, &u32a));
  rc = nv.eccMode(h, &u32a, &u32b);
  field(rc);
  if (rc != NVML_SUCCESS || u32a != NVML_FEATURE_DISABLED) {
    field(nv.eccCount(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &u64a));
    field(nv.eccCount(h, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &u64a));
    field(nv.eccCount(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_AGGREGATE_ECC, &u64a));
  }
  field(nv.remappedRows(h, &u32a, &u32b, &u32c, &u32d));
  field(processesCall(h));
}

static unsigned int snapshotGpus;
static nvmlReturn_t c_snapshot(void) {
  for (unsigned int i = 0; i < snapshotGpus; i++) snapshotOne(handles[i]);
  return NVML_SUCCESS;
}

static nvmlReturn_t c_cycle(void) {
  nvmlReturn_t rc = nv.init();
  if (rc != NVML_SUCCESS) return rc;
  unsigned int count = 0;
  rc = nv.count(&count);
  for (unsigned int i = 0; rc == NVML_SUCCESS && i < snapshotGpus && i < count; i++) {
    nvmlDevice_t h;
    rc = nv.handleByIndex(i, &h);
    if (rc == NVML_SUCCESS) snapshotOne(h);
  }
  nvmlReturn_t down = nv.shutdown();
  return rc != NVML_SUCCESS ? rc : down;
}

/* ---- measuring ---------------------------------------------------------------------------------- */

static int compare(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t rank(size_t n, double p) {
  size_t i = (size_t)((p / 100.0) * (double)n + 0.999999999);
  if (i < 1) i = 1;
  if (i > n) i = n;
  return samples[i - 1];
}

/* Repeats fn for runMs after a warm-up; prints the statistics as JSON members (no braces). */
static nvmlReturn_t measure(call_fn fn, long warmups) {
  nvmlReturn_t first = fn();
  for (long i = 1; i < warmups; i++) fn();
  uint64_t deadline = now_ns() + (uint64_t)runMs * 1000000u;
  size_t n = 0;
  double sum = 0;
  while (n < (size_t)maxReps) {
    uint64_t t0 = now_ns();
    fn();
    uint64_t t1 = now_ns();
    samples[n++] = t1 - t0;
    sum += (double)(t1 - t0);
    if (t1 > deadline) break;
  }
  qsort(samples, n, sizeof *samples, compare);
  printf("\"n\":%zu,\"mean\":%.1f,\"min\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu", n, sum / (double)n,
         (unsigned long long)samples[0], (unsigned long long)rank(n, 50), (unsigned long long)rank(n, 90),
         (unsigned long long)rank(n, 99), (unsigned long long)samples[n - 1]);
  return first;
}

static nvmlReturn_t c_timer(void) { return NVML_SUCCESS; }

static void jsonString(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    if ((unsigned char)*s >= 0x20) putchar(*s);
  }
  putchar('"');
}

static void enumerate(void) {
  if (nv.count(&gpuCount) != NVML_SUCCESS) die("nvmlDeviceGetCount", "failed");
  if (gpuCount > MAX_GPUS) gpuCount = MAX_GPUS;
  for (unsigned int i = 0; i < gpuCount; i++) {
    if (nv.handleByIndex(i, &handles[i]) != NVML_SUCCESS) die("nvmlDeviceGetHandleByIndex", "failed");
    if (nv.uuid(handles[i], uuids[i], STRING_BUFFER_BYTES) != NVML_SUCCESS) die("nvmlDeviceGetUUID", "failed");
  }
  h0 = handles[0];
}

int main(int argc, char **argv) {
  const char *path = getenv("NVML_LIBRARY_PATH");
  if (!path || !*path) path = "libnvidia-ml.so.1";
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    if (i + 1 >= argc) die("usage", argv[i]);
    if (!strcmp(argv[i], "--lib")) path = argv[i + 1];
    else if (!strcmp(argv[i], "--ms")) runMs = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--max")) maxReps = atol(argv[i + 1]);
    else die("unknown option", argv[i]);
  }
  samples = malloc(sizeof *samples * (size_t)maxReps);
  if (!samples) die("malloc", "samples");
  load(path);
  nvmlReturn_t rc = nv.init();
  if (rc != NVML_SUCCESS) die("nvmlInit_v2", nv.errorString ? nv.errorString(rc) : "failed");
  enumerate();

  while (i < argc) {
    const char *cmd = argv[i++];
    if (!strcmp(cmd, "--ms") && i < argc) {
      runMs = atol(argv[i++]);
      continue;
    }
    if (!strcmp(cmd, "info")) {
      char driver[STRING_BUFFER_BYTES] = "", version[STRING_BUFFER_BYTES] = "";
      nv.driverVersion(driver, STRING_BUFFER_BYTES);
      nv.nvmlVersion(version, STRING_BUFFER_BYTES);
      printf("{\"cmd\":\"info\",\"library\":");
      jsonString(path);
      printf(",\"driverVersion\":");
      jsonString(driver);
      printf(",\"nvmlVersion\":");
      jsonString(version);
      printf(",\"symbols\":{\"memory\":\"%s\",\"clockEvents\":\"%s\",\"processes\":\"%s\"},\"gpus\":[", memoryName,
             clockEventsName ? clockEventsName : "", processesName ? processesName : "");
      for (unsigned int g = 0; g < gpuCount; g++) {
        char name[STRING_BUFFER_BYTES] = "";
        nv.name(handles[g], name, STRING_BUFFER_BYTES);
        printf("%s{\"index\":%u,\"uuid\":", g ? "," : "", g);
        jsonString(uuids[g]);
        printf(",\"name\":");
        jsonString(name);
        putchar('}');
      }
      printf("]}\n");
    } else if (!strcmp(cmd, "timer")) {
      printf("{\"cmd\":\"timer\",");
      measure(c_timer, 1000);
      printf("}\n");
    } else if (!strcmp(cmd, "call")) {
      for (; i < argc && strcmp(argv[i], "info") && strcmp(argv[i], "timer") && strcmp(argv[i], "call") &&
             strcmp(argv[i], "snapshot") && strcmp(argv[i], "cycle") && strncmp(argv[i], "--", 2);
           i++) {
        call_fn fn = NULL;
        for (size_t c = 0; c < sizeof CALLS / sizeof *CALLS; c++)
          if (!strcmp(CALLS[c].name, argv[i])) fn = CALLS[c].fn;
        if (!fn) die("unknown call", argv[i]);
        printf("{\"cmd\":\"call\",\"fn\":");
        jsonString(argv[i]);
        putchar(',');
        nvmlReturn_t first = measure(fn, 100);
        printf(",\"rc\":%d}\n", (int)first);
        fflush(stdout);
      }
      continue;
    } else if (!strcmp(cmd, "snapshot") || !strcmp(cmd, "cycle")) {
      if (i >= argc) die("usage", cmd);
      snapshotGpus = (unsigned int)atoi(argv[i++]);
      if (snapshotGpus < 1 || snapshotGpus > gpuCount) snapshotGpus = gpuCount;
      int cycle = !strcmp(cmd, "cycle");
      if (cycle && nv.shutdown() != NVML_SUCCESS) die("nvmlShutdown", "failed");
      printf("{\"cmd\":\"%s\",\"gpus\":%u,", cmd, snapshotGpus);
      nvmlReturn_t first = measure(cycle ? c_cycle : c_snapshot, cycle ? 3 : 20);
      printf(",\"rc\":%d}\n", (int)first);
      if (cycle) {
        if (nv.init() != NVML_SUCCESS) die("nvmlInit_v2", "again");
        enumerate();
      }
    } else {
      die("unknown command", cmd);
    }
    fflush(stdout);
  }
  nv.shutdown();
  return 0;
}
