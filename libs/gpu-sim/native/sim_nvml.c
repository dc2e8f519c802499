/*
 * libnvidia-ml.so.1: the NVML API over the simulated scenario.
 *
 * Every exported function: tick (load/reload) -> counters -> init check ->
 * handle check -> faults (delay served without locks) -> answer from the
 * current config under sim_lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NVML_NO_UNVERSIONED_FUNC_DEFS 1
#pragma GCC visibility push(default)
#include <nvml.h>
/* newer than this header */
nvmlReturn_t DECLDIR nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long *clocksEventReasons);
const char *gpuSimDescribe(void);
#pragma GCC visibility pop

#include "sim_internal.h"

const int sim_this_lib = SIM_LIB_NVML;

#define RC(x) ((nvmlReturn_t)(x))

/* ------------------------------------------------------------------ */
/* handles                                                              */

struct nvmlDevice_st {
  int gpu;
  int mig; /* -1: the GPU itself */
};

static struct nvmlDevice_st gpu_handles[SIM_MAX_GPUS];
static struct nvmlDevice_st mig_handles[SIM_MAX_GPUS][SIM_MAX_MIG];

__attribute__((constructor)) static void init_handles(void) {
  for (int i = 0; i < SIM_MAX_GPUS; i++) {
    gpu_handles[i].gpu = i;
    gpu_handles[i].mig = -1;
    for (int m = 0; m < SIM_MAX_MIG; m++) {
      mig_handles[i][m].gpu = i;
      mig_handles[i][m].mig = m;
    }
  }
}

/* ------------------------------------------------------------------ */
/* init state                                                           */

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int refcount;        /* atomic reads, writes under init_lock */
static int shutdown_to_zero; /* an nvmlShutdown brought refcount to 0 */

/* Visibility (guarded by sim_lock). */
static char vis_env[4096];
static int vis_env_set;
static int vis_count;
static int vis_phys[SIM_MAX_GPUS];
static int phys_to_vis[SIM_MAX_GPUS];

static void compute_visibility_locked(void) {
  for (int i = 0; i < SIM_MAX_GPUS; i++) phys_to_vis[i] = -1;
  vis_count = sim_container_visible(vis_env, vis_env_set, vis_phys);
  for (int i = 0; i < vis_count; i++) phys_to_vis[vis_phys[i]] = i;
}

static int initialized(void) { return __atomic_load_n(&refcount, __ATOMIC_ACQUIRE) > 0; }

/* ------------------------------------------------------------------ */
/* event sets                                                           */

#define MAX_EVENT_SETS 64

struct nvmlEventSet_st {
  int in_use;
  unsigned long long types[SIM_MAX_GPUS]; /* registered types per scenario GPU */
  int64_t xid_since[SIM_MAX_GPUS];        /* clock ms when XID was registered */
  int64_t xid_since_epoch[SIM_MAX_GPUS];  /* the same moment in epoch ms */
  int64_t next[SIM_MAX_XIDS];             /* next occurrence to deliver, per [xid] entry */
};

static struct nvmlEventSet_st event_sets[MAX_EVENT_SETS];

static int64_t occurrence_ms(const sim_xid_t *x, int64_t k) { return sim_time_point_ms(&x->at) + k * x->interval_ms; }

static int occurrence_exists(const sim_xid_t *x, int64_t k) { return x->count == 0 || k < x->count; }

/* First occurrence at or after a set's registration for XIDs on that GPU. An XID given in epoch
 * ms is compared with the registration's epoch ms: converting it to the clock scale truncates
 * both clocks independently, which could place an XID stamped just after the registration
 * (Date.now() in a test, the same realtime clock) a millisecond before it. */
static int64_t first_occurrence_from(const sim_xid_t *x, const struct nvmlEventSet_st *es) {
  int epoch = x->at.kind == 2;
  int64_t at = epoch ? x->at.ms : sim_time_point_ms(&x->at);
  int64_t t = epoch ? es->xid_since_epoch[x->gpu] : es->xid_since[x->gpu];
  if (at >= t || x->interval_ms <= 0) return at >= t ? 0 : 1;
  int64_t k = (t - at + x->interval_ms - 1) / x->interval_ms;
  return k;
}

static void swap_hook(sim_config_t *old_cfg, sim_config_t *new_cfg) {
  /* visibility follows the new GPU list; event cursors follow unchanged entries */
  compute_visibility_locked();
  for (int s = 0; s < MAX_EVENT_SETS; s++) {
    struct nvmlEventSet_st *es = &event_sets[s];
    if (!es->in_use) continue;
    int64_t next[SIM_MAX_XIDS];
    for (int j = 0; j < new_cfg->xid_count; j++) {
      const sim_xid_t *x = &new_cfg->xids[j];
      int found = 0;
      if (old_cfg) {
        for (int i = 0; i < old_cfg->xid_count; i++) {
          if (strcmp(old_cfg->xids[i].key, x->key) == 0) {
            next[j] = es->next[i];
            found = 1;
            break;
          }
        }
      }
      if (!found) next[j] = first_occurrence_from(x, es);
    }
    memcpy(es->next, next, sizeof(int64_t) * (size_t)new_cfg->xid_count);
  }
}

/* ------------------------------------------------------------------ */
/* call plumbing                                                        */

