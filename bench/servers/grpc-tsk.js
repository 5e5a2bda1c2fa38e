// The unary method served by tsk's GrpcServer through the full default chain.
import { GrpcServer } from '../../dist/runtime/transport/grpc/index.js';
import { announce, greeterDefinition, GREETING_PREFIX } from './common.js';
import { serviceChain } from './tsk-setup.js';

const { observers, logger } = await serviceChain();
const server = new GrpcServer({ address: '127.0.0.1:0', observers, logger });
server.register(greeterDefinition, { sayHello: async (_ctx, req) => ({ message: GREETING_PREFIX + req.name }) });
await server.start();
announce(new URL(server.endpoint().replace(/^grpc:/, 'http:')).port);
