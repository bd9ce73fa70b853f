// The fetch-based delta pusher the API uses to reach the gateway's aggregation mode (Node and workerd).

export type { AttemptOutcome, TransportResult } from './outcome.js';
export { MetricsPusher, type MetricsPusherOptions, type PushCycleReport, type PusherLogger } from './pusher.js';
export { fetchTransport, type PushTransport, type TransportRequest } from './transport.js';
export type { PushProtocol } from './wire.js';
