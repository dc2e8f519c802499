// Compares the koffi struct definitions with the layout the C compiler gives the genuine nvml.h
// (from scripts/fetch-nvidia-debian.sh), through the printer libs/nvml/abi/nvml-abi.c.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi, { type TypeObject } from 'koffi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NVML_RETURN_NAMES } from '../nvml.return-codes.js';
import { NvmlEventType } from '../nvml.types.js';
import { NVML_MEMORY_V2_VERSION, NVML_STRUCTS, structLayout } from './nvml.structs.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const headerDir = join(root, '.tools/nvidia/include');
const printer = join(root, 'libs/nvml/abi/nvml-abi.c');

interface AbiReport {
  structs: Record<string, { size: number; members: Record<string, [offset: number, size: number]> }>;
  constants: Record<string, number>;
}

interface Layout {
  size: number;
  offsets: Record<string, number>;
  memberSizes: Record<string, number>;
}

/** Layout of a koffi definition: `structLayout()` plus the size of each member's type. */
function koffiLayout(definition: TypeObject): Layout {
  const memberSizes = Object.fromEntries(
    Object.entries(definition.members ?? {}).map(([name, m]) => [name, koffi.sizeof(m.type)]),
  );
  return { ...structLayout(definition), memberSizes };
}

/** Layout nvml.h gives a struct, in the same shape. */
function headerLayout({ size, members }: AbiReport['structs'][string]): Layout {
  const entries = Object.entries(members);
  return {
    size,
    offsets: Object.fromEntries(entries.map(([name, [offset]]) => [name, offset])),
    memberSizes: Object.fromEntries(entries.map(([name, [, bytes]]) => [name, bytes])),
  };
}

/** The X-macro list of every struct and member the koffi definitions declare. */
function membersHeader(): string {
  const entries = Object.entries(NVML_STRUCTS).map(([type, definition]) =>
    [`S(${type})`, ...Object.keys(structLayout(definition).offsets).map((m) => `M(${type}, ${m})`)].join(' '),
  );
  return `#define NVML_ABI_MEMBERS(S, M) ${entries.join(' \\\n  ')}\n`;
}

describe('NVML ABI: koffi definitions against the genuine nvml.h', () => {
  let work: string;
  let report: AbiReport;

  beforeAll(() => {
    if (!existsSync(join(headerDir, 'nvml.h'))) {
      throw new Error(`${headerDir}/nvml.h is missing: run scripts/fetch-nvidia-debian.sh`);
    }
    work = mkdtempSync(join(tmpdir(), 'nvml-abi-'));
    writeFileSync(join(work, 'nvml-abi-members.h'), membersHeader());
    const binary = join(work, 'nvml-abi');
    execFileSync('cc', ['-std=c11', '-Wall', '-Werror', '-I', headerDir, '-I', work, '-o', binary, printer], { stdio: 'pipe' });
    report = JSON.parse(execFileSync(binary, { encoding: 'utf8' })) as AbiReport;
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('prints every declared struct', () => {
    expect(Object.keys(report.structs)).toEqual(Object.keys(NVML_STRUCTS));
  });

  for (const [type, definition] of Object.entries(NVML_STRUCTS)) {
    it(`${type}: same size, member offsets and member sizes`, () => {
      expect(report.structs[type]).toBeDefined();
      expect(koffiLayout(definition)).toEqual(headerLayout(report.structs[type]!));
    });
  }

  it('sends the nvmlMemory_v2 version nvml.h defines (sizeof | 2 << 24)', () => {
    expect(NVML_MEMORY_V2_VERSION).toBe(report.constants.nvmlMemory_v2);
    expect(NVML_MEMORY_V2_VERSION).toBe(40 | (2 << 24));
  });

  it('watches the nvmlEventType bits nvml.h defines', () => {
    expect(NvmlEventType).toEqual({
      SINGLE_BIT_ECC_ERROR: report.constants.nvmlEventTypeSingleBitEccError,
      DOUBLE_BIT_ECC_ERROR: report.constants.nvmlEventTypeDoubleBitEccError,
      XID_CRITICAL_ERROR: report.constants.nvmlEventTypeXidCriticalError,
    });
  });

  it('names every nvmlReturn_t of the header with its code', () => {
    const header = readFileSync(join(headerDir, 'nvml.h'), 'latin1');
    const body = /typedef enum nvmlReturn_enum\s*\{([\s\S]*?)\}\s*nvmlReturn_t;/.exec(header)?.[1] ?? '';
    const codes = [...body.matchAll(/^\s*(NVML_\w+)\s*=\s*(\d+)/gm)].map(([, name, code]) => [Number(code), name] as const);
    expect(codes.length).toBeGreaterThan(20);
    for (const [code, name] of codes) expect(NVML_RETURN_NAMES[code], name).toBe(name);
  });
});
