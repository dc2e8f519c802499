/*
 * libcuda.so.1: the CUDA driver API subset the service uses, over the
 * simulated scenario. Device memory is host memory; copies really happen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cuda_types.h"
#include "sim_internal.h"

const int sim_this_lib = SIM_LIB_CUDA;

#define FN(name) SIM_FN_##name
#define MAX_CU_DEVICES SIM_MAX_GPUS
#define MAX_CTX_STACK 32

/* ------------------------------------------------------------------ */
/* state                                                                */

typedef struct {
  int gpu; /* scenario index */
  int mig; /* -1: whole GPU */
} cudev_t;

struct CUctx_st {
  int dev;
  int refcount; /* primary context retain count, under sim_lock */
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int cu_initialized; /* atomic reads */
static int cu_count;
static cudev_t cu_devs[MAX_CU_DEVICES];
static struct CUctx_st contexts[MAX_CU_DEVICES];

typedef struct alloc {
  unsigned char *base;
  size_t size;
  int dev;
  struct alloc *next;
} alloc_t;

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static alloc_t *allocs;
static int64_t allocated[MAX_CU_DEVICES];

static __thread struct CUctx_st *ctx_stack[MAX_CTX_STACK];
static __thread int ctx_depth;

static int initialized(void) { return __atomic_load_n(&cu_initialized, __ATOMIC_ACQUIRE); }

static sim_counter_slot_t *call_begin(int fn) {
  sim_tick();
  return sim_counter_enter(fn, 0);
}

#define CALL(name, expr)                                                                                              \
  do {                                                                                                                \
    sim_counter_slot_t *slot_ = call_begin(FN(name));                                                                 \
    CUresult r_ = (expr);                                                                                             \
    sim_counter_leave(slot_);                                                                                         \
    return r_;                                                                                                        \
  } while (0)

#define UNLOCK_RETURN(x)                                                                                              \
  do {                                                                                                                \
    CUresult ur_ = (x);                                                                                               \
    pthread_mutex_unlock(&sim_lock);                                                                                  \
    return ur_;                                                                                                       \
  } while (0)

/* ------------------------------------------------------------------ */
/* enumeration: CUDA_DEVICE_ORDER and CUDA_VISIBLE_DEVICES              */

static int entry_sms(const sim_config_t *c, const cudev_t *e) {
  const sim_gpu_t *g = &c->gpus[e->gpu];
  return e->mig >= 0 ? g->mig[e->mig].multiprocessor_count : g->multiprocessor_count;
}

static int cmp_pci(const sim_config_t *c, const cudev_t *a, const cudev_t *b) {
  const sim_gpu_t *ga = &c->gpus[a->gpu], *gb = &c->gpus[b->gpu];
  if (ga->pci_domain != gb->pci_domain) return ga->pci_domain < gb->pci_domain ? -1 : 1;
  if (ga->pci_bus != gb->pci_bus) return ga->pci_bus < gb->pci_bus ? -1 : 1;
  if (ga->pci_device != gb->pci_device) return ga->pci_device < gb->pci_device ? -1 : 1;
  return a->mig - b->mig;
}

/* Fastest first: compute capability, then SM count (descending), then PCI. */
static int cmp_fastest(const sim_config_t *c, const cudev_t *a, const cudev_t *b) {
  const sim_gpu_t *ga = &c->gpus[a->gpu], *gb = &c->gpus[b->gpu];
  int cca = ga->cc_major * 100 + ga->cc_minor, ccb = gb->cc_major * 100 + gb->cc_minor;
  if (cca != ccb) return ccb - cca;
  int sa = entry_sms(c, a), sb = entry_sms(c, b);
  if (sa != sb) return sb - sa;
  return cmp_pci(c, a, b);
}

static int uuid_prefix_eq(const char *uuid, const char *prefix) {
  return strncasecmp(uuid, prefix, strlen(prefix)) == 0;
}

/* Caller holds sim_lock. Returns the number of CUDA devices. */
static int enumerate_locked(cudev_t *out) {
  const sim_config_t *c = sim_cfg;
  int phys[SIM_MAX_GPUS];
  const char *nvd = getenv("NVIDIA_VISIBLE_DEVICES");
  int nphys = sim_container_visible(nvd ? nvd : "", nvd != NULL, phys);

  /* the default enumeration: MIG-enabled GPUs contribute their MIG devices */
  cudev_t all[MAX_CU_DEVICES];
  int n = 0;
  for (int i = 0; i < nphys; i++) {
    const sim_gpu_t *g = &c->gpus[phys[i]];
    if (g->mig_current == 1) {
      for (int m = 0; m < g->mig_count && n < MAX_CU_DEVICES; m++) all[n++] = (cudev_t){phys[i], m};
    } else if (n < MAX_CU_DEVICES) {
      all[n++] = (cudev_t){phys[i], -1};
    }
  }
  const char *order = getenv("CUDA_DEVICE_ORDER");
  int by_pci = order && strcmp(order, "PCI_BUS_ID") == 0;
  for (int i = 1; i < n; i++) { /* insertion sort, n <= 64 */
    cudev_t x = all[i];
    int j = i - 1;
    while (j >= 0 && (by_pci ? cmp_pci(c, &all[j], &x) : cmp_fastest(c, &all[j], &x)) > 0) {
      all[j + 1] = all[j];
      j--;
    }
    all[j + 1] = x;
  }

  const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
  if (!cvd) {
    memcpy(out, all, sizeof(cudev_t) * (size_t)n);
    return n;
  }
  char buf[4096];
  sim_strlcpy(buf, cvd, sizeof buf);
  int count = 0;
  char *p = buf;
  while (p && *p) {
    char *comma = strchr(p, ',');
    if (comma) *comma = 0;
    char *tok = p;
    p = comma ? comma + 1 : NULL;
    while (*tok == ' ' || *tok == '\t') tok++;
    char *e = tok + strlen(tok);
    while (e > tok && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n')) *--e = 0;
    if (!*tok) break;

    cudev_t pick = {-1, -1};
    int matches = 0;
    size_t digits = strspn(tok, "0123456789");
    if (digits == strlen(tok)) {
      long ord = strtol(tok, NULL, 10);
      if (ord < n) pick = all[ord], matches = 1;
    } else if (strncasecmp(tok, "MIG-GPU-", 8) == 0) {
      /* MIG-GPU-<uuid>/<gi>/<ci> */
      char gpu_uuid[SIM_STR];
      unsigned gi, ci;
      const char *slash = strchr(tok, '/');
      if (slash && (size_t)(slash - tok - 4) < sizeof gpu_uuid && sscanf(slash, "/%u/%u", &gi, &ci) == 2) {
        snprintf(gpu_uuid, sizeof gpu_uuid, "%.*s", (int)(slash - tok - 4), tok + 4);
        for (int i = 0; i < n; i++) {
          const sim_gpu_t *g = &c->gpus[all[i].gpu];
          if (all[i].mig >= 0 && strcasecmp(g->uuid, gpu_uuid) == 0 &&
              g->mig[all[i].mig].gpu_instance_id == gi && g->mig[all[i].mig].compute_instance_id == ci)
            pick = all[i], matches++;
        }
      }
    } else if (strncasecmp(tok, "MIG-", 4) == 0) {
      for (int i = 0; i < n; i++) {
        if (all[i].mig < 0) continue;
        if (uuid_prefix_eq(c->gpus[all[i].gpu].mig[all[i].mig].uuid, tok)) pick = all[i], matches++;
      }
    } else {
      char prefix[SIM_STR + 8];
      if (strncasecmp(tok, "GPU-", 4) == 0)
        sim_strlcpy(prefix, tok, sizeof prefix);
      else
        snprintf(prefix, sizeof prefix, "GPU-%.96s", tok);
      int gpu = -1;
      for (int i = 0; i < nphys; i++) {
        if (uuid_prefix_eq(c->gpus[phys[i]].uuid, prefix)) gpu = phys[i], matches++;
      }
      if (matches == 1) {
        /* a MIG-enabled GPU named by its own UUID stands for its first MIG device */
        matches = 0;
        for (int i = 0; i < n && !matches; i++)
          if (all[i].gpu == gpu && all[i].mig <= 0) pick = all[i], matches = 1;
      }
    }
    if (matches != 1) break; /* the first entry that names nothing ends the list */
    int dup = 0;
    for (int i = 0; i < count; i++)
      if (out[i].gpu == pick.gpu && out[i].mig == pick.mig) dup = 1;
    if (dup) break;
    out[count++] = pick;
  }
  return count;
}

/* ------------------------------------------------------------------ */
/* init, version, errors                                                */

static CUresult do_init(unsigned int flags) {
  pthread_mutex_lock(&init_lock);
  int load_failed = 0;
  /* like the real driver, later cuInit calls keep the first enumeration,
   * unless the process switched to another scenario in between */
  int switched = initialized() && sim_scenario_env_changed();
  if (!initialized() || switched) load_failed = sim_on_init();
  if (switched) __atomic_store_n(&cu_initialized, 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&init_lock);

  int rc = sim_faults_apply(FN(cuInit), -1, NULL);
  if (rc) return rc;
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (load_failed) return CUDA_ERROR_UNKNOWN;

  pthread_mutex_lock(&init_lock);
  if (!initialized()) {
    pthread_mutex_lock(&sim_lock);
    cu_count = enumerate_locked(cu_devs);
    pthread_mutex_unlock(&sim_lock);
    if (cu_count == 0) {
      pthread_mutex_unlock(&init_lock);
      return CUDA_ERROR_NO_DEVICE;
    }
    for (int i = 0; i < cu_count; i++) contexts[i].dev = i;
    __atomic_store_n(&cu_initialized, 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&init_lock);
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuInit(unsigned int flags) { CALL(cuInit, do_init(flags)); }

static CUresult driver_version(int *v) {
  /* like the real driver, this works before cuInit */
  int rc = sim_faults_apply(FN(cuDriverGetVersion), -1, NULL);
  if (rc) return rc;
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&sim_lock);
  *v = sim_cfg->cuda_driver_version;
  UNLOCK_RETURN(CUDA_SUCCESS);
}

SIM_EXPORT CUresult cuDriverGetVersion(int *driverVersion) { CALL(cuDriverGetVersion, driver_version(driverVersion)); }

static CUresult error_text(CUresult error, const char **s, int name) {
  if (!s) return CUDA_ERROR_INVALID_VALUE;
  *s = name ? sim_cuda_error_name(error) : sim_cuda_error_string(error);
  return *s ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

SIM_EXPORT CUresult cuGetErrorName(CUresult error, const char **pStr) { CALL(cuGetErrorName, error_text(error, pStr, 1)); }

SIM_EXPORT CUresult cuGetErrorString(CUresult error, const char **pStr) {
  CALL(cuGetErrorString, error_text(error, pStr, 0));
}

/* ------------------------------------------------------------------ */
/* devices                                                              */

static CUresult device_count(int *count) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  int rc = sim_faults_apply(FN(cuDeviceGetCount), -1, NULL);
  if (rc) return rc;
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  *count = cu_count;
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDeviceGetCount(int *count) { CALL(cuDeviceGetCount, device_count(count)); }

static CUresult device_get(CUdevice *device, int ordinal) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  if (ordinal < 0 || ordinal >= cu_count) {
    int rc = sim_faults_apply(FN(cuDeviceGet), -1, NULL);
    return rc ? rc : CUDA_ERROR_INVALID_DEVICE;
  }
  int rc = sim_faults_apply(FN(cuDeviceGet), cu_devs[ordinal].gpu, NULL);
  if (rc) return rc;
  *device = ordinal;
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal) { CALL(cuDeviceGet, device_get(device, ordinal)); }

/* On success returns with sim_lock HELD and *g / *m set (m NULL for a whole GPU). */
static CUresult dev_begin(int fn, CUdevice dev, sim_gpu_t **g, sim_mig_t **m, sim_fault_hit_t *hit_out) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (dev < 0 || dev >= cu_count) return CUDA_ERROR_INVALID_DEVICE;
  sim_fault_hit_t hit;
  int rc = sim_faults_apply(fn, cu_devs[dev].gpu, &hit);
  if (hit_out) *hit_out = hit;
  if (rc) return rc;
  pthread_mutex_lock(&sim_lock);
  const cudev_t *e = &cu_devs[dev];
  if (e->gpu >= sim_cfg->gpu_count || (e->mig >= 0 && e->mig >= sim_cfg->gpus[e->gpu].mig_count)) {
    pthread_mutex_unlock(&sim_lock);
    return CUDA_ERROR_INVALID_DEVICE;
  }
  *g = &sim_cfg->gpus[e->gpu];
  *m = e->mig >= 0 ? &(*g)->mig[e->mig] : NULL;
  return CUDA_SUCCESS;
}

static CUresult device_name(char *name, int len, CUdevice dev) {
  sim_gpu_t *g;
  sim_mig_t *m;
  CUresult rc = dev_begin(FN(cuDeviceGetName), dev, &g, &m, NULL);
  if (rc) return rc;
  if (!name || len <= 0) UNLOCK_RETURN(CUDA_ERROR_INVALID_VALUE);
  sim_strlcpy(name, m ? m->name : g->name, (size_t)len);
  UNLOCK_RETURN(CUDA_SUCCESS);
}

SIM_EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice dev) {
  CALL(cuDeviceGetName, device_name(name, len, dev));
}

static CUresult device_uuid(int fn, CUuuid *uuid, CUdevice dev, int v2) {
  sim_gpu_t *g;
  sim_mig_t *m;
  CUresult rc = dev_begin(fn, dev, &g, &m, NULL);
  if (rc) return rc;
  if (!uuid) UNLOCK_RETURN(CUDA_ERROR_INVALID_VALUE);
  unsigned char b[16];
  /* the older entry point reports the parent GPU of a MIG device */
  if (sim_parse_uuid_bytes(v2 && m ? m->uuid : g->uuid, b)) UNLOCK_RETURN(CUDA_ERROR_UNKNOWN);
  memcpy(uuid->bytes, b, 16);
  UNLOCK_RETURN(CUDA_SUCCESS);
}

SIM_EXPORT CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev) {
  CALL(cuDeviceGetUuid, device_uuid(FN(cuDeviceGetUuid), uuid, dev, 0));
}

