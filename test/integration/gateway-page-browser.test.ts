// The gateway's page in a real browser (Debian chromium driven by playwright-core): groups pushed here appear with
// how they were written (PUT: replaced, /aggregate: aggregated), their retries and TTL expiry; one is expanded,
// deleted with the push token after the confirmation, and is gone from /metrics; the strict
// Content-Security-Policy produces no violation (the page's own script still runs); without the scrape
// credentials the page answers 401. A screenshot is taken into a temp dir; to refresh the README's, run with
// GATEWAY_PAGE_SCREENSHOT=docs/images/gateway-page.png.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, type RunningGateway, startGateway } from '../../pushgateway/server.js';

const TOKEN = 'page-push-token';
const reader = { username: 'reader', password: 'reader-secret' };
const screenshotDir = mkdtempSync(join(tmpdir(), 'gw-page-shot-'));
const SCREENSHOT = process.env.GATEWAY_PAGE_SCREENSHOT
  ? resolve(process.env.GATEWAY_PAGE_SCREENSHOT)
  : join(screenshotDir, 'gateway-page.png');

let gateway: RunningGateway;
let browser: Browser;

beforeAll(async () => {
  gateway = await startGateway({
    config: loadGatewayConfig({
      GATEWAY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PUSH_TOKEN: TOKEN,
      GATEWAY_SCRAPE_USER: reader.username,
      GATEWAY_SCRAPE_PASSWORD: reader.password,
      GATEWAY_GROUP_TTL_SECONDS: '3600',
      GATEWAY_ROUTE_PREFIX: '/pushgateway',
    }),
    logger: createGatewayLogger('silent'),
  });
  const push = async (path: string, body: string) => {
    const response = await fetch(`${gateway.url}/pushgateway${path}`, {
      method: 'PUT',
      body,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
  };
  await push(
    '/metrics/job/nightly-export/instance/batch-1',
    '# HELP rows_exported Rows written by the export.\n# TYPE rows_exported gauge\nrows_exported{table="orders"} 1520\nrows_exported{table="users"} 87\n# TYPE export_duration_seconds histogram\nexport_duration_seconds_bucket{le="10"} 1\nexport_duration_seconds_bucket{le="+Inf"} 1\nexport_duration_seconds_sum 7.2\nexport_duration_seconds_count 1\n',
  );
  await push(
    '/metrics/job/backup/instance/db-2',
    '# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.7e9\n',
  );
  const aggregate = () =>
    fetch(`${gateway.url}/pushgateway/aggregate/metrics/job/api`, {
      method: 'POST',
      body: '# TYPE http_requests_total counter\nhttp_requests_total{route="/users"} 42\n',
      headers: { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'api-push-1' },
    });
  expect((await aggregate()).status).toBe(200);
  // A retry of the same push: not applied again, counted on the group.
  expect((await aggregate()).headers.get('idempotent-replayed')).toBe('true');
  // launch() gives Chromium a new empty profile in a temp dir of its own (removed on close); playwright-core
  // refuses a --user-data-dir argument for that reason.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      '--disable-quic',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  rmSync(screenshotDir, { recursive: true, force: true });
});

describe('the gateway page in Chromium', () => {
  it('lists the pushed groups, expands one, deletes it with the token, and it is gone from /metrics', async () => {
    const context = await browser.newContext({ httpCredentials: reader, viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const response = await page.goto(`${gateway.url}/pushgateway/`);
    expect(response?.headers()['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);

    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const nightly = page.locator('tr', { hasText: 'job="nightly-export"' });
    await expect.poll(() => nightly.locator('td.series').textContent()).toBe('3'); // two gauge label sets and one histogram
    expect(await nightly.locator('td.mode').textContent()).toBe('replaced');
    const api = page.locator('tr', { hasText: 'job="api"' });
    expect(await api.locator('td.mode').textContent()).toBe('aggregated');
    expect(await api.locator('td.retries').textContent()).toBe('1');
    expect(await page.locator('th', { hasText: 'expires' }).textContent()).toBe('expires (TTL 3600 s)');
    expect(await nightly.locator('td.expires').textContent()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZin 3[56]\d\d s$/);
    await nightly.locator('summary').click();
    expect(await nightly.locator('details').getAttribute('open')).not.toBeNull();
    expect(await nightly.locator('pre').textContent()).toContain(
      'rows_exported{instance="batch-1",job="nightly-export",table="orders"} 1520',
    );
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

    const backup = page.locator('tr', { hasText: 'job="backup"' });
    let dialogMessage = '';
    page.once('dialog', async (dialog) => {
      dialogMessage = dialog.message();
      await dialog.accept();
    });
    await backup.locator('input[name="token"]').fill(TOKEN);
    await Promise.all([page.waitForEvent('load'), backup.locator('button').click()]);
    expect(dialogMessage).toContain('job="backup"');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);

    const scrape = await fetch(`${gateway.url}/pushgateway/metrics`, {
      headers: { authorization: `Basic ${btoa(`${reader.username}:${reader.password}`)}` },
    });
    const text = await scrape.text();
    expect(text).not.toContain('job="backup"');
    expect(text).toContain('job="nightly-export"');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('does not delete with a wrong token and says why', async () => {
    const context = await browser.newContext({ httpCredentials: reader });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${gateway.url}/pushgateway/`);
    const api = page.locator('tr', { hasText: 'job="api"' });
    await api.locator('input[name="token"]').fill('wrong');
    await api.locator('button').click();
    await expect.poll(() => api.locator('.result').textContent()).toContain('401');
    await context.close();
  }, 60_000);

  it('answers 401 without the scrape credentials', async () => {
    // A navigation without credentials ends in Chromium's auth prompt (an error in headless mode), so the
    // browser context's own HTTP client shows the answer.
    const context = await browser.newContext();
    const response = await context.request.get(`${gateway.url}/pushgateway/`);
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toMatch(/^Basic/);
    expect((await context.request.get(`${gateway.url}/pushgateway/status`)).status()).toBe(401);
    await context.close();
  }, 60_000);
});