static sim_counter_slot_t *call_begin(int fn) {
  sim_tick();
  int after = !(sim_fn_flags[fn] & SIM_F_INIT) && !initialized() && __atomic_load_n(&shutdown_to_zero, __ATOMIC_ACQUIRE);
  return sim_counter_enter(fn, after);
}

#define CALL(name, expr)                                                                                              \
  do {                                                                                                                \
    sim_counter_slot_t *slot_ = call_begin(SIM_FN_##name);                                                            \
    nvmlReturn_t r_ = (expr);                                                                                         \
    sim_counter_leave(slot_);                                                                                         \
    return r_;                                                                                                        \
  } while (0)

#define FN(name) SIM_FN_##name

/* For functions without a device: init check, then faults. */
static nvmlReturn_t plain_begin(int fn) {
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  return RC(sim_faults_apply(fn, -1, NULL));
}

/* Resolves a handle to (gpu, mig) against the current config; caller holds sim_lock. */
static int resolve_locked(nvmlDevice_t h, int *gpu, int *mig) {
  uintptr_t p = (uintptr_t)h;
  uintptr_t g0 = (uintptr_t)gpu_handles, g1 = g0 + sizeof gpu_handles;
  uintptr_t m0 = (uintptr_t)mig_handles, m1 = m0 + sizeof mig_handles;
  const size_t sz = sizeof(struct nvmlDevice_st);
  if (p >= g0 && p < g1 && (p - g0) % sz == 0) {
    *gpu = h->gpu;
    *mig = -1;
  } else if (p >= m0 && p < m1 && (p - m0) % sz == 0) {
    *gpu = h->gpu;
    *mig = h->mig;
  } else {
    return -1;
  }
  if (*gpu >= sim_cfg->gpu_count || phys_to_vis[*gpu] < 0) return -1;
  if (*mig >= 0) {
    const sim_gpu_t *g = &sim_cfg->gpus[*gpu];
    if (g->mig_current != 1 || *mig >= g->mig_count) return -1;
  }
  return 0;
}

/*
 * Device functions: on success returns NVML_SUCCESS with sim_lock HELD and
 * *g (and *m for a MIG handle, else NULL) set; the caller unlocks.
 */
static nvmlReturn_t dev_begin(int fn, nvmlDevice_t h, sim_gpu_t **g, sim_mig_t **m) {
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  int gpu, mig;
  sim_fault_hit_t hit;
  pthread_mutex_lock(&sim_lock);
  if (!h || resolve_locked(h, &gpu, &mig)) {
    pthread_mutex_unlock(&sim_lock);
    return NVML_ERROR_INVALID_ARGUMENT;
  }
  sim_faults_eval_locked(fn, gpu, &hit);
  pthread_mutex_unlock(&sim_lock);
  sim_sleep_ms(hit.delay_ms);
  if (hit.rc) return RC(hit.rc);
  pthread_mutex_lock(&sim_lock);
  if (resolve_locked(h, &gpu, &mig)) { /* the scenario changed meanwhile */
    pthread_mutex_unlock(&sim_lock);
    return NVML_ERROR_INVALID_ARGUMENT;
  }
  sim_gpu_t *gp = &sim_cfg->gpus[gpu];
  if (gp->unsupported[fn] || (mig >= 0 && !(sim_fn_flags[fn] & SIM_F_MIG))) {
    pthread_mutex_unlock(&sim_lock);
    return NVML_ERROR_NOT_SUPPORTED;
  }
  *g = gp;
  if (m) *m = mig >= 0 ? &gp->mig[mig] : NULL;
  return NVML_SUCCESS;
}

#define UNLOCK_RETURN(x)                                                                                              \
  do {                                                                                                                \
    nvmlReturn_t ur_ = (x);                                                                                           \
    pthread_mutex_unlock(&sim_lock);                                                                                  \
    return ur_;                                                                                                       \
  } while (0)

static nvmlReturn_t copy_string(char *dst, unsigned int length, const char *src) {
  if (!dst) return NVML_ERROR_INVALID_ARGUMENT;
  size_t need = strlen(src) + 1;
  if (length < need) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(dst, src, need);
  return NVML_SUCCESS;
}

static nvmlReturn_t na_u32(int64_t v, unsigned int *out) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (v == SIM_NA) return NVML_ERROR_NOT_SUPPORTED;
  *out = (unsigned int)v;
  return NVML_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* init / shutdown / system                                             */

static nvmlReturn_t do_init(int fn, unsigned int flags) {
  (void)flags;
  pthread_mutex_lock(&init_lock);
  int first = refcount == 0;
  int load_failed = first ? sim_on_init() : 0;
  pthread_mutex_unlock(&init_lock);
  int rc = sim_faults_apply(fn, -1, NULL);
  if (rc) return RC(rc);
  pthread_mutex_lock(&init_lock);
  if (refcount == 0) {
    if (load_failed) {
      pthread_mutex_unlock(&init_lock);
      return NVML_ERROR_UNKNOWN;
    }
    const char *env = getenv("NVIDIA_VISIBLE_DEVICES");
    pthread_mutex_lock(&sim_lock);
    vis_env_set = env != NULL;
    sim_strlcpy(vis_env, env ? env : "", sizeof vis_env);
    sim_config_swap_hook = swap_hook;
    compute_visibility_locked();
    pthread_mutex_unlock(&sim_lock);
  }
  __atomic_store_n(&refcount, refcount + 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&init_lock);
  return NVML_SUCCESS;
}

SIM_EXPORT nvmlReturn_t nvmlInit_v2(void) { CALL(nvmlInit_v2, do_init(FN(nvmlInit_v2), 0)); }

SIM_EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  CALL(nvmlInitWithFlags, do_init(FN(nvmlInitWithFlags), flags));
}

