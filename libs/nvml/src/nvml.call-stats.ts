// Per-function NVML call statistics shared between worker threads and the main thread.
// Each worker writes its own block of a SharedArrayBuffer (one writer, no locks); readers sum
// the blocks. The block header also says which function the worker is blocked in right now,
// so a timed-out call can be named.

/** Upper bounds of the latency histogram buckets, ms (the last bucket is +Inf). */
export const NVML_LATENCY_BUCKETS_MS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000, 5000] as const;

/** `nvmlReturn_t` codes with their own error counter; others count under 'other'. */
const COUNTED_CODES = [1, 2, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16, 17, 18, 21, 25, 28, 999] as const;
const CODE_SLOT = new Map<number, number>(COUNTED_CODES.map((c, i) => [c, i]));
const OTHER_SLOT = COUNTED_CODES.length;

// [function index of the call in flight (-1 = none), its start (this thread's performance.now()),
//  this thread's performance.timeOrigin (epoch ms)]: the start is made an epoch time only when read.
const HEADER = 3;
const CALLS = 0;
const SUM_MS = 1;
const ERRORS = 2;
const BUCKETS = ERRORS + COUNTED_CODES.length + 1;
const PER_FN = BUCKETS + NVML_LATENCY_BUCKETS_MS.length + 1;

/** Statistics of one NVML function, summed over all threads. */
export interface NvmlFunctionStats {
  fn: string;
  calls: number;
  /** Total time spent in the function, ms. */
  totalMs: number;
  /** Calls that did not return NVML_SUCCESS, by `nvmlReturn_t` code (`-1` = other codes). */
  errorsByCode: Record<number, number>;
  /** Cumulative counts per `NVML_LATENCY_BUCKETS_MS` bound, then +Inf (Prometheus style). */
  cumulativeBuckets: number[];
}

/** Writer side, owned by one worker thread. */
export class CallStatsWriter {
  private readonly cells: Float64Array;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly functions: readonly string[],
  ) {
    this.cells = new Float64Array(buffer);
    this.cells[0] = -1;
    this.cells[2] = performance.timeOrigin;
  }

  /** Size in bytes of a block for `functionCount` functions. */
  static byteLength(functionCount: number): number {
    return (HEADER + functionCount * PER_FN) * Float64Array.BYTES_PER_ELEMENT;
  }

  /** Marks the start of a call to function `index`; returns the start time (ms, monotonic). */
  enter(index: number): number {
    const now = performance.now();
    this.cells[0] = index;
    this.cells[1] = now;
    return now;
  }

  /** Records the end of the call started by `enter`. */
  leave(index: number, startedAt: number, code: number): void {
    const ms = performance.now() - startedAt;
    const base = HEADER + index * PER_FN;
    const c = this.cells;
    c[0] = -1;
    c[base + CALLS]! += 1;
    c[base + SUM_MS]! += ms;
    if (code !== 0) c[base + ERRORS + (CODE_SLOT.get(code) ?? OTHER_SLOT)]! += 1;
    let bucket = 0;
    while (bucket < NVML_LATENCY_BUCKETS_MS.length && ms > NVML_LATENCY_BUCKETS_MS[bucket]!) bucket++;
    c[base + BUCKETS + bucket]! += 1;
  }

  get functionNames(): readonly string[] {
    return this.functions;
  }
}

/** Reader side: sums any number of worker blocks. */
export class CallStatsReader {
  constructor(private readonly functions: readonly string[]) {}

  /** The function a block's thread is blocked in now, and since when (epoch ms). */
  inFlight(buffer: SharedArrayBuffer): { fn: string; sinceMs: number } | null {
    const cells = new Float64Array(buffer, 0, HEADER);
    const index = cells[0]!;
    if (index < 0) return null;
    return { fn: this.functions[index] ?? `#${index}`, sinceMs: Math.floor(cells[2]! + cells[1]!) };
  }

  /** Sums the blocks; functions never called are left out. */
  summarize(buffers: Iterable<SharedArrayBuffer>): NvmlFunctionStats[] {
    const n = this.functions.length;
    const total = new Float64Array(n * PER_FN);
    for (const buffer of buffers) {
      const cells = new Float64Array(buffer, HEADER * 8, n * PER_FN);
      for (let i = 0; i < total.length; i++) total[i]! += cells[i]!;
    }
    const out: NvmlFunctionStats[] = [];
    for (let f = 0; f < n; f++) {
      const base = f * PER_FN;
      const calls = total[base + CALLS]!;
      if (calls === 0) continue;
      const errorsByCode: Record<number, number> = {};
      for (let s = 0; s <= COUNTED_CODES.length; s++) {
        const count = total[base + ERRORS + s]!;
        if (count > 0) errorsByCode[s === OTHER_SLOT ? -1 : COUNTED_CODES[s]!] = count;
      }
      const cumulativeBuckets: number[] = [];
      let running = 0;
      for (let b = 0; b <= NVML_LATENCY_BUCKETS_MS.length; b++) {
        running += total[base + BUCKETS + b]!;
        cumulativeBuckets.push(running);
      }
      out.push({ fn: this.functions[f]!, calls, totalMs: total[base + SUM_MS]!, errorsByCode, cumulativeBuckets });
    }
    return out;
  }
}
