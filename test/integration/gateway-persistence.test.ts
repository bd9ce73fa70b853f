// Persistence of the Node gateway (GATEWAY_PERSISTENCE_FILE) under load, with real processes and signals:
// SIGKILL mid-load loses at most what was acknowledged after the last snapshot (never more, never a double
// count — retried pushes carry their Idempotency-Key, which the snapshot keeps with the data); SIGTERM
// writes a final snapshot, so nothing is lost, within 10 s even with a client stuck mid-body; repeated SIGKILLs
// leave no temp file behind; a corrupt file is reported and moved aside.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupKey } from '../../pushgateway/core/grouping.js';
import type { ScalarMetric } from '../../pushgateway/core/model.js';
import { decodeSnapshot } from '../../pushgateway/store/snapshot-codec.js';
import { type GatewayProcess, scrape, startGatewayProcess } from '../support/gateway-processes.js';
import { freePort, makeTempDir, removeDir } from '../support/services/process.js';

const TOKEN = 'persist-token';
let dir: string;
let file: string;
let port: number;
let gateway: GatewayProcess | undefined;

const env = () => ({ GATEWAY_PERSISTENCE_FILE: file, GATEWAY_PERSISTENCE_INTERVAL_SECONDS: '1', GATEWAY_PUSH_TOKEN: TOKEN });
const start = async (name: string) => (gateway = await startGatewayProcess(name, dir, env(), port));

beforeEach(async () => {
  dir = makeTempDir('gw-persist');
  file = join(dir, 'gateway.snapshot');
  port = await freePort();
});
afterEach(async () => {
  await gateway?.stop('SIGKILL');
  gateway = undefined;
  removeDir(dir);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Push {
  delta: number;
  key: string;
  ackedAtMs?: number;
}

/** Pushes with the same key until the gateway answers definitively (connection refused while it restarts). */
async function pushUntilDefinitive(push: Push): Promise<Response> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/aggregate/metrics/job/persist`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'idempotency-key': push.key },
        body: `# TYPE persisted_total counter\npersisted_total ${push.delta}\n`,
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status < 500) {
        push.ackedAtMs = Date.now();
        return response;
      }
      await response.arrayBuffer();
    } catch {
      // not definitive: the gateway is down or the connection broke; same key again
    }
    if (Date.now() > deadline) throw new Error(`push ${push.key} got no definitive answer within 60 s`);
    await sleep(25);
  }
}

async function total(): Promise<number> {
  const family = (await scrape(`http://127.0.0.1:${port}`)).get('persisted_total');
  return family ? (family.metrics[0] as ScalarMetric).value : 0;
}

/** `clients` loops pushing deltas until `running()` is false; every push they start completes (retrying). */
function load(clients: number, running: () => boolean, sent: Push[]): Promise<void> {
  let n = 0;
  return Promise.all(
    Array.from({ length: clients }, async () => {
      while (running()) {
        const push: Push = { delta: 1 + (n++ % 7), key: crypto.randomUUID() };
        sent.push(push);
        const response = await pushUntilDefinitive(push);
        expect(response.status).toBe(200);
      }
    }),
  ).then(() => undefined);
}

