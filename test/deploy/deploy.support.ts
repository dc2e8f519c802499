import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parseDocument, type Tags } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Runs a command in the repository root; on failure the error names the command and its output. */
export function run(file: string, args: readonly string[], options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(file, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...options }) as string;
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed (exit ${e.status ?? '?'}):\n${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: error });
  }
}

/** Compose's own YAML tags: `!reset` drops an inherited value, `!override` replaces it. */
const keep = <T>(value: T): T => value;
export const COMPOSE_TAGS: Tags = [
  { tag: '!reset', collection: 'seq', resolve: keep },
  { tag: '!reset', collection: 'map', resolve: keep },
  { tag: '!reset', resolve: (value: string) => value },
  { tag: '!override', collection: 'seq', resolve: keep },
  { tag: '!override', collection: 'map', resolve: keep },
];

/** Parses one YAML document strictly: any YAML error or warning fails. */
export function parseYaml<T = unknown>(text: string, name: string, customTags: Tags = []): T {
  const doc = parseDocument(text, { customTags, prettyErrors: true, uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) throw new Error(`${name}: ${problems.map((p) => p.message).join('\n')}`);
  return doc.toJS() as T;
}

/** Parses a multi-document YAML stream (kubectl kustomize output). */
export function parseYamlStream<T = unknown>(text: string, name: string): T[] {
  return parseAllDocuments(text, { uniqueKeys: true }).flatMap((doc) => {
    if ('errors' in doc && doc.errors.length > 0) throw new Error(`${name}: ${doc.errors.map((e) => e.message).join('\n')}`);
    const value = doc.toJS() as T | null;
    return value === null ? [] : [value];
  });
}

/** A Go duration as Compose writes them (1m30s, 500ms) in milliseconds. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  let total = 0;
  let rest = text.trim();
  if (rest === '') throw new Error('empty duration');
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/.exec(rest);
    if (!m) throw new Error(`not a duration: ${text}`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}
