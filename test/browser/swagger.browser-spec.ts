import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSimBuilt, simEnv, writeScenario } from '@app/gpu-sim';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningService, startService } from '../support/service.js';

// Swagger UI in Debian's Chromium (never a downloaded browser), against the built service on a
// simulated H200: the page renders, lists the routes, and "Try it out" → "Execute" shows the
// live answer. Screenshots go to artifacts/ (git-ignored) for the CI run's artifacts.

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = join(ROOT, 'artifacts');
const UI_TIMEOUT_MS = 20_000;

let service: RunningService;
let context: BrowserContext;
let page: Page;
let userDataDir: string;

beforeAll(async () => {
  ensureSimBuilt();
  const scenarioPath = writeScenario({ preset: 'h200' }, mkdtempSync(join(tmpdir(), 'swagger-browser-')));
  service = await startService({ env: simEnv({ scenarioPath }) });
  userDataDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  // A persistent context is how Playwright takes a --user-data-dir of our choosing.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await context?.close();
  await service?.stop('SIGKILL');
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** The operation block Swagger UI renders for an operation (`operations-<tag>-<operationId>`). */
const operation = (tag: string, operationId: string): Locator => page.locator(`#operations-${tag}-${operationId}`);

/** Expands an operation, presses "Try it out" and "Execute", and returns its live response row. */
async function tryItOut(block: Locator): Promise<{ status: string; body: string }> {
  await block.locator('.opblock-summary').first().click();
  await block.locator('button.try-out__btn').click();
  await block.locator('button.execute').click();
  const response = block.locator('.live-responses-table .response').first();
  await response.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  const status = (await response.locator('.response-col_status').innerText()).trim();
  const body = await response.locator('.response-col_description pre').first().innerText();
  return { status, body };
}

describe('Swagger UI in Chromium', () => {
  it('renders /docs with the health, GPU and metrics routes', async () => {
    const res = await page.goto(`${service.baseUrl}/docs`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    await page.locator('.swagger-ui .information-container .title').waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await page.locator('.swagger-ui .information-container .title').innerText()).toContain('GPU service');
    const paths = await page.locator('.opblock-summary-path').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-path')));
    expect(paths).toEqual(expect.arrayContaining(['/health', '/health/live', '/health/ready', '/health/startup', '/health/transitions', '/gpus', '/gpus/{uuid}', '/metrics']));
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-docs.png'), fullPage: true });
  });

  it('"Try it out" → "Execute" on /health/ready shows the live 200 answer', async () => {
    const { status, body } = await tryItOut(operation('health', 'HealthController_readiness'));
    expect(status).toBe('200');
    const json = JSON.parse(body) as { status: string; details: { gpu: { status: string } } };
    expect(json.status).toBe('ok');
    expect(json.details.gpu.status).toBe('up');
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-health-ready.png'), fullPage: true });
  });

  it('"Try it out" → "Execute" on /gpus shows the simulated H200', async () => {
    const { status, body } = await tryItOut(operation('gpus', 'GpuController_list'));
    expect(status).toBe('200');
    const json = JSON.parse(body) as { simulated: { preset: string }; gpus: Array<{ uuid: string; name: string; status: string }> };
    expect(json.gpus).toEqual([expect.objectContaining({ uuid: 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a', name: 'NVIDIA H200', status: 'up' })]);
    expect(json.simulated.preset).toBe('h200');
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-gpus.png'), fullPage: true });
  });
});