static nvmlReturn_t do_shutdown(void) {
  nvmlReturn_t rc = plain_begin(FN(nvmlShutdown));
  if (rc) return rc;
  pthread_mutex_lock(&init_lock);
  if (refcount == 0) {
    pthread_mutex_unlock(&init_lock);
    return NVML_ERROR_UNINITIALIZED;
  }
  __atomic_store_n(&refcount, refcount - 1, __ATOMIC_RELEASE);
  if (refcount == 0) __atomic_store_n(&shutdown_to_zero, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&init_lock);
  return NVML_SUCCESS;
}

SIM_EXPORT nvmlReturn_t nvmlShutdown(void) { CALL(nvmlShutdown, do_shutdown()); }

SIM_EXPORT const char *nvmlErrorString(nvmlReturn_t result) {
  sim_counter_slot_t *slot = call_begin(FN(nvmlErrorString));
  const char *s = sim_nvml_error_string((int)result);
  sim_counter_leave(slot);
  return s;
}

static nvmlReturn_t system_string(int fn, char *version, unsigned int length, int which) {
  nvmlReturn_t rc = plain_begin(fn);
  if (rc) return rc;
  pthread_mutex_lock(&sim_lock);
  UNLOCK_RETURN(copy_string(version, length, which ? sim_cfg->nvml_version : sim_cfg->driver_version));
}

SIM_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  CALL(nvmlSystemGetDriverVersion, system_string(FN(nvmlSystemGetDriverVersion), version, length, 0));
}

SIM_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
  CALL(nvmlSystemGetNVMLVersion, system_string(FN(nvmlSystemGetNVMLVersion), version, length, 1));
}

static nvmlReturn_t cuda_version(int fn, int *v) {
  nvmlReturn_t rc = plain_begin(fn);
  if (rc) return rc;
  if (!v) return NVML_ERROR_INVALID_ARGUMENT;
  pthread_mutex_lock(&sim_lock);
  *v = sim_cfg->cuda_driver_version;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *v) {
  CALL(nvmlSystemGetCudaDriverVersion, cuda_version(FN(nvmlSystemGetCudaDriverVersion), v));
}

#ifndef GPU_SIM_LEGACY
SIM_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v) {
  CALL(nvmlSystemGetCudaDriverVersion_v2, cuda_version(FN(nvmlSystemGetCudaDriverVersion_v2), v));
}
#endif

/* ------------------------------------------------------------------ */
/* enumeration                                                          */

static nvmlReturn_t get_count(int fn, unsigned int *count) {
  nvmlReturn_t rc = plain_begin(fn);
  if (rc) return rc;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  pthread_mutex_lock(&sim_lock);
  *count = (unsigned int)vis_count;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) {
  CALL(nvmlDeviceGetCount, get_count(FN(nvmlDeviceGetCount), count));
}

#ifndef GPU_SIM_LEGACY
SIM_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  CALL(nvmlDeviceGetCount_v2, get_count(FN(nvmlDeviceGetCount_v2), count));
}
#endif

/* Handle lookups: find the GPU under the lock, then faults for that GPU. */
static nvmlReturn_t handle_result(int fn, int gpu, int mig, nvmlDevice_t *device) {
  int rc = sim_faults_apply(fn, gpu, NULL);
  if (rc) return RC(rc);
  *device = mig >= 0 ? &mig_handles[gpu][mig] : &gpu_handles[gpu];
  return NVML_SUCCESS;
}

static nvmlReturn_t by_index(int fn, unsigned int index, nvmlDevice_t *device) {
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  if (!device) return NVML_ERROR_INVALID_ARGUMENT;
  pthread_mutex_lock(&sim_lock);
  int gpu = index < (unsigned int)vis_count ? vis_phys[index] : -1;
  pthread_mutex_unlock(&sim_lock);
  if (gpu < 0) {
    int rc = sim_faults_apply(fn, -1, NULL);
    return rc ? RC(rc) : NVML_ERROR_INVALID_ARGUMENT;
  }
  return handle_result(fn, gpu, -1, device);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
  CALL(nvmlDeviceGetHandleByIndex, by_index(FN(nvmlDeviceGetHandleByIndex), index, device));
}

#ifndef GPU_SIM_LEGACY
SIM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  CALL(nvmlDeviceGetHandleByIndex_v2, by_index(FN(nvmlDeviceGetHandleByIndex_v2), index, device));
}
#endif

