// The endpoint served by tsk's HttpServer through the full default chain.
import {
  announce,
  distModule,
  GREETING_PREFIX,
  HelloReply,
  HelloReplySchema,
  HelloRequest,
  HelloRequestSchema,
} from './common.js';
import { serviceChain } from './tsk-setup.js';

const { HttpServer } = await import(distModule('runtime/transport/http/index.js'));

const { observers, logger } = await serviceChain();
const server = new HttpServer({ address: '127.0.0.1:0', observers, logger });
server.route(
  {
    method: 'GET',
    path: '/helloworld/{name}',
    operation: '/bench.v1.Greeter/SayHello',
    request: HelloRequest,
    requestSchema: HelloRequestSchema,
    response: HelloReply,
    responseSchema: HelloReplySchema,
  },
  async (_ctx, req) => ({ message: GREETING_PREFIX + req.name }),
);
await server.start();
announce(new URL(server.endpoint()).port);
