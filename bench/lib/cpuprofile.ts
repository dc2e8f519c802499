/** A node of a V8 CPU profile (`node --cpu-prof`, or the inspector's Profiler.stop). */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** µs on CLOCK_MONOTONIC, the clock of process.hrtime. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/@nestjs/core/...` → `@nestjs/core`; our own code by its folder. */
export function packageOf(url: string): string {
  if (url === '') return '(native / V8)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (built-in)';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `service: ${url.slice(dist + 6).split('/').slice(0, -1).join('/')}`;
  return url.replace(/^file:\/\//, '');
}

/**
 * Self time of the samples taken between `fromUs` and `toUs` (monotonic µs), by package and by
 * function; with `requests` (answered in that window), also main-thread µs per request.
 */
export function summarizeProfile(profile: CpuProfile, fromUs: number, toUs: number, requests = 0, top = 25): string {
  const hitsById = new Map<number, number>();
  let t = profile.startTime;
  let totalSamples = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < fromUs || t > toUs) continue;
    totalSamples++;
    hitsById.set(profile.samples[i]!, (hitsById.get(profile.samples[i]!) ?? 0) + 1);
  }
  const totalUs = toUs - fromUs;
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = hitsById.get(node.id) ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const pkg = functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)' ? functionName : packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
    const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  const idle = byPackage.get('(idle)') ?? 0;
  const busy = totalSamples - idle;
  // Main-thread µs per request for `hits` samples: the busy share of the window, per request.
  const perRequest = (hits: number): string => (requests > 0 ? `${((hits / totalSamples) * totalUs / requests).toFixed(1).padStart(7)} µs/req` : '');
  const lines = [
    `${(totalUs / 1e6).toFixed(1)} s under load, ${((busy / totalSamples) * 100).toFixed(0)} % busy on the main thread (${totalSamples} samples)${requests > 0 ? `, ${perRequest(busy).trim()} in all` : ''}.`,
    '',
    'Self time by package (share of busy time):',
    '',
  ];
  for (const [pkg, hits] of [...byPackage].filter(([p]) => p !== '(idle)').toSorted((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${((hits / busy) * 100).toFixed(1).padStart(5)} % ${perRequest(hits)}  ${pkg}`);
  }
  lines.push('', `Hottest functions (self, share of busy time):`, '');
  for (const [fn, hits] of [...byFunction].filter(([f]) => !f.startsWith('(idle)')).toSorted((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${((hits / busy) * 100).toFixed(1).padStart(5)} % ${perRequest(hits)}  ${fn}`);
  }
  return lines.join('\n');
}