static nvmlReturn_t by_uuid(const char *uuid, nvmlDevice_t *device) {
  int fn = FN(nvmlDeviceGetHandleByUUID);
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  if (!uuid || !device) return NVML_ERROR_INVALID_ARGUMENT;
  int gpu = -1, mig = -1;
  pthread_mutex_lock(&sim_lock);
  for (int v = 0; v < vis_count && gpu < 0; v++) {
    const sim_gpu_t *g = &sim_cfg->gpus[vis_phys[v]];
    if (strcasecmp(g->uuid, uuid) == 0) gpu = vis_phys[v];
    for (int m = 0; gpu < 0 && g->mig_current == 1 && m < g->mig_count; m++)
      if (strcasecmp(g->mig[m].uuid, uuid) == 0) gpu = vis_phys[v], mig = m;
  }
  pthread_mutex_unlock(&sim_lock);
  if (gpu < 0) {
    int rc = sim_faults_apply(fn, -1, NULL);
    return rc ? RC(rc) : NVML_ERROR_NOT_FOUND;
  }
  return handle_result(fn, gpu, mig, device);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device) {
  CALL(nvmlDeviceGetHandleByUUID, by_uuid(uuid, device));
}

static nvmlReturn_t by_pci(const char *bus_id, nvmlDevice_t *device) {
  int fn = FN(nvmlDeviceGetHandleByPciBusId_v2);
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  uint32_t d, b, dev;
  if (!bus_id || !device) return NVML_ERROR_INVALID_ARGUMENT;
  if (sim_parse_pci_bus_id(bus_id, &d, &b, &dev)) return NVML_ERROR_INVALID_ARGUMENT;
  int gpu = -1;
  pthread_mutex_lock(&sim_lock);
  for (int v = 0; v < vis_count && gpu < 0; v++) {
    const sim_gpu_t *g = &sim_cfg->gpus[vis_phys[v]];
    if (g->pci_domain == d && g->pci_bus == b && g->pci_device == dev) gpu = vis_phys[v];
  }
  pthread_mutex_unlock(&sim_lock);
  if (gpu < 0) {
    int rc = sim_faults_apply(fn, -1, NULL);
    return rc ? RC(rc) : NVML_ERROR_NOT_FOUND;
  }
  return handle_result(fn, gpu, -1, device);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device) {
  CALL(nvmlDeviceGetHandleByPciBusId_v2, by_pci(pciBusId, device));
}

/* ------------------------------------------------------------------ */
/* identity                                                             */

static nvmlReturn_t get_index(nvmlDevice_t device, unsigned int *index) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetIndex), device, &g, NULL);
  if (rc) return rc;
  if (!index) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  *index = (unsigned int)phys_to_vis[g - sim_cfg->gpus];
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index) {
  CALL(nvmlDeviceGetIndex, get_index(device, index));
}

static nvmlReturn_t dev_string(int fn, nvmlDevice_t device, char *out, unsigned int length, int which) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t rc = dev_begin(fn, device, &g, &m);
  if (rc) return rc;
  const char *s = which == 0 ? (m ? m->uuid : g->uuid) : which == 1 ? (m ? m->name : g->name) : g->serial;
  UNLOCK_RETURN(copy_string(out, length, s));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  CALL(nvmlDeviceGetUUID, dev_string(FN(nvmlDeviceGetUUID), device, uuid, length, 0));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  CALL(nvmlDeviceGetName, dev_string(FN(nvmlDeviceGetName), device, name, length, 1));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char *serial, unsigned int length) {
  CALL(nvmlDeviceGetSerial, dev_string(FN(nvmlDeviceGetSerial), device, serial, length, 2));
}

static nvmlReturn_t pci_info(nvmlDevice_t device, nvmlPciInfo_t *pci) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetPciInfo_v3), device, &g, NULL);
  if (rc) return rc;
  if (!pci) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  memset(pci, 0, sizeof *pci);
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", g->pci_domain & 0xFFFF, g->pci_bus,
           g->pci_device);
  snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", g->pci_domain, g->pci_bus, g->pci_device);
  pci->domain = g->pci_domain;
  pci->bus = g->pci_bus;
  pci->device = g->pci_device;
  pci->pciDeviceId = g->pci_device_id;
  pci->pciSubSystemId = g->pci_subsystem_id;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
  CALL(nvmlDeviceGetPciInfo_v3, pci_info(device, pci));
}

static nvmlReturn_t minor_number(nvmlDevice_t device, unsigned int *minor) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetMinorNumber), device, &g, NULL);
  if (rc) return rc;
  UNLOCK_RETURN(na_u32(g->minor_number, minor));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int *minorNumber) {
  CALL(nvmlDeviceGetMinorNumber, minor_number(device, minorNumber));
}

static nvmlReturn_t compute_capability(nvmlDevice_t device, int *major, int *minor) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetCudaComputeCapability), device, &g, NULL);
  if (rc) return rc;
  if (!major || !minor) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  *major = g->cc_major;
  *minor = g->cc_minor;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor) {
  CALL(nvmlDeviceGetCudaComputeCapability, compute_capability(device, major, minor));
}

static nvmlReturn_t architecture(nvmlDevice_t device, nvmlDeviceArchitecture_t *arch) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetArchitecture), device, &g, NULL);
  if (rc) return rc;
  if (!arch) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  *arch = g->architecture;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, nvmlDeviceArchitecture_t *arch) {
  CALL(nvmlDeviceGetArchitecture, architecture(device, arch));
}

/* ------------------------------------------------------------------ */
/* memory                                                               */

static void memory_figures(const sim_gpu_t *g, const sim_mig_t *m, uint64_t *total, uint64_t *reserved,
                           uint64_t *used) {
  *total = (uint64_t)(m ? m->memory_total : g->memory_total);
  *reserved = (uint64_t)(m ? m->memory_reserved : g->memory_reserved);
  *used = (uint64_t)(m ? m->memory_used : g->memory_used);
}