#ifndef GPU_SIM_LEGACY
SIM_EXPORT CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev) {
  CALL(cuDeviceGetUuid_v2, device_uuid(FN(cuDeviceGetUuid_v2), uuid, dev, 1));
}
#endif

static CUresult pci_bus_id(char *out, int len, CUdevice dev) {
  sim_gpu_t *g;
  sim_mig_t *m;
  CUresult rc = dev_begin(FN(cuDeviceGetPCIBusId), dev, &g, &m, NULL);
  if (rc) return rc;
  if (!out || len <= 0) UNLOCK_RETURN(CUDA_ERROR_INVALID_VALUE);
  snprintf(out, (size_t)len, "%04X:%02X:%02X.0", g->pci_domain & 0xFFFF, g->pci_bus, g->pci_device);
  UNLOCK_RETURN(CUDA_SUCCESS);
}

SIM_EXPORT CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev) {
  CALL(cuDeviceGetPCIBusId, pci_bus_id(pciBusId, len, dev));
}

/* Caller holds sim_lock. */
static int64_t cuda_total(const sim_gpu_t *g, const sim_mig_t *m) {
  if (m) return m->memory_total - m->memory_reserved;
  if (g->cuda_memory_total != SIM_NA) return g->cuda_memory_total;
  if (g->memory_total == SIM_NA) return 0;
  return g->memory_total - g->memory_reserved;
}

