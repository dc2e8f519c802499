import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES } from './config/index.js';
import { ExitCode } from './exit-codes.js';
import { renderPolicyTable } from './gpu/gpu.policy.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('shows the health policy table exactly as the code defines it', () => {
    const block = readme.split('<!-- policy-table:start -->')[1]?.split('<!-- policy-table:end -->')[0];
    expect(block?.trim()).toBe(renderPolicyTable());
  });

  it('documents every environment variable', () => {
    const missing = ENV_VARIABLES.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('documents every exit code', () => {
    const missing = Object.values(ExitCode).filter((code) => !readme.includes(`| ${code} |`));
    expect(missing).toEqual([]);
  });
});