static nvmlReturn_t memory_v1(nvmlDevice_t device, nvmlMemory_t *memory) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetMemoryInfo), device, &g, &m);
  if (rc) return rc;
  if (!memory) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (!m && g->memory_total == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  uint64_t total, reserved, used;
  memory_figures(g, m, &total, &reserved, &used);
  uint64_t used_v1 = used + reserved; /* v1 counts the reserved memory as used */
  memory->total = total;
  memory->used = used_v1;
  memory->free = total > used_v1 ? total - used_v1 : 0;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
  CALL(nvmlDeviceGetMemoryInfo, memory_v1(device, memory));
}

#ifndef GPU_SIM_LEGACY
static nvmlReturn_t memory_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetMemoryInfo_v2), device, &g, &m);
  if (rc) return rc;
  if (!memory) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (memory->version != nvmlMemory_v2) UNLOCK_RETURN(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  if (!m && g->memory_total == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  uint64_t total, reserved, used;
  memory_figures(g, m, &total, &reserved, &used);
  memory->total = total;
  memory->reserved = reserved;
  memory->used = used; /* v2 excludes the reserved memory */
  memory->free = total > reserved + used ? total - reserved - used : 0;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
  CALL(nvmlDeviceGetMemoryInfo_v2, memory_v2(device, memory));
}
#endif

/* ------------------------------------------------------------------ */
/* thermal, power, utilisation, clocks                                  */

static nvmlReturn_t temperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensor, unsigned int *temp) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetTemperature), device, &g, NULL);
  if (rc) return rc;
  if (sensor != NVML_TEMPERATURE_GPU) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  UNLOCK_RETURN(na_u32(g->temperature, temp));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensorType,
                                                 unsigned int *temp) {
  CALL(nvmlDeviceGetTemperature, temperature(device, sensorType, temp));
}

static nvmlReturn_t threshold(nvmlDevice_t device, nvmlTemperatureThresholds_t type, unsigned int *temp) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetTemperatureThreshold), device, &g, NULL);
  if (rc) return rc;
  if ((unsigned int)type >= SIM_THRESHOLDS) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  UNLOCK_RETURN(na_u32(g->thresholds[type], temp));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetTemperatureThreshold(nvmlDevice_t device, nvmlTemperatureThresholds_t thresholdType,
                                                          unsigned int *temp) {
  CALL(nvmlDeviceGetTemperatureThreshold, threshold(device, thresholdType, temp));
}

enum { V_POWER, V_LIMIT, V_PSTATE, V_FAN, V_FANS };

static nvmlReturn_t dev_u32(int fn, nvmlDevice_t device, unsigned int *out, int which) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(fn, device, &g, NULL);
  if (rc) return rc;
  int64_t v = SIM_NA;
  switch (which) {
  case V_POWER: v = g->power_mw; break;
  case V_LIMIT: v = g->power_limit_mw; break;
  case V_PSTATE: v = g->pstate; break;
  case V_FAN: v = g->fan_speed; break;
  case V_FANS: v = g->fan_count != SIM_NA ? g->fan_count : (g->fan_speed != SIM_NA ? 1 : 0); break;
  }
  UNLOCK_RETURN(na_u32(v, out));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
  CALL(nvmlDeviceGetPowerUsage, dev_u32(FN(nvmlDeviceGetPowerUsage), device, power, V_POWER));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit) {
  CALL(nvmlDeviceGetEnforcedPowerLimit, dev_u32(FN(nvmlDeviceGetEnforcedPowerLimit), device, limit, V_LIMIT));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetPerformanceState(nvmlDevice_t device, nvmlPstates_t *pState) {
  unsigned int v = 0;
  sim_counter_slot_t *slot = call_begin(FN(nvmlDeviceGetPerformanceState));
  nvmlReturn_t r = pState ? dev_u32(FN(nvmlDeviceGetPerformanceState), device, &v, V_PSTATE)
                          : dev_u32(FN(nvmlDeviceGetPerformanceState), device, NULL, V_PSTATE);
  if (r == NVML_SUCCESS) *pState = (nvmlPstates_t)v;
  sim_counter_leave(slot);
  return r;
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t device, unsigned int *speed) {
  CALL(nvmlDeviceGetFanSpeed, dev_u32(FN(nvmlDeviceGetFanSpeed), device, speed, V_FAN));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetNumFans(nvmlDevice_t device, unsigned int *numFans) {
  CALL(nvmlDeviceGetNumFans, dev_u32(FN(nvmlDeviceGetNumFans), device, numFans, V_FANS));
}

static nvmlReturn_t energy(nvmlDevice_t device, unsigned long long *out) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetTotalEnergyConsumption), device, &g, NULL);
  if (rc) return rc;
  if (!out) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->energy_mj == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  *out = (unsigned long long)g->energy_mj;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy_mj) {
  CALL(nvmlDeviceGetTotalEnergyConsumption, energy(device, energy_mj));
}

