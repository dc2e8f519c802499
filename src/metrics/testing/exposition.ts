/** One sample line of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed scrape: HELP and TYPE by metric family, then every sample in order. */
export interface Exposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: PromSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** A sample value as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case). */
function parseValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  return text.trim() === '' ? Number.NaN : Number(text);
}

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly enough for tests: every line
 * must be a comment, blank, or a well-formed sample, or it throws naming the line.
 */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [, name, help] = /^# HELP (\S+) ?(.*)$/.exec(line) ?? [];
      out.help.set(name!, help ?? '');
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name, type] = /^# TYPE (\S+) (\S+)$/.exec(line) ?? [];
      out.type.set(name!, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name, body = '', value] = match;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (let m = LABEL.exec(body); m; m = LABEL.exec(body)) {
      labels[m[1]!] = unescape(m[2]!);
      consumed = LABEL.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`malformed labels: ${line}`);
    const parsed = parseValue(value!);
    if (Number.isNaN(parsed) && value!.toLowerCase() !== 'nan') throw new Error(`malformed value: ${line}`);
    out.samples.push({ name: name!, labels, value: parsed });
  }
  return out;
}

/** Samples of one metric whose labels include every label of `match`. */
export function samplesOf(exposition: Exposition, name: string, match: Record<string, string> = {}): PromSample[] {
  return exposition.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample of `name` matching `match`; throws when there is not exactly one. */
export function valueOf(exposition: Exposition, name: string, match: Record<string, string> = {}): number {
  const found = samplesOf(exposition, name, match);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
  return found[0]!.value;
}