static CUresult total_mem(size_t *bytes, CUdevice dev) {
  sim_gpu_t *g;
  sim_mig_t *m;
  CUresult rc = dev_begin(FN(cuDeviceTotalMem_v2), dev, &g, &m, NULL);
  if (rc) return rc;
  if (!bytes) UNLOCK_RETURN(CUDA_ERROR_INVALID_VALUE);
  *bytes = (size_t)cuda_total(g, m);
  UNLOCK_RETURN(CUDA_SUCCESS);
}

SIM_EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev) { CALL(cuDeviceTotalMem_v2, total_mem(bytes, dev)); }

static int attribute_value(const sim_gpu_t *g, const sim_mig_t *m, int attr, int *out) {
  int cc = g->cc_major * 10 + g->cc_minor;
  int64_t v;
  switch (attr) {
  case 1: v = 1024; break;              /* MAX_THREADS_PER_BLOCK */
  case 2: case 3: v = 1024; break;      /* MAX_BLOCK_DIM_X/Y */
  case 4: v = 64; break;                /* MAX_BLOCK_DIM_Z */
  case 5: v = 2147483647; break;        /* MAX_GRID_DIM_X */
  case 6: case 7: v = 65535; break;     /* MAX_GRID_DIM_Y/Z */
  case 8: v = 49152; break;             /* MAX_SHARED_MEMORY_PER_BLOCK */
  case 9: v = 65536; break;             /* TOTAL_CONSTANT_MEMORY */
  case 10: v = 32; break;               /* WARP_SIZE */
  case 12: v = 65536; break;            /* MAX_REGISTERS_PER_BLOCK */
  case 13: v = (g->clock_sm == SIM_NA ? 0 : g->clock_sm) * 1000; break; /* CLOCK_RATE kHz */
  case 15: v = 1; break;                /* GPU_OVERLAP */
  case 16: v = m ? m->multiprocessor_count : g->multiprocessor_count; break;
  case 17: case 18: v = 0; break;       /* KERNEL_EXEC_TIMEOUT, INTEGRATED */
  case 19: v = 1; break;                /* CAN_MAP_HOST_MEMORY */
  case 20: v = 0; break;                /* COMPUTE_MODE default */
  case 31: v = 1; break;                /* CONCURRENT_KERNELS */
  case 32: v = g->ecc_current == 1; break; /* ECC_ENABLED */
  case 33: v = g->pci_bus; break;
  case 34: v = g->pci_device; break;
  case 35: v = 0; break;                /* TCC_DRIVER */
  case 36: v = (g->clock_memory == SIM_NA ? 0 : g->clock_memory) * 1000; break; /* MEMORY_CLOCK_RATE kHz */
  case 37: v = cc >= 80 ? 5120 : 256; break; /* GLOBAL_MEMORY_BUS_WIDTH */
  case 38: v = cc >= 90 ? 52428800 : cc >= 80 ? 41943040 : 4194304; break; /* L2_CACHE_SIZE */
  case 39: v = cc == 75 ? 1024 : 2048; break; /* MAX_THREADS_PER_MULTIPROCESSOR */
  case 40: v = 2; break;                /* ASYNC_ENGINE_COUNT */
  case 41: v = 1; break;                /* UNIFIED_ADDRESSING */
  case 50: v = g->pci_domain; break;
  case 75: v = g->cc_major; break;
  case 76: v = g->cc_minor; break;
  case 83: v = 1; break;                /* MANAGED_MEMORY */
  default: return -1;
  }
  *out = (int)v;
  return 0;
}