static nvmlReturn_t utilization(nvmlDevice_t device, nvmlUtilization_t *u) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetUtilizationRates), device, &g, NULL);
  if (rc) return rc;
  if (!u) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  /* with MIG enabled the driver has no whole-GPU utilisation */
  if (g->mig_current == 1 || g->util_gpu == SIM_NA || g->util_memory == SIM_NA)
    UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  u->gpu = (unsigned int)g->util_gpu;
  u->memory = (unsigned int)g->util_memory;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization_out) {
  CALL(nvmlDeviceGetUtilizationRates, utilization(device, utilization_out));
}

static nvmlReturn_t clock_reasons(int fn, nvmlDevice_t device, unsigned long long *reasons) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(fn, device, &g, NULL);
  if (rc) return rc;
  if (!reasons) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  *reasons = g->clock_event_reasons;
  UNLOCK_RETURN(NVML_SUCCESS);
}

#ifndef GPU_SIM_LEGACY
SIM_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device,
                                                               unsigned long long *clocksEventReasons) {
  CALL(nvmlDeviceGetCurrentClocksEventReasons,
       clock_reasons(FN(nvmlDeviceGetCurrentClocksEventReasons), device, clocksEventReasons));
}
#endif

SIM_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device,
                                                                  unsigned long long *clocksThrottleReasons) {
  CALL(nvmlDeviceGetCurrentClocksThrottleReasons,
       clock_reasons(FN(nvmlDeviceGetCurrentClocksThrottleReasons), device, clocksThrottleReasons));
}

static nvmlReturn_t clock_info(nvmlDevice_t device, nvmlClockType_t type, unsigned int *clock) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetClockInfo), device, &g, NULL);
  if (rc) return rc;
  int64_t v;
  switch (type) {
  case NVML_CLOCK_GRAPHICS: v = g->clock_graphics; break;
  case NVML_CLOCK_SM: v = g->clock_sm; break;
  case NVML_CLOCK_MEM: v = g->clock_memory; break;
  case NVML_CLOCK_VIDEO: v = g->clock_video; break;
  default: UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  }
  UNLOCK_RETURN(na_u32(v, clock));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int *clock) {
  CALL(nvmlDeviceGetClockInfo, clock_info(device, type, clock));
}

/* ------------------------------------------------------------------ */
/* ECC, remapped rows                                                   */

static nvmlReturn_t ecc_mode(nvmlDevice_t device, nvmlEnableState_t *current, nvmlEnableState_t *pending) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetEccMode), device, &g, NULL);
  if (rc) return rc;
  if (!current || !pending) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->ecc_current == SIM_NA || g->ecc_pending == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  *current = g->ecc_current ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  *pending = g->ecc_pending ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current,
                                             nvmlEnableState_t *pending) {
  CALL(nvmlDeviceGetEccMode, ecc_mode(device, current, pending));
}

static nvmlReturn_t ecc_errors(nvmlDevice_t device, nvmlMemoryErrorType_t type, nvmlEccCounterType_t counter,
                               unsigned long long *count) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetTotalEccErrors), device, &g, NULL);
  if (rc) return rc;
  if (!count || (unsigned int)type > 1 || (unsigned int)counter > 1) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->ecc_current == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  *count = (unsigned long long)g->ecc_counts[type][counter];
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                                                    nvmlEccCounterType_t counterType, unsigned long long *eccCounts) {
  CALL(nvmlDeviceGetTotalEccErrors, ecc_errors(device, errorType, counterType, eccCounts));
}

static nvmlReturn_t remapped_rows(nvmlDevice_t device, unsigned int *corr, unsigned int *unc, unsigned int *pending,
                                  unsigned int *failure) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetRemappedRows), device, &g, NULL);
  if (rc) return rc;
  if (!corr || !unc || !pending || !failure) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->remap_correctable == SIM_NA || g->remap_uncorrectable == SIM_NA || g->remap_pending == SIM_NA ||
      g->remap_failure == SIM_NA)
    UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  *corr = (unsigned int)g->remap_correctable;
  *unc = (unsigned int)g->remap_uncorrectable;
  *pending = (unsigned int)g->remap_pending;
  *failure = (unsigned int)g->remap_failure;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
                                                  unsigned int *isPending, unsigned int *failureOccurred) {
  CALL(nvmlDeviceGetRemappedRows, remapped_rows(device, corrRows, uncRows, isPending, failureOccurred));
}

/* ------------------------------------------------------------------ */
/* MIG                                                                  */

static int64_t max_mig(const sim_gpu_t *g) {
  if (g->mig_max_devices != SIM_NA) return g->mig_max_devices;
  return g->mig_current == 1 ? SIM_MAX_MIG : 0;
}

static nvmlReturn_t mig_mode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetMigMode), device, &g, NULL);
  if (rc) return rc;
  if (!current || !pending) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->mig_current == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  *current = (unsigned int)g->mig_current;
  *pending = (unsigned int)(g->mig_pending == SIM_NA ? g->mig_current : g->mig_pending);
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode) {
  CALL(nvmlDeviceGetMigMode, mig_mode(device, currentMode, pendingMode));
}

static nvmlReturn_t max_mig_count(nvmlDevice_t device, unsigned int *count) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetMaxMigDeviceCount), device, &g, NULL);
  if (rc) return rc;
  if (!count) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->mig_current == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  *count = (unsigned int)max_mig(g);
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count) {
  CALL(nvmlDeviceGetMaxMigDeviceCount, max_mig_count(device, count));
}

