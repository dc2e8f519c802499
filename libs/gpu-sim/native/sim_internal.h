/*
 * Shared model of the GPU simulator: scenario configuration, runtime state,
 * fault evaluation, visibility rules and counters. Compiled into both
 * libnvidia-ml.so.1 and libcuda.so.1; every symbol here is hidden.
 */
#ifndef GPU_SIM_INTERNAL_H
#define GPU_SIM_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_functions.h"

#define SIM_EXPORT __attribute__((visibility("default")))

#define SIM_MAX_GPUS 64
#define SIM_MAX_MIG 7
#define SIM_MAX_PROCS 64
#define SIM_MAX_FAULTS 128
#define SIM_MAX_XIDS 64
#define SIM_STR 96
#define SIM_UNSET_U32 0xFFFFFFFFu
#define SIM_NA INT64_MIN /* a numeric value that reads as "not supported" */

enum sim_lib { SIM_LIB_NVML = 1, SIM_LIB_CUDA = 2 };

/* Set by each library's API file. */
extern const int sim_this_lib;

typedef struct {
  uint32_t pid;
  uint64_t used_bytes;
  uint32_t gpu_instance_id;
  uint32_t compute_instance_id;
} sim_proc_t;

typedef struct {
  char uuid[SIM_STR];
  char name[SIM_STR];
  int64_t memory_total, memory_reserved, memory_used;
  uint32_t gpu_instance_id, compute_instance_id;
  int multiprocessor_count;
} sim_mig_t;

/* Temperature thresholds indexed by nvmlTemperatureThresholds_t (0..7). */
#define SIM_THRESHOLDS 8

typedef struct {
  char name[SIM_STR];
  char uuid[SIM_STR];
  char serial[SIM_STR];
  char pci_bus_id[SIM_STR]; /* canonical "%08X:%02X:%02X.0" */
  uint32_t pci_domain, pci_bus, pci_device;
  uint32_t pci_device_id, pci_subsystem_id;
  uint32_t minor_number;
  uint32_t architecture;
  int cc_major, cc_minor;
  int multiprocessor_count;
  int64_t memory_total, memory_reserved, memory_used;
  int64_t cuda_memory_total; /* SIM_NA: derived (total - reserved) */
  int64_t temperature;
  int64_t thresholds[SIM_THRESHOLDS];
  int64_t power_mw, power_limit_mw, energy_mj;
  int64_t util_gpu, util_memory;
  int64_t pstate;
  uint64_t clock_event_reasons;
  int64_t clock_sm, clock_memory, clock_graphics, clock_video;
  int64_t fan_speed; /* SIM_NA: no fan */
  int64_t fan_count; /* SIM_NA: derived (1 when fan_speed set, else 0) */
  int64_t ecc_current, ecc_pending; /* 0/1 or SIM_NA */
  int64_t ecc_counts[2][2];        /* [errorType][counterType] */
  int64_t remap_correctable, remap_uncorrectable, remap_pending, remap_failure;
  int64_t mig_current, mig_pending; /* 0/1 or SIM_NA (MIG not supported) */
  int64_t mig_max_devices;          /* SIM_NA: derived (7 when enabled) */
  uint64_t supported_event_types;
  int mig_count;
  sim_mig_t mig[SIM_MAX_MIG];
  int proc_count;
  sim_proc_t procs[SIM_MAX_PROCS];
  unsigned char unsupported[SIM_FN_COUNT];
} sim_gpu_t;

typedef struct {
  int kind; /* 0 none, 1 ms since the clock start, 2 epoch ms */
  int64_t ms;
} sim_time_t;

typedef struct {
  int lib;                            /* SIM_LIB_NVML or SIM_LIB_CUDA */
  unsigned char fns[SIM_FN_COUNT];    /* functions it applies to */
  int gpu;                            /* scenario GPU index, -1 any */
  int rc;                             /* 0: only delay/corrupt */
  int64_t delay_ms;
  int64_t after_calls;                /* active once this many matching calls passed */
  int64_t calls;                      /* active for this many calls, -1 unlimited */
  sim_time_t from, until;
  int corrupt;                        /* CUDA: flip a byte in cuMemcpyDtoH_v2 */
  int64_t corrupt_offset;
  char key[512];                      /* canonical text, used to keep state across reloads */
  uint64_t matched;                   /* runtime: matching calls so far */
  uint64_t hits;                      /* runtime: calls it has acted on */
} sim_fault_t;

