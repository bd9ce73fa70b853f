// Our gateway as `npm run gateway` runs it, but bound to 127.0.0.1 (the plain entry listens on every interface).
import { loadGatewayConfig } from '../../pushgateway/config/gateway.js';
import { createGatewayLogger, startGateway } from '../../pushgateway/server.js';

const gateway = await startGateway({ config: loadGatewayConfig({ ...process.env, GATEWAY_HOST: '127.0.0.1' }), logger: createGatewayLogger(process.env.LOG_LEVEL) });
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void gateway.stop().then(() => process.exit(0)));