static nvmlReturn_t mig_by_index(nvmlDevice_t device, unsigned int index, nvmlDevice_t *mig_device) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetMigDeviceHandleByIndex), device, &g, NULL);
  if (rc) return rc == NVML_ERROR_NOT_SUPPORTED && device && device->mig >= 0 ? NVML_ERROR_INVALID_ARGUMENT : rc;
  if (!mig_device) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->mig_current == SIM_NA) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  if ((int64_t)index >= max_mig(g)) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (g->mig_current != 1 || (int)index >= g->mig_count) UNLOCK_RETURN(NVML_ERROR_NOT_FOUND);
  *mig_device = &mig_handles[g - sim_cfg->gpus][index];
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                            nvmlDevice_t *migDevice) {
  CALL(nvmlDeviceGetMigDeviceHandleByIndex, mig_by_index(device, index, migDevice));
}

static nvmlReturn_t parent_of_mig(nvmlDevice_t mig_device, nvmlDevice_t *device) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetDeviceHandleFromMigDeviceHandle), mig_device, &g, &m);
  if (rc) return rc;
  if (!device || !m) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  *device = &gpu_handles[g - sim_cfg->gpus];
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t *device) {
  CALL(nvmlDeviceGetDeviceHandleFromMigDeviceHandle, parent_of_mig(migDevice, device));
}

static nvmlReturn_t is_mig(nvmlDevice_t device, unsigned int *out) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceIsMigDeviceHandle), device, &g, &m);
  if (rc) return rc;
  if (!out) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  *out = m ? 1 : 0;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice) {
  CALL(nvmlDeviceIsMigDeviceHandle, is_mig(device, isMigDevice));
}

static nvmlReturn_t instance_id(int fn, nvmlDevice_t device, unsigned int *id, int compute) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t rc = dev_begin(fn, device, &g, &m);
  if (rc) return rc;
  if (!id) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (!m) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  *id = compute ? m->compute_instance_id : m->gpu_instance_id;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id) {
  CALL(nvmlDeviceGetGpuInstanceId, instance_id(FN(nvmlDeviceGetGpuInstanceId), device, id, 0));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id) {
  CALL(nvmlDeviceGetComputeInstanceId, instance_id(FN(nvmlDeviceGetComputeInstanceId), device, id, 1));
}

/* ------------------------------------------------------------------ */
/* processes                                                            */

static nvmlReturn_t processes(int fn, nvmlDevice_t device, unsigned int *count, void *infos, int version) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t rc = dev_begin(fn, device, &g, &m);
  if (rc) return rc;
  if (!count || (*count > 0 && !infos)) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  const sim_proc_t *sel[SIM_MAX_PROCS];
  unsigned int n = 0;
  for (int i = 0; i < g->proc_count; i++) {
    const sim_proc_t *p = &g->procs[i];
    if (m && (p->gpu_instance_id != m->gpu_instance_id ||
              (p->compute_instance_id != SIM_UNSET_U32 && p->compute_instance_id != m->compute_instance_id)))
      continue;
    sel[n++] = p;
  }
  if (*count < n) {
    *count = n;
    UNLOCK_RETURN(NVML_ERROR_INSUFFICIENT_SIZE);
  }
  for (unsigned int i = 0; i < n; i++) {
    int mig_on = g->mig_current == 1;
    if (version == 1) {
      nvmlProcessInfo_v1_t *o = &((nvmlProcessInfo_v1_t *)infos)[i];
      o->pid = sel[i]->pid;
      o->usedGpuMemory = sel[i]->used_bytes;
    } else {
      /* v2 and v3 share one layout */
      nvmlProcessInfo_t *o = &((nvmlProcessInfo_t *)infos)[i];
      o->pid = sel[i]->pid;
      o->usedGpuMemory = sel[i]->used_bytes;
      o->gpuInstanceId = mig_on ? sel[i]->gpu_instance_id : SIM_UNSET_U32;
      o->computeInstanceId = mig_on ? sel[i]->compute_instance_id : SIM_UNSET_U32;
    }
  }
  *count = n;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount,
                                                             nvmlProcessInfo_v1_t *infos) {
  CALL(nvmlDeviceGetComputeRunningProcesses,
       processes(FN(nvmlDeviceGetComputeRunningProcesses), device, infoCount, infos, 1));
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                                nvmlProcessInfo_v2_t *infos) {
  CALL(nvmlDeviceGetComputeRunningProcesses_v2,
       processes(FN(nvmlDeviceGetComputeRunningProcesses_v2), device, infoCount, infos, 2));
}

#ifndef GPU_SIM_LEGACY
SIM_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                                nvmlProcessInfo_t *infos) {
  CALL(nvmlDeviceGetComputeRunningProcesses_v3,
       processes(FN(nvmlDeviceGetComputeRunningProcesses_v3), device, infoCount, infos, 3));
}
#endif

/* ------------------------------------------------------------------ */
/* events                                                               */

static nvmlReturn_t supported_events(nvmlDevice_t device, unsigned long long *types) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceGetSupportedEventTypes), device, &g, NULL);
  if (rc) return rc;
  if (!types) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  *types = g->supported_event_types;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes) {
  CALL(nvmlDeviceGetSupportedEventTypes, supported_events(device, eventTypes));
}

