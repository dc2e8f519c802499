import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';

/**
 * Whether the process is draining after SIGTERM. From the moment it starts, readiness answers
 * 503 `shutting_down` so load balancers stop sending traffic, while liveness stays 200.
 */
@Injectable()
export class ShutdownState {
  private sinceMs: number | null = null;
  private signal: string | null = null;

  constructor(private readonly indicators: HealthIndicatorService) {}

  begin(signal: string): void {
    this.sinceMs ??= Date.now();
    this.signal ??= signal;
  }

  get draining(): boolean {
    return this.sinceMs !== null;
  }

  check(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    if (this.sinceMs === null) return check.up();
    return check.down({ reason: 'shutting_down', signal: this.signal, since: new Date(this.sinceMs).toISOString() });
  }
}
