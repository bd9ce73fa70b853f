// The gateway Worker, unchanged, with its Durable Object class extended so that the shard named by SILENT_SHARD
// does not answer the cross-shard family type check (neither a claim nor a question about its families) for a
// minute: a stuck or unreachable object, as seen by the others. Every other shard, and every other call of the
// silent one, is the real object.

import type { MetricType } from '../../../pushgateway/core/model.js';
import { shardName } from '../../../pushgateway/store/durable-object-shards.js';
import type { PushedFamily } from '../../../pushgateway/store/family-registry.js';
import gateway, { GatewayStoreObject as RealGatewayStoreObject } from '../../../pushgateway/worker.js';

const SILENCE_MS = 60_000;

export default gateway;

export class GatewayStoreObject extends RealGatewayStoreObject {
  private async silenceIfChosen(): Promise<void> {
    const env = this.env as { SILENT_SHARD?: string; GATEWAY_STATE: DurableObjectNamespace };
    if (env.SILENT_SHARD === undefined) return;
    if (this.ctx.id.equals(env.GATEWAY_STATE.idFromName(shardName(Number(env.SILENT_SHARD)))))
      await new Promise((resolve) => setTimeout(resolve, SILENCE_MS));
  }

  override async familyTypes(names: string[]): Promise<Record<string, MetricType[]>> {
    await this.silenceIfChosen();
    return await super.familyTypes(names);
  }

  override async claimFamilies(families: PushedFamily[], claimant: number): Promise<Record<string, string>> {
    await this.silenceIfChosen();
    return await super.claimFamilies(families, claimant);
  }
}
