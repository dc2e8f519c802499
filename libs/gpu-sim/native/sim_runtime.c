/*
 * Runtime shared by both libraries: lazy scenario load, reload on file change,
 * the fault clock, fault evaluation, container visibility and gpuSimDescribe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "sim_internal.h"

pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
sim_config_t *sim_cfg;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* All below guarded by sim_lock. */
static char load_error[1024];   /* non-empty: the scenario could not be loaded */
static char env_scenario[PATH_MAX]; /* GPU_SIM_SCENARIO the current config came from ("" = default) */
static struct {
  int valid;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} watched;
static char *describe_text;
static const sim_config_t *describe_for;

/* Lock-free. */
static int64_t last_check_us;
static int reloading;
static int64_t clock_start_us; /* 0: not started */

void (*sim_config_swap_hook)(sim_config_t *old_cfg, sim_config_t *new_cfg);

int64_t sim_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sim_epoch_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sim_clock_ms(void) {
  int64_t start = __atomic_load_n(&clock_start_us, __ATOMIC_ACQUIRE);
  if (!start) return 0;
  return (sim_mono_us() - start) / 1000;
}

int64_t sim_time_point_ms(const sim_time_t *t) {
  if (t->kind == 2) return t->ms - sim_epoch_ms() + sim_clock_ms();
  return t->ms;
}

void sim_sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static void log_error(const char *msg) { fprintf(stderr, "gpu-sim: %s\n", msg); }

static void remember_file(const char *path) {
  struct stat st;
  if (path[0] && stat(path, &st) == 0) {
    watched.valid = 1;
    watched.dev = st.st_dev;
    watched.ino = st.st_ino;
    watched.size = st.st_size;
    watched.mtime = st.st_mtim;
  } else {
    watched.valid = 0;
  }
}

/* Loads the config named by env (NULL/"" = default preset). */
static sim_config_t *load_for_env(const char *env, char *err, size_t errlen) {
  if (env && env[0]) return sim_scenario_load_file(env, err, errlen);
  return sim_scenario_load_preset("h200", err, errlen);
}

static sim_config_t *empty_config(void) {
  char err[64];
  sim_config_t *c = sim_scenario_load_preset("empty", err, sizeof err);
  if (!c) {
    c = calloc(1, sizeof *c);
    if (!c) abort();
  }
  c->preset[0] = 0;
  return c;
}

/* Carries runtime state (fault call counts) over to a new config for
 * faults whose definition did not change. Caller holds sim_lock. */
static void carry_state(const sim_config_t *old_cfg, sim_config_t *new_cfg) {
  if (!old_cfg) return;
  unsigned char used[SIM_MAX_FAULTS] = {0};
  for (int i = 0; i < new_cfg->fault_count; i++) {
    for (int j = 0; j < old_cfg->fault_count; j++) {
      if (!used[j] && strcmp(old_cfg->faults[j].key, new_cfg->faults[i].key) == 0) {
        new_cfg->faults[i].matched = old_cfg->faults[j].matched;
        new_cfg->faults[i].hits = old_cfg->faults[j].hits;
        used[j] = 1;
        break;
      }
    }
  }
}

/* Caller holds sim_lock. keep_state: a reload of the same scenario. */
static void install(sim_config_t *c, int keep_state) {
  sim_config_t *old_cfg = sim_cfg;
  if (keep_state) carry_state(old_cfg, c);
  sim_cfg = c;
  if (sim_config_swap_hook) sim_config_swap_hook(keep_state ? old_cfg : NULL, c);
  /* describe_text may still be in a caller's hands: it is kept, not freed */
  free(old_cfg);
}

static void initial_load(void) {
  char err[1024] = "";
  const char *env = getenv("GPU_SIM_SCENARIO");
  sim_counters_setup(getenv("GPU_SIM_COUNTERS"));
  sim_config_t *c = load_for_env(env, err, sizeof err);
  pthread_mutex_lock(&sim_lock);
  sim_strlcpy(env_scenario, env ? env : "", sizeof env_scenario);
  if (!c) {
    sim_strlcpy(load_error, err, sizeof load_error);
    log_error(err);
    c = empty_config();
  }
  remember_file(c->path[0] ? c->path : env_scenario);
  install(c, 0);
  pthread_mutex_unlock(&sim_lock);
  __atomic_store_n(&last_check_us, sim_mono_us(), __ATOMIC_RELEASE);
}

