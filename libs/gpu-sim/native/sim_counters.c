/*
 * Per-function call counters in a shared file (env GPU_SIM_COUNTERS).
 *
 * Layout (little-endian, all offsets in bytes; documented in README.md):
 *   header, 64 bytes
 *     0   char[8]  magic "GPUSIMC1"
 *     8   u32      version (1)
 *     12  u32      header size (64)
 *     16  u32      slot count (256)
 *     20  u32      slot size (128)
 *   slot i at 64 + i * 128
 *     0   u32      state: 0 free, 1 being claimed, 2 ready
 *     8   char[56] function name, NUL-terminated
 *     64  u64      calls
 *     72  i64      calls in flight now
 *     80  i64      most calls in flight at once
 *     88  u64      calls after the last nvmlShutdown brought the refcount to 0
 * Slots are claimed with a compare-and-swap on state, so several processes
 * and both libraries can share one file.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_internal.h"

#define HEADER_SIZE 64
#define SLOT_COUNT 256
#define SLOT_SIZE 128
#define FILE_SIZE (HEADER_SIZE + SLOT_COUNT * SLOT_SIZE)

struct sim_counter_slot {
  uint32_t state;
  uint32_t pad;
  char name[56];
  uint64_t calls;
  int64_t in_flight;
  int64_t max_in_flight;
  uint64_t after_shutdown;
  char reserved[SLOT_SIZE - 96];
};

_Static_assert(sizeof(struct sim_counter_slot) == SLOT_SIZE, "slot layout");

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static char mapped_path[PATH_MAX];
static unsigned char *base;                   /* current mapping, never unmapped */
static sim_counter_slot_t *cache[SIM_FN_COUNT]; /* per function, for the current mapping */

void sim_counters_setup(const char *path) {
  if (!path) path = "";
  pthread_mutex_lock(&map_lock);
  if (strcmp(path, mapped_path) == 0) {
    pthread_mutex_unlock(&map_lock);
    return;
  }
  for (int i = 0; i < SIM_FN_COUNT; i++) __atomic_store_n(&cache[i], NULL, __ATOMIC_RELEASE);
  __atomic_store_n(&base, NULL, __ATOMIC_RELEASE);
  sim_strlcpy(mapped_path, path, sizeof mapped_path);
  if (!path[0]) {
    pthread_mutex_unlock(&map_lock);
    return;
  }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    pthread_mutex_unlock(&map_lock);
    return;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size < FILE_SIZE && ftruncate(fd, FILE_SIZE) != 0) {
    close(fd);
    pthread_mutex_unlock(&map_lock);
    return;
  }
  void *m = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    pthread_mutex_unlock(&map_lock);
    return;
  }
  unsigned char *b = m;
  /* every user writes the same header bytes: a benign race */
  static const char magic[8] = {'G', 'P', 'U', 'S', 'I', 'M', 'C', '1'};
  uint32_t hdr[4] = {1, HEADER_SIZE, SLOT_COUNT, SLOT_SIZE};
  for (int i = 0; i < 8; i++) __atomic_store_n(&b[i], (unsigned char)magic[i], __ATOMIC_RELAXED);
  for (int i = 0; i < 4; i++) __atomic_store_n((uint32_t *)(b + 8 + 4 * i), hdr[i], __ATOMIC_RELAXED);
  __atomic_store_n(&base, b, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&map_lock);
}

static sim_counter_slot_t *find_slot(unsigned char *b, const char *name) {
  for (int i = 0; i < SLOT_COUNT; i++) {
    sim_counter_slot_t *s = (sim_counter_slot_t *)(b + HEADER_SIZE + (size_t)i * SLOT_SIZE);
    uint32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    if (state == 0) {
      uint32_t expected = 0;
      if (__atomic_compare_exchange_n(&s->state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        sim_strlcpy(s->name, name, sizeof s->name);
        __atomic_store_n(&s->state, 2, __ATOMIC_RELEASE);
        return s;
      }
      state = expected;
    }
    while (state == 1) state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE); /* another claimer is writing the name */
    if (state == 2 && strncmp(s->name, name, sizeof s->name) == 0) return s;
  }
  return NULL;
}

sim_counter_slot_t *sim_counter_enter(int fn, int after_shutdown) {
  unsigned char *b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
  if (!b) return NULL;
  sim_counter_slot_t *s = __atomic_load_n(&cache[fn], __ATOMIC_ACQUIRE);
  if (!s) {
    s = find_slot(b, sim_fn_names[fn]);
    if (!s) return NULL;
    __atomic_store_n(&cache[fn], s, __ATOMIC_RELEASE);
  }
  __atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
  if (after_shutdown) __atomic_fetch_add(&s->after_shutdown, 1, __ATOMIC_RELAXED);
  int64_t now = __atomic_add_fetch(&s->in_flight, 1, __ATOMIC_ACQ_REL);
  int64_t max = __atomic_load_n(&s->max_in_flight, __ATOMIC_RELAXED);
  while (now > max &&
         !__atomic_compare_exchange_n(&s->max_in_flight, &max, now, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
  }
  return s;
}

void sim_counter_leave(sim_counter_slot_t *s) {
  if (s) __atomic_fetch_sub(&s->in_flight, 1, __ATOMIC_ACQ_REL);
}
