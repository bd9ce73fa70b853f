// The Elasticsearch `_bulk` stand-in of the test harness, in a process of its own so that parsing what is
// shipped does not run on the core of the process being measured. It picks its own port and announces it.
import { startElasticsearchStandIn } from '../../test/support/services/elasticsearch-bulk.js';

const standIn = await startElasticsearchStandIn();
console.log(`BENCH_LISTENING ${standIn.url}`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void standIn.stop().then(() => process.exit(0)));
