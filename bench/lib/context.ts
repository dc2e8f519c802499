import type { BenchOptions } from './options.js';
import type { CorePlan } from './proc.js';

/** What every suite gets: options, the core plan, progress logging and the time budget. */
export class BenchContext {
  private readonly started = performance.now();

  constructor(
    readonly options: BenchOptions,
    readonly plan: CorePlan,
  ) {}

  elapsedS(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Progress goes to stderr; stdout carries the report at the end. */
  log(message: string): void {
    process.stderr.write(`[bench ${this.elapsedS().toFixed(0).padStart(4)} s] ${message}\n`);
  }

  /** True once the run has used its time budget: later work is skipped (and says so). */
  overBudget(): boolean {
    return this.elapsedS() > this.options.budgetSeconds;
  }
}
