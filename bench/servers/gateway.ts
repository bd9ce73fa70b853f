// Our gateway as `npm run gateway` runs it, but bound to 127.0.0.1 (the plain entry listens on every interface).
import { startGateway } from '../../pushgateway/node.js';

const gateway = await startGateway({ hostname: '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void gateway.stop().then(() => process.exit(0)));
