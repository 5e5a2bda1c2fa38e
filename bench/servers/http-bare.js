// Baseline: the same endpoint on bare fastify, no middleware.
import Fastify from 'fastify';
import { announce, GREETING_PREFIX } from './common.js';

const app = Fastify({ logger: false });
app.get('/helloworld/:name', async (request) => ({ message: GREETING_PREFIX + request.params.name }));
await app.listen({ host: '127.0.0.1', port: 0 });
announce(app.server.address().port);
