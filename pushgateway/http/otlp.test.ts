// POST /v1/metrics on the memory store: the OTLP contract (test/support/otlp-contract.ts), and windows kept across
// a snapshot and restore.
import { describe, expect, it } from 'vitest';
import { deltaCounter, describeOtlpContract, otlpGateway, request, second, series, t0 } from '../../test/support/otlp-contract.js';
import { defaultGatewayConfig, type GatewayConfig } from '../config/gateway.js';
import { groupKey } from '../core/grouping.js';
import { memoryStoreOptions } from '../store/create.js';
import { MemoryStore } from '../store/memory.js';
import { decodeSnapshot, encodeSnapshot } from '../store/snapshot-codec.js';

const newMemoryStore = (config: GatewayConfig) => new MemoryStore(memoryStoreOptions(config));

describeOtlpContract('memory store', newMemoryStore);

describe('POST /v1/metrics: memory store persistence', () => {
  const gateway = () => {
    const store = newMemoryStore(defaultGatewayConfig);
    return { ...otlpGateway(() => store), store };
  };

  it('remembers applied windows across a snapshot and restore (GATEWAY_PERSISTENCE_FILE)', async () => {
    const before = gateway();
    await before.exportJson(request(deltaCounter(3, t0, t0 + second)));
    const saved = encodeSnapshot(before.store.snapshot(1_700_000_000_000), 1_700_000_000_000);
    const after = gateway();
    after.store.restore(decodeSnapshot(saved, groupKey));
    await after.exportJson(request(deltaCounter(3, t0, t0 + second)));
    const text = await after.metrics();
    expect(text).toContain(series(3));
    expect(text).toContain('gateway_otlp_points_total{outcome="replayed"} 1\n');
  });
});