static CUresult get_attribute(int *pi, CUdevice_attribute attrib, CUdevice dev) {
  sim_gpu_t *g;
  sim_mig_t *m;
  CUresult rc = dev_begin(FN(cuDeviceGetAttribute), dev, &g, &m, NULL);
  if (rc) return rc;
  if (!pi || attribute_value(g, m, attrib, pi)) UNLOCK_RETURN(CUDA_ERROR_INVALID_VALUE);
  UNLOCK_RETURN(CUDA_SUCCESS);
}

SIM_EXPORT CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev) {
  CALL(cuDeviceGetAttribute, get_attribute(pi, attrib, dev));
}

/* ------------------------------------------------------------------ */
/* contexts                                                             */

static void free_device_allocations(int dev) {
  pthread_mutex_lock(&alloc_lock);
  alloc_t **pp = &allocs;
  while (*pp) {
    alloc_t *a = *pp;
    if (a->dev == dev) {
      *pp = a->next;
      free(a->base);
      free(a);
    } else {
      pp = &a->next;
    }
  }
  allocated[dev] = 0;
  pthread_mutex_unlock(&alloc_lock);
}

static CUresult ctx_retain(CUcontext *pctx, CUdevice dev) {
  sim_gpu_t *g;
  sim_mig_t *m;
  CUresult rc = dev_begin(FN(cuDevicePrimaryCtxRetain), dev, &g, &m, NULL);
  if (rc) return rc;
  if (!pctx) UNLOCK_RETURN(CUDA_ERROR_INVALID_VALUE);
  contexts[dev].refcount++;
  *pctx = &contexts[dev];
  UNLOCK_RETURN(CUDA_SUCCESS);
}

