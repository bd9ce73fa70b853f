// The GatewayStore the Worker's app uses: a thin RPC client of the one gateway Durable Object
// (store/durable-object.ts). Kept apart from the object's class, which imports `cloudflare:workers`, so that
// choosing a store (store/create.ts) loads on Node too.

import type { ExpositionFormat } from '../core/exposition-format.js';
import type { Group, Labels } from '../core/model.js';
import type { GatewayStoreObject } from './durable-object.js';
import type { GatewayStore, OtlpOutcome, OtlpPush, PushOutcome, PushRequest, StoreStats } from './types.js';

export class DurableObjectStore implements GatewayStore {
  constructor(
    private readonly namespace: DurableObjectNamespace<GatewayStoreObject>,
    private readonly name = 'gateway',
  ) {}

  // A stub is an I/O object bound to the request that made it: one per call, as the app outlives requests.
  private get stub(): DurableObjectStub<GatewayStoreObject> {
    return this.namespace.get(this.namespace.idFromName(this.name));
  }

  async apply(push: PushRequest): Promise<PushOutcome> {
    return (await this.stub.apply(push)) as PushOutcome;
  }

  async applyOtlp(push: OtlpPush): Promise<OtlpOutcome> {
    return (await this.stub.applyOtlp(push)) as OtlpOutcome;
  }

  async deleteGroup(grouping: Labels, nowMs: number): Promise<boolean> {
    return await this.stub.deleteGroup(grouping, nowMs);
  }

  async wipe(): Promise<void> {
    await this.stub.wipe();
  }

  async groups(nowMs: number): Promise<Group[]> {
    return (await this.stub.groups(nowMs)) as unknown as Group[];
  }

  async exposition(nowMs: number, format: ExpositionFormat): Promise<string> {
    return await this.stub.exposition(nowMs, format);
  }

  async stats(nowMs: number): Promise<StoreStats> {
    return await this.stub.stats(nowMs);
  }

  async close(): Promise<void> {}
}
