// The fetch-based delta pusher the API uses to reach the gateway's aggregation mode (Node and workerd).
export { MetricsPusher, type MetricsPusherOptions, type PushCycleReport, type PusherLogger } from './pusher.js';
export { fetchTransport, type PushRequest, type PushTransport } from './transport.js';
export type { TransportResult, PushOutcome } from './outcome.js';