SIM_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) {
  CALL(cuDevicePrimaryCtxRetain, ctx_retain(pctx, dev));
}

static CUresult ctx_release(CUdevice dev) {
  sim_gpu_t *g;
  sim_mig_t *m;
  CUresult rc = dev_begin(FN(cuDevicePrimaryCtxRelease_v2), dev, &g, &m, NULL);
  if (rc) return rc;
  if (contexts[dev].refcount <= 0) UNLOCK_RETURN(CUDA_ERROR_INVALID_CONTEXT);
  int last = --contexts[dev].refcount == 0;
  pthread_mutex_unlock(&sim_lock);
  if (last) free_device_allocations(dev); /* the primary context is destroyed with its memory */
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  CALL(cuDevicePrimaryCtxRelease_v2, ctx_release(dev));
}

static int valid_ctx(CUcontext ctx) {
  uintptr_t p = (uintptr_t)ctx, c0 = (uintptr_t)contexts, c1 = c0 + sizeof contexts;
  return ctx && p >= c0 && p < c1 && (p - c0) % sizeof(struct CUctx_st) == 0 && ctx->dev < cu_count;
}

/* The calling thread's current context, checked to be alive. */
static CUresult current_ctx(struct CUctx_st **out) {
  struct CUctx_st *c = ctx_depth > 0 ? ctx_stack[ctx_depth - 1] : NULL;
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  pthread_mutex_lock(&sim_lock);
  int alive = c->refcount > 0;
  pthread_mutex_unlock(&sim_lock);
  if (!alive) return CUDA_ERROR_CONTEXT_IS_DESTROYED;
  *out = c;
  return CUDA_SUCCESS;
}

