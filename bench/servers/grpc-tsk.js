// The unary method served by tsk's GrpcServer through the full default chain.
import { announce, distModule, greeterDefinition, GREETING_PREFIX } from './common.js';
import { serviceChain } from './tsk-setup.js';

const { GrpcServer } = await import(distModule('runtime/transport/grpc/index.js'));

const { observers, logger } = await serviceChain();
const server = new GrpcServer({ address: '127.0.0.1:0', observers, logger });
server.register(greeterDefinition, { sayHello: async (_ctx, req) => ({ message: GREETING_PREFIX + req.name }) });
await server.start();
announce(new URL(server.endpoint().replace(/^grpc:/, 'http:')).port);
