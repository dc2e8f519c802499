import { type Effect, type Finding, GPU_POLICY, type GpuReason } from './gpu.policy.js';

/** A GPU's health as probes report it. */
export type GpuStatus = 'up' | 'degraded' | 'down';

/** A finding that is in effect, with its history. */
export interface ActiveFinding extends Finding {
  effect: Effect;
  sinceMs: number;
  lastSeenMs: number;
  /** Good samples since it was last seen (transient findings clear after enough of them). */
  goodSamples: number;
  /** NVML re-initialisations done when it was last seen (hardware findings need a later one). */
  generation: number;
}

/** A change of status. */
export interface StatusChange {
  from: GpuStatus;
  to: GpuStatus;
  atMs: number;
  /** How long the GPU was in `from`, ms. */
  previousDurationMs: number;
  findings: ActiveFinding[];
}

/**
 * One GPU's findings and the status they add up to, with the hysteresis of the policy table:
 * transient findings need several good samples to clear, hardware findings a re-initialisation
 * followed by a normal answer, the others clear when the condition is gone.
 */
export class GpuHealthState {
  private readonly active = new Map<GpuReason, ActiveFinding>();
  private current: GpuStatus = 'up';
  private sinceMs: number;
  private changes = 0;

  constructor(nowMs: number) {
    this.sinceMs = nowMs;
  }

  /** Increases whenever the findings change (for caching what is derived from them). */
  get revision(): number {
    return this.changes;
  }

  get status(): GpuStatus {
    return this.current;
  }

  get statusSinceMs(): number {
    return this.sinceMs;
  }

  findings(): ActiveFinding[] {
    return [...this.active.values()];
  }

  has(reason: GpuReason): boolean {
    return this.active.has(reason);
  }

  /**
   * Applies a completed sample: `findings` is everything it showed; `answered` is false when the
   * device failed as a whole; `generation` counts NVML re-initialisations so far.
   */
  observeSample(findings: readonly Finding[], answered: boolean, generation: number, recoverySamples: number, nowMs: number): StatusChange | null {
    const seen = new Set<GpuReason>();
    for (const finding of findings) {
      seen.add(finding.reason);
      this.upsert(finding, generation, nowMs);
    }
    for (const [reason, finding] of this.active) {
      if (seen.has(reason)) continue;
      const { class: kind } = GPU_POLICY[reason];
      let clear = true;
      if (kind === 'transient') clear = ++finding.goodSamples >= recoverySamples;
      else if (kind === 'hardware') clear = answered && generation > finding.generation;
      if (clear) {
        this.active.delete(reason);
        this.changes++;
      }
    }
    return this.recompute(nowMs);
  }

  /** Raises a finding outside a sample (a call past its deadline, an XID event). */
  raise(finding: Finding, generation: number, nowMs: number): StatusChange | null {
    this.upsert(finding, generation, nowMs);
    return this.recompute(nowMs);
  }

  /** Age of the oldest restart-class finding, ms; null when there is none. */
  restartClassAgeMs(nowMs: number): number | null {
    let oldest: number | null = null;
    for (const f of this.active.values()) {
      if (GPU_POLICY[f.reason].class === 'restart') oldest = Math.min(oldest ?? f.sinceMs, f.sinceMs);
    }
    return oldest === null ? null : nowMs - oldest;
  }

  /** Whether a hardware or restart-class finding asks for NVML to be re-initialised. */
  wantsReinit(): boolean {
    for (const f of this.active.values()) {
      const kind = GPU_POLICY[f.reason].class;
      if (kind === 'hardware' || kind === 'restart' || f.reason === 'nvml_uninitialized') return true;
    }
    return false;
  }

  private upsert(finding: Finding, generation: number, nowMs: number): void {
    this.changes++;
    const existing = this.active.get(finding.reason);
    if (existing) {
      // Seen again: a hardware finding now needs a re-initialisation after this sighting.
      Object.assign(existing, finding, { lastSeenMs: nowMs, goodSamples: 0, generation });
      return;
    }
    this.active.set(finding.reason, {
      ...finding,
      effect: GPU_POLICY[finding.reason].readiness,
      sinceMs: nowMs,
      lastSeenMs: nowMs,
      goodSamples: 0,
      generation,
    });
  }

  private recompute(nowMs: number): StatusChange | null {
    let next: GpuStatus = 'up';
    for (const f of this.active.values()) {
      if (f.effect === 'fail') {
        next = 'down';
        break;
      }
      if (f.effect === 'warn') next = 'degraded';
    }
    if (next === this.current) return null;
    const change: StatusChange = {
      from: this.current,
      to: next,
      atMs: nowMs,
      previousDurationMs: nowMs - this.sinceMs,
      findings: this.findings(),
    };
    this.current = next;
    this.sinceMs = nowMs;
    return change;
  }
}