static int valid_set(nvmlEventSet_t set) {
  uintptr_t p = (uintptr_t)set, s0 = (uintptr_t)event_sets, s1 = s0 + sizeof event_sets;
  return set && p >= s0 && p < s1 && (p - s0) % sizeof(struct nvmlEventSet_st) == 0 && set->in_use;
}

static nvmlReturn_t set_create(nvmlEventSet_t *set) {
  nvmlReturn_t rc = plain_begin(FN(nvmlEventSetCreate));
  if (rc) return rc;
  if (!set) return NVML_ERROR_INVALID_ARGUMENT;
  pthread_mutex_lock(&sim_lock);
  for (int i = 0; i < MAX_EVENT_SETS; i++) {
    if (!event_sets[i].in_use) {
      memset(&event_sets[i], 0, sizeof event_sets[i]);
      event_sets[i].in_use = 1;
      *set = &event_sets[i];
      UNLOCK_RETURN(NVML_SUCCESS);
    }
  }
  UNLOCK_RETURN(NVML_ERROR_MEMORY);
}

SIM_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) { CALL(nvmlEventSetCreate, set_create(set)); }

static nvmlReturn_t register_events(nvmlDevice_t device, unsigned long long types, nvmlEventSet_t set) {
  sim_gpu_t *g;
  nvmlReturn_t rc = dev_begin(FN(nvmlDeviceRegisterEvents), device, &g, NULL);
  if (rc) return rc;
  if (!valid_set(set)) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  if (types & ~g->supported_event_types) UNLOCK_RETURN(NVML_ERROR_NOT_SUPPORTED);
  int gpu = (int)(g - sim_cfg->gpus);
  if ((types & nvmlEventTypeXidCriticalError) && !(set->types[gpu] & nvmlEventTypeXidCriticalError)) {
    /* from now on: earlier XIDs are not delivered to this set */
    set->xid_since[gpu] = sim_clock_ms();
    set->xid_since_epoch[gpu] = sim_epoch_ms();
    for (int j = 0; j < sim_cfg->xid_count; j++)
      if (sim_cfg->xids[j].gpu == gpu) set->next[j] = first_occurrence_from(&sim_cfg->xids[j], set);
  }
  set->types[gpu] |= types;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes,
                                                 nvmlEventSet_t set) {
  CALL(nvmlDeviceRegisterEvents, register_events(device, eventTypes, set));
}

static nvmlReturn_t set_wait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeout_ms) {
  nvmlReturn_t rc = plain_begin(FN(nvmlEventSetWait_v2));
  if (rc) return rc;
  if (!data) return NVML_ERROR_INVALID_ARGUMENT;
  int64_t deadline = sim_mono_us() + (int64_t)timeout_ms * 1000;
  for (;;) {
    pthread_mutex_lock(&sim_lock);
    if (!valid_set(set)) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
    int64_t now = sim_clock_ms();
    int best = -1;
    int64_t best_t = 0, next_due = INT64_MAX;
    for (int j = 0; j < sim_cfg->xid_count; j++) {
      const sim_xid_t *x = &sim_cfg->xids[j];
      if (x->gpu >= sim_cfg->gpu_count || phys_to_vis[x->gpu] < 0) continue;
      if (!(set->types[x->gpu] & nvmlEventTypeXidCriticalError)) continue;
      if (!occurrence_exists(x, set->next[j])) continue;
      int64_t t = occurrence_ms(x, set->next[j]);
      if (t <= now) {
        if (best < 0 || t < best_t) best = j, best_t = t;
      } else if (t < next_due) {
        next_due = t;
      }
    }
    if (best >= 0) {
      const sim_xid_t *x = &sim_cfg->xids[best];
      set->next[best]++;
      memset(data, 0, sizeof *data);
      data->device = &gpu_handles[x->gpu];
      data->eventType = nvmlEventTypeXidCriticalError;
      data->eventData = x->xid;
      data->gpuInstanceId = x->gpu_instance_id;
      data->computeInstanceId = x->compute_instance_id;
      UNLOCK_RETURN(NVML_SUCCESS);
    }
    pthread_mutex_unlock(&sim_lock);
    int64_t left_us = deadline - sim_mono_us();
    if (left_us <= 0) return NVML_ERROR_TIMEOUT;
    int64_t sleep_us = left_us;
    if (next_due != INT64_MAX && (next_due - now) * 1000 < sleep_us) sleep_us = (next_due - now) * 1000;
    if (sleep_us > 50000) sleep_us = 50000; /* keep noticing scenario reloads */
    if (sleep_us < 1000) sleep_us = 1000;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(sleep_us * 1000)};
    nanosleep(&ts, NULL);
    sim_tick();
  }
}

SIM_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
  CALL(nvmlEventSetWait_v2, set_wait(set, data, timeoutms));
}

static nvmlReturn_t set_free(nvmlEventSet_t set) {
  nvmlReturn_t rc = plain_begin(FN(nvmlEventSetFree));
  if (rc) return rc;
  pthread_mutex_lock(&sim_lock);
  if (!valid_set(set)) UNLOCK_RETURN(NVML_ERROR_INVALID_ARGUMENT);
  set->in_use = 0;
  UNLOCK_RETURN(NVML_SUCCESS);
}

SIM_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) { CALL(nvmlEventSetFree, set_free(set)); }

/* ------------------------------------------------------------------ */

SIM_EXPORT const char *gpuSimDescribe(void) { return sim_describe(); }