describe('gateway persistence', () => {
  it('after SIGKILL mid-load loses at most what was acknowledged since the last snapshot; after SIGTERM nothing', async () => {
    await start('gateway-1');
    const sent: Push[] = [];
    let running = true;
    const loading = load(8, () => running, sent);
    await sleep(3_500); // a few snapshots (interval 1 s) under load
    await gateway!.stop('SIGKILL');
    running = false; // no new pushes; the ones in flight keep retrying with their keys
    const snapshot = decodeSnapshot(readFileSync(file, 'utf8'), groupKey);
    const savedAtMs = JSON.parse(readFileSync(file, 'utf8')).savedAtMs as number;
    const inSnapshot = (snapshot.groups[0]!.families.get('persisted_total')!.metrics[0] as ScalarMetric).value;
    const ackedBefore = (ms: number) => sent.filter((p) => p.ackedAtMs !== undefined && p.ackedAtMs < ms).reduce((s, p) => s + p.delta, 0);
    const ackedBeforeSnapshot = ackedBefore(savedAtMs);
    const ackedBeforeKill = ackedBefore(Date.now());

    await start('gateway-2');
    await loading;
    const sentTotal = sent.reduce((s, p) => s + p.delta, 0);
    const afterRestart = await total();
    // the snapshot holds everything acknowledged before it was taken, and the restart loads it
    expect(inSnapshot).toBeGreaterThanOrEqual(ackedBeforeSnapshot);
    expect(afterRestart).toBeGreaterThanOrEqual(inSnapshot);
    // never a double count, and the loss is bounded by what was acknowledged after the last snapshot
    expect(afterRestart).toBeLessThanOrEqual(sentTotal);
    expect(sentTotal - afterRestart).toBeLessThanOrEqual(ackedBeforeKill - ackedBeforeSnapshot);
    console.log(
      `[gateway-persistence] SIGKILL after ${sent.length} pushes: snapshot ${inSnapshot} (acked before it: ${ackedBeforeSnapshot}), ` +
        `after restart and retries ${afterRestart} of ${sentTotal} sent (lost ${sentTotal - afterRestart}, bound ${ackedBeforeKill - ackedBeforeSnapshot})`,
    );

    // keep pushing, then a clean shutdown: nothing may be lost, and the keys survive it
    running = true;
    const more: Push[] = [];
    const loadingMore = load(8, () => running, more);
    await sleep(1_500);
    running = false;
    await loadingMore;
    const beforeTerm = await total();
    expect(beforeTerm).toBe(afterRestart + more.reduce((s, p) => s + p.delta, 0));
    await gateway!.stop('SIGTERM');
    expect(gateway!.process.child.exitCode).toBe(0);
    await start('gateway-3');
    expect(await total()).toBe(beforeTerm);
    const replay = await pushUntilDefinitive({ ...more.at(-1)! });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await total()).toBe(beforeTerm);
  }, 120_000);

  it('SIGKILLed three times under keyed load: no double count, loss within what each kill could lose, no temp files left', async () => {
    await start('gateway-kill-0');
    const sent: Push[] = [];
    let running = true;
    const loading = load(8, () => running, sent);
    const ackedBefore = (ms: number) => sent.filter((p) => p.ackedAtMs !== undefined && p.ackedAtMs < ms).reduce((s, p) => s + p.delta, 0);
    let bound = 0;
    for (let kill = 1; kill <= 3; kill++) {
      await sleep(1_500 + 500 * kill); // kills land at different points of the 1 s snapshot cycle
      await gateway!.stop('SIGKILL');
      const killedAtMs = Date.now();
      const savedAtMs = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).savedAtMs as number) : 0;
      bound += ackedBefore(killedAtMs) - ackedBefore(savedAtMs);
      await start(`gateway-kill-${kill}`); // clients keep retrying their keys meanwhile
      expect(readdirSync(dir).filter((name) => name.includes('.tmp-'))).toEqual([]);
    }
    running = false;
    await loading;
    const sentTotal = sent.reduce((s, p) => s + p.delta, 0);
    const after = await total();
    console.log(
      `[gateway-persistence] 3 SIGKILLs, ${sent.length} pushes: ${after} of ${sentTotal} kept (lost ${sentTotal - after}, bound ${bound})`,
    );
    expect(after).toBeLessThanOrEqual(sentTotal);
    expect(sentTotal - after).toBeLessThanOrEqual(bound);
  }, 180_000);

  it('on SIGTERM under load with a client stuck mid-body, exits 0 within 10 s and loses nothing', async () => {
    await start('gateway-term');
    const sent: Push[] = [];
    let running = true;
    const loading = load(8, () => running, sent);
    // A push whose body never arrives: it must not hold the shutdown.
    const stuck = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => stuck.once('connect', resolve).once('error', reject));
    stuck.on('error', () => {});
    stuck.write(
      `POST /aggregate/metrics/job/persist HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000\r\n\r\n# TYPE persisted_total counter\n`,
    );
    await sleep(1_500);
    const termAtMs = Date.now();
    await gateway!.stop('SIGTERM');
    const exitMs = Date.now() - termAtMs;
    expect(gateway!.process.child.exitCode).toBe(0);
    expect(exitMs).toBeLessThan(10_000);
    running = false;
    await start('gateway-term-restarted');
    await loading; // pushes cut by the shutdown were retried with their keys against the restarted gateway
    stuck.destroy();
    const sentTotal = sent.reduce((s, p) => s + p.delta, 0);
    console.log(
      `[gateway-persistence] SIGTERM with a stuck client: exited in ${exitMs} ms, ${sent.length} pushes, total ${await total()} of ${sentTotal}`,
    );
    expect(await total()).toBe(sentTotal);
  }, 120_000);

  it('reports a corrupt snapshot, moves it aside and starts empty', async () => {
    writeFileSync(file, '{"format":"hono-edge-metrics/pushgateway-snapshot","version":1,"groups":[');
    await start('gateway-corrupt');
    expect(await total()).toBe(0);
    const aside = readdirSync(dir).filter((name) => name.startsWith('gateway.snapshot.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toContain('"groups":[');
    expect(gateway!.process.logTail(50)).toMatch(/snapshot is corrupt.*moved aside/);
    // and the gateway writes a fresh snapshot in its place
    await pushUntilDefinitive({ delta: 3, key: 'after-corrupt' });
    await expect.poll(() => existsSync(file) && readFileSync(file, 'utf8').includes('persisted_total'), { timeout: 10_000 }).toBe(true);
  }, 60_000);
});