static CUresult ctx_faults(int fn, CUcontext ctx, sim_fault_hit_t *hit) {
  sim_fault_hit_t local;
  return sim_faults_apply(fn, ctx ? cu_devs[ctx->dev].gpu : -1, hit ? hit : &local);
}

static CUresult ctx_set(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx && !valid_ctx(ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  CUresult rc = ctx_faults(FN(cuCtxSetCurrent), ctx, NULL);
  if (rc) return rc;
  if (!ctx) {
    if (ctx_depth > 0) ctx_depth--;
  } else if (ctx_depth == 0) {
    ctx_stack[ctx_depth++] = ctx;
  } else {
    ctx_stack[ctx_depth - 1] = ctx;
  }
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) { CALL(cuCtxSetCurrent, ctx_set(ctx)); }

static CUresult ctx_get(CUcontext *pctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  CUcontext cur = ctx_depth > 0 ? ctx_stack[ctx_depth - 1] : NULL;
  CUresult rc = ctx_faults(FN(cuCtxGetCurrent), cur, NULL);
  if (rc) return rc;
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  *pctx = cur;
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuCtxGetCurrent(CUcontext *pctx) { CALL(cuCtxGetCurrent, ctx_get(pctx)); }

static CUresult ctx_push(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!valid_ctx(ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  CUresult rc = ctx_faults(FN(cuCtxPushCurrent_v2), ctx, NULL);
  if (rc) return rc;
  if (ctx_depth >= MAX_CTX_STACK) return CUDA_ERROR_OUT_OF_MEMORY;
  ctx_stack[ctx_depth++] = ctx;
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuCtxPushCurrent_v2(CUcontext ctx) { CALL(cuCtxPushCurrent_v2, ctx_push(ctx)); }

static CUresult ctx_pop(CUcontext *pctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  CUcontext cur = ctx_depth > 0 ? ctx_stack[ctx_depth - 1] : NULL;
  CUresult rc = ctx_faults(FN(cuCtxPopCurrent_v2), cur, NULL);
  if (rc) return rc;
  if (!cur) return CUDA_ERROR_INVALID_CONTEXT;
  ctx_depth--;
  if (pctx) *pctx = cur;
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuCtxPopCurrent_v2(CUcontext *pctx) { CALL(cuCtxPopCurrent_v2, ctx_pop(pctx)); }

static CUresult ctx_sync(void) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  struct CUctx_st *c;
  CUresult rc = current_ctx(&c);
  if (rc) return rc;
  return ctx_faults(FN(cuCtxSynchronize), c, NULL);
}

SIM_EXPORT CUresult cuCtxSynchronize(void) { CALL(cuCtxSynchronize, ctx_sync()); }

/* ------------------------------------------------------------------ */
/* memory                                                               */

/* Caller holds alloc_lock. The allocation holding [p, p + n). */
static alloc_t *find_range(CUdeviceptr p, size_t n) {
  for (alloc_t *a = allocs; a; a = a->next) {
    uintptr_t b = (uintptr_t)a->base;
    if (p >= b && p < b + a->size && n <= a->size - (p - b)) return a;
  }
  return NULL;
}

static CUresult mem_alloc(CUdeviceptr *dptr, size_t size) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  struct CUctx_st *c;
  CUresult rc = current_ctx(&c);
  if (rc) return rc;
  rc = ctx_faults(FN(cuMemAlloc_v2), c, NULL);
  if (rc) return rc;
  if (!dptr || size == 0) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&sim_lock);
  const cudev_t *e = &cu_devs[c->dev];
  int64_t limit = 0;
  if (e->gpu < sim_cfg->gpu_count) {
    const sim_gpu_t *g = &sim_cfg->gpus[e->gpu];
    const sim_mig_t *m = e->mig >= 0 && e->mig < g->mig_count ? &g->mig[e->mig] : NULL;
    limit = cuda_total(g, m) - (m ? m->memory_used : g->memory_used);
  }
  pthread_mutex_unlock(&sim_lock);
  pthread_mutex_lock(&alloc_lock);
  if ((int64_t)size > limit - allocated[c->dev]) {
    pthread_mutex_unlock(&alloc_lock);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  void *mem = NULL;
  alloc_t *a = malloc(sizeof *a);
  size_t rounded = (size + 255) & ~(size_t)255;
  if (!a || posix_memalign(&mem, 256, rounded) != 0) {
    free(a);
    pthread_mutex_unlock(&alloc_lock);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  a->base = mem;
  a->size = size;
  a->dev = c->dev;
  a->next = allocs;
  allocs = a;
  allocated[c->dev] += (int64_t)size;
  *dptr = (CUdeviceptr)(uintptr_t)mem;
  pthread_mutex_unlock(&alloc_lock);
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize) { CALL(cuMemAlloc_v2, mem_alloc(dptr, bytesize)); }

/* Device of the allocation holding p, or -1. */
static int device_of(CUdeviceptr p, size_t n) {
  pthread_mutex_lock(&alloc_lock);
  alloc_t *a = find_range(p, n);
  int dev = a ? a->dev : -1;
  pthread_mutex_unlock(&alloc_lock);
  return dev;
}

/* Context check plus faults for the GPU that owns the memory. */
static CUresult mem_begin(int fn, CUdeviceptr p, size_t n, sim_fault_hit_t *hit) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  struct CUctx_st *c;
  CUresult rc = current_ctx(&c);
  if (rc) return rc;
  int dev = device_of(p, n);
  return sim_faults_apply(fn, dev >= 0 ? cu_devs[dev].gpu : cu_devs[c->dev].gpu, hit);
}

static CUresult mem_free(CUdeviceptr p) {
  sim_fault_hit_t hit;
  CUresult rc = mem_begin(FN(cuMemFree_v2), p, 0, &hit);
  if (rc) return rc;
  pthread_mutex_lock(&alloc_lock);
  for (alloc_t **pp = &allocs; *pp; pp = &(*pp)->next) {
    alloc_t *a = *pp;
    if ((uintptr_t)a->base == p) {
      *pp = a->next;
      allocated[a->dev] -= (int64_t)a->size;
      free(a->base);
      free(a);
      pthread_mutex_unlock(&alloc_lock);
      return CUDA_SUCCESS;
    }
  }
  pthread_mutex_unlock(&alloc_lock);
  return CUDA_ERROR_INVALID_VALUE;
}

SIM_EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) { CALL(cuMemFree_v2, mem_free(dptr)); }

static CUresult mem_set(CUdeviceptr dst, unsigned char value, size_t n) {
  sim_fault_hit_t hit;
  CUresult rc = mem_begin(FN(cuMemsetD8_v2), dst, n, &hit);
  if (rc) return rc;
  pthread_mutex_lock(&alloc_lock);
  if (!find_range(dst, n)) {
    pthread_mutex_unlock(&alloc_lock);
    return CUDA_ERROR_INVALID_VALUE;
  }
  memset((void *)(uintptr_t)dst, value, n);
  pthread_mutex_unlock(&alloc_lock);
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N) {
  CALL(cuMemsetD8_v2, mem_set(dstDevice, uc, N));
}

static CUresult copy_dtoh(void *dst, CUdeviceptr src, size_t n) {
  sim_fault_hit_t hit;
  CUresult rc = mem_begin(FN(cuMemcpyDtoH_v2), src, n, &hit);
  if (rc) return rc;
  if (!dst && n) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&alloc_lock);
  if (!find_range(src, n)) {
    pthread_mutex_unlock(&alloc_lock);
    return CUDA_ERROR_INVALID_VALUE;
  }
  memcpy(dst, (const void *)(uintptr_t)src, n);
  pthread_mutex_unlock(&alloc_lock);
  if (hit.corrupt && n > 0) {
    size_t off = (size_t)hit.corrupt_offset < n ? (size_t)hit.corrupt_offset : n - 1;
    ((unsigned char *)dst)[off] ^= 0xFF; /* silent corruption: one byte flipped */
  }
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount) {
  CALL(cuMemcpyDtoH_v2, copy_dtoh(dstHost, srcDevice, ByteCount));
}

static CUresult copy_htod(CUdeviceptr dst, const void *src, size_t n) {
  sim_fault_hit_t hit;
  CUresult rc = mem_begin(FN(cuMemcpyHtoD_v2), dst, n, &hit);
  if (rc) return rc;
  if (!src && n) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&alloc_lock);
  if (!find_range(dst, n)) {
    pthread_mutex_unlock(&alloc_lock);
    return CUDA_ERROR_INVALID_VALUE;
  }
  memcpy((void *)(uintptr_t)dst, src, n);
  pthread_mutex_unlock(&alloc_lock);
  return CUDA_SUCCESS;
}

SIM_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount) {
  CALL(cuMemcpyHtoD_v2, copy_htod(dstDevice, srcHost, ByteCount));
}

/* ------------------------------------------------------------------ */

SIM_EXPORT const char *gpuSimDescribe(void) { return sim_describe(); }