static void maybe_reload(void) {
  int64_t now = sim_mono_us();
  int64_t last = __atomic_load_n(&last_check_us, __ATOMIC_ACQUIRE);
  if (now - last < 50000) return;
  if (!__atomic_compare_exchange_n(&last_check_us, &last, now, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return;
  int expected = 0;
  if (!__atomic_compare_exchange_n(&reloading, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return;

  char path[PATH_MAX];
  pthread_mutex_lock(&sim_lock);
  sim_strlcpy(path, sim_cfg->path[0] ? sim_cfg->path : env_scenario, sizeof path);
  int changed = 0;
  struct stat st;
  if (path[0] && stat(path, &st) == 0) {
    changed = !watched.valid || st.st_dev != watched.dev || st.st_ino != watched.ino || st.st_size != watched.size ||
              st.st_mtim.tv_sec != watched.mtime.tv_sec || st.st_mtim.tv_nsec != watched.mtime.tv_nsec;
    if (changed) {
      watched.valid = 1;
      watched.dev = st.st_dev;
      watched.ino = st.st_ino;
      watched.size = st.st_size;
      watched.mtime = st.st_mtim;
    }
  }
  pthread_mutex_unlock(&sim_lock);

  if (changed) {
    char err[1024] = "";
    sim_config_t *c = sim_scenario_load_file(path, err, sizeof err);
    pthread_mutex_lock(&sim_lock);
    if (c) {
      load_error[0] = 0;
      install(c, 1);
    } else {
      sim_strlcpy(load_error, err, sizeof load_error);
      log_error(err);
    }
    pthread_mutex_unlock(&sim_lock);
  }
  __atomic_store_n(&reloading, 0, __ATOMIC_RELEASE);
}

void sim_tick(void) {
  pthread_once(&load_once, initial_load);
  maybe_reload();
}

int sim_on_init(void) {
  sim_tick();
  const char *env = getenv("GPU_SIM_SCENARIO");
  const char *counters = getenv("GPU_SIM_COUNTERS");
  sim_counters_setup(counters);
  int failed;
  pthread_mutex_lock(&sim_lock);
  int switch_scenario = strcmp(env ? env : "", env_scenario) != 0;
  pthread_mutex_unlock(&sim_lock);
  if (switch_scenario) {
    /* A different scenario for this init cycle: fresh state and clock. */
    char err[1024] = "";
    sim_config_t *c = load_for_env(env, err, sizeof err);
    pthread_mutex_lock(&sim_lock);
    sim_strlcpy(env_scenario, env ? env : "", sizeof env_scenario);
    if (c) {
      load_error[0] = 0;
    } else {
      sim_strlcpy(load_error, err, sizeof load_error);
      log_error(err);
      c = empty_config();
    }
    remember_file(c->path[0] ? c->path : env_scenario);
    install(c, 0);
    pthread_mutex_unlock(&sim_lock);
    __atomic_store_n(&clock_start_us, 0, __ATOMIC_RELEASE);
  }
  int64_t zero = 0;
  int64_t now = sim_mono_us();
  __atomic_compare_exchange_n(&clock_start_us, &zero, now ? now : 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  pthread_mutex_lock(&sim_lock);
  failed = load_error[0] != 0;
  pthread_mutex_unlock(&sim_lock);
  return failed ? -1 : 0;
}

int sim_scenario_env_changed(void) {
  pthread_once(&load_once, initial_load);
  const char *env = getenv("GPU_SIM_SCENARIO");
  pthread_mutex_lock(&sim_lock);
  int changed = strcmp(env ? env : "", env_scenario) != 0;
  pthread_mutex_unlock(&sim_lock);
  return changed;
}

const char *sim_load_error(void) { return load_error[0] ? load_error : NULL; }

/* ------------------------------------------------------------------ */
/* faults                                                               */

void sim_faults_eval_locked(int fn, int gpu, sim_fault_hit_t *hit) {
  memset(hit, 0, sizeof *hit);
  int64_t now = 0;
  int have_now = 0;
  for (int i = 0; i < sim_cfg->fault_count; i++) {
    sim_fault_t *f = &sim_cfg->faults[i];
    if (f->lib != sim_this_lib || !f->fns[fn]) continue;
    if (f->gpu >= 0 && f->gpu != gpu) continue;
    f->matched++;
    if ((int64_t)f->matched <= f->after_calls) continue;
    if (f->from.kind || f->until.kind) {
      if (!have_now) {
        now = sim_clock_ms();
        have_now = 1;
      }
      if (f->from.kind && now < sim_time_point_ms(&f->from)) continue;
      if (f->until.kind && now >= sim_time_point_ms(&f->until)) continue;
    }
    if (f->calls >= 0 && (int64_t)f->hits >= f->calls) continue;
    f->hits++;
    if (f->rc && !hit->rc) hit->rc = f->rc;
    hit->delay_ms += f->delay_ms;
    if (f->corrupt) {
      hit->corrupt = 1;
      hit->corrupt_offset = f->corrupt_offset;
    }
  }
}

int sim_faults_apply(int fn, int gpu, sim_fault_hit_t *hit) {
  sim_fault_hit_t local;
  if (!hit) hit = &local;
  pthread_mutex_lock(&sim_lock);
  sim_faults_eval_locked(fn, gpu, hit);
  pthread_mutex_unlock(&sim_lock);
  /* the delay is served in the calling thread, holding no lock */
  sim_sleep_ms(hit->delay_ms);
  return hit->rc;
}

/* ------------------------------------------------------------------ */
/* NVIDIA Container Toolkit visibility                                  */

int sim_container_visible(const char *env, int env_set, int *phys) {
  int n = sim_cfg->gpu_count;
  unsigned char mark[SIM_MAX_GPUS] = {0};
  if (!env_set || strcmp(env, "void") == 0 || strcmp(env, "all") == 0) {
    for (int i = 0; i < n; i++) phys[i] = i;
    return n;
  }
  char buf[4096];
  sim_strlcpy(buf, env, sizeof buf);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ' || *tok == '\t') tok++;
    char *e = tok + strlen(tok);
    while (e > tok && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
    if (!*tok || strcmp(tok, "none") == 0) continue;
    char *end;
    long idx = strtol(tok, &end, 10);
    if (end != tok && !*end) {
      if (idx >= 0 && idx < n) mark[idx] = 1;
      continue;
    }
    for (int i = 0; i < n; i++) {
      const sim_gpu_t *g = &sim_cfg->gpus[i];
      if (strcasecmp(g->uuid, tok) == 0) mark[i] = 1;
      for (int m = 0; m < g->mig_count; m++)
        if (strcasecmp(g->mig[m].uuid, tok) == 0) mark[i] = 1;
    }
  }
  int count = 0;
  for (int i = 0; i < n; i++)
    if (mark[i]) phys[count++] = i;
  return count;
}

/* ------------------------------------------------------------------ */
/* describe                                                             */

static void json_str(char *out, size_t n, const char *s) {
  size_t o = 0;
  if (o + 1 < n) out[o++] = '"';
  for (; *s && o + 7 < n; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[o++] = '\\';
      out[o++] = (char)ch;
    } else if (ch < 0x20) {
      o += (size_t)snprintf(out + o, n - o, "\\u%04x", ch);
    } else {
      out[o++] = (char)ch;
    }
  }
  if (o + 1 < n) out[o++] = '"';
  out[o < n ? o : n - 1] = 0;
}

const char *sim_describe(void) {
  sim_tick();
  pthread_mutex_lock(&sim_lock);
  if (describe_for != sim_cfg || !describe_text || (load_error[0] && !strstr(describe_text, "\"error\""))) {
    char preset[160], path[PATH_MAX * 2 + 8], err[2200];
    if (sim_cfg->preset[0])
      json_str(preset, sizeof preset, sim_cfg->preset);
    else
      sim_strlcpy(preset, "null", sizeof preset);
    if (sim_cfg->path[0])
      json_str(path, sizeof path, sim_cfg->path);
    else
      sim_strlcpy(path, "null", sizeof path);
    err[0] = 0;
    if (load_error[0]) {
      char e[2100];
      json_str(e, sizeof e, load_error);
      snprintf(err, sizeof err, ",\"error\":%s", e);
    }
    size_t len = strlen(preset) + strlen(path) + strlen(err) + 64;
    char *text = malloc(len);
    if (text) {
      snprintf(text, len, "{\"simulator\":\"gpu-sim\",\"preset\":%s,\"scenario\":%s%s}", preset, path, err);
      describe_text = text; /* earlier texts are kept alive for callers that hold them */
      describe_for = sim_cfg;
    }
  }
  const char *r = describe_text ? describe_text : "{\"simulator\":\"gpu-sim\"}";
  pthread_mutex_unlock(&sim_lock);
  return r;
}