typedef struct {
  int gpu;
  uint64_t xid;
  sim_time_t at;
  int64_t count; /* 0: forever */
  int64_t interval_ms;
  uint32_t gpu_instance_id, compute_instance_id;
  char key[256];
} sim_xid_t;

typedef struct {
  char driver_version[SIM_STR];
  char nvml_version[SIM_STR];
  int cuda_driver_version;
  char preset[64];     /* preset the scenario starts from, "" if none */
  char path[PATH_MAX]; /* scenario file, "" when the built-in default is used */
  int gpu_count;
  sim_gpu_t gpus[SIM_MAX_GPUS];
  int fault_count;
  sim_fault_t faults[SIM_MAX_FAULTS];
  int xid_count;
  sim_xid_t xids[SIM_MAX_XIDS];
} sim_config_t;

/* ---- scenario parsing (sim_scenario.c) ---- */
/* Loads a scenario file (path != NULL) or a named preset. Returns NULL and
 * fills err on failure. */
sim_config_t *sim_scenario_load_file(const char *path, char *err, size_t errlen);
sim_config_t *sim_scenario_load_preset(const char *name, char *err, size_t errlen);
int sim_parse_uuid_bytes(const char *uuid, unsigned char out[16]);
int sim_parse_pci_bus_id(const char *s, uint32_t *domain, uint32_t *bus, uint32_t *device);
int sim_fn_lookup(const char *name);
extern const char *const sim_fn_names[SIM_FN_COUNT];
extern const unsigned sim_fn_flags[SIM_FN_COUNT];
int sim_fn_lib(int fn);

/* ---- error tables (sim_errors.c) ---- */
const char *sim_nvml_error_string(int code);
int sim_nvml_error_code(const char *name); /* -1 if unknown */
const char *sim_cuda_error_name(int code); /* NULL if unknown */
const char *sim_cuda_error_string(int code);
int sim_cuda_error_code(const char *name);

/* ---- runtime (sim_runtime.c) ---- */
extern pthread_mutex_t sim_lock;
/* Current configuration: read only while holding sim_lock. */
extern sim_config_t *sim_cfg;

/* Called at the top of every API function: first load, reload check. */
void sim_tick(void);
/* At an initialisation: picks up a changed GPU_SIM_SCENARIO / GPU_SIM_COUNTERS,
 * starts the fault clock if not started. Returns 0 or -1 on a load error. */
int sim_on_init(void);
/* Whether GPU_SIM_SCENARIO now differs from the one the config came from. */
int sim_scenario_env_changed(void);
/* Called under sim_lock whenever a new config is installed; old_cfg is NULL
 * when the state starts afresh (new scenario), else the config it replaces. */
extern void (*sim_config_swap_hook)(sim_config_t *old_cfg, sim_config_t *new_cfg);
/* Load error text, or NULL. Caller holds sim_lock. */
const char *sim_load_error(void);

int64_t sim_mono_us(void);
int64_t sim_clock_ms(void); /* ms since the clock start (0 before it) */
int64_t sim_epoch_ms(void);
int64_t sim_time_point_ms(const sim_time_t *t); /* on the clock-start scale */
void sim_sleep_ms(int64_t ms);

typedef struct {
  int rc;
  int64_t delay_ms;
  int corrupt;
  int64_t corrupt_offset;
} sim_fault_hit_t;

/* Evaluates the faults for a call (caller holds sim_lock). gpu: scenario
 * index or -1. Counts the call towards every matching fault. */
void sim_faults_eval_locked(int fn, int gpu, sim_fault_hit_t *hit);
/* Convenience: locks, evaluates, unlocks and sleeps for the delay.
 * Returns the fault's return code (0 when none). */
int sim_faults_apply(int fn, int gpu, sim_fault_hit_t *hit);

/* Container visibility: NVIDIA_VISIBLE_DEVICES applied to the current
 * config. Fills phys[] (scenario indices in order), returns the count. */
int sim_container_visible(const char *env, int env_set, int *phys);

/* gpuSimDescribe text (caller must not free). */
const char *sim_describe(void);

/* ---- counters (sim_counters.c) ---- */
typedef struct sim_counter_slot sim_counter_slot_t;
void sim_counters_setup(const char *path); /* NULL/"" disables */
sim_counter_slot_t *sim_counter_enter(int fn, int after_shutdown);
void sim_counter_leave(sim_counter_slot_t *slot);

/* ---- helpers ---- */
size_t sim_strlcpy(char *dst, const char *src, size_t n);
int sim_streq_nocase(const char *a, const char *b);

#endif
