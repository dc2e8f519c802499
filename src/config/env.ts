import { z } from 'zod';

/** One violated configuration rule; values are never echoed (they may be secrets). */
export interface ConfigIssue {
  variable: string;
  rule: string;
}

/** The environment failed validation; every violated rule is listed. */
export class ConfigValidationError extends Error {
  override readonly name = 'ConfigValidationError';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable} ${i.rule}`).join('; ')}`);
  }
}

/** Parses `env` with `schema`, or throws ConfigValidationError naming each variable and rule. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigValidationError(
    result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), rule: issue.message })),
  );
}

// Reusable environment-variable readers. Empty strings count as unset.
const unset = (v: unknown): unknown => (v === '' ? undefined : v);

export const envInt = (min: number, max: number, fallback: number) =>
  z.preprocess(
    unset,
    z
      .string()
      .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
      .transform(Number)
      .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .default(fallback),
  );

export const envOptionalInt = (min: number, max: number) =>
  z.preprocess(
    unset,
    z
      .string()
      .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
      .transform(Number)
      .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .optional(),
  );

export const envNumber = (min: number, max: number, fallback: number) =>
  z.preprocess(
    unset,
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, `must be a number from ${min} to ${max}`)
      .transform(Number)
      .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .default(fallback),
  );

export const envBool = (fallback: boolean) =>
  z.preprocess(
    unset,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(fallback),
  );

export const envEnum = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.preprocess(unset, z.enum(values, { error: `must be one of ${values.join(', ')}` }).default(fallback));

export const envOptionalString = () => z.preprocess(unset, z.string().optional());

/** A comma-separated list of whole numbers, e.g. `13,31,43`. */
export const envIntList = (fallback: number[]) =>
  z.preprocess(
    unset,
    z
      .string()
      .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be a comma-separated list of whole numbers')
      .transform((v) => v.split(',').map((s) => Number(s.trim())))
      .default(fallback),
  );
