// Baseline: the same unary method on bare grpc-js, no interceptors.
import * as grpc from '@grpc/grpc-js';
import { announce, greeterDefinition, GREETING_PREFIX } from './common.js';

const server = new grpc.Server();
server.addService(greeterDefinition, {
  sayHello: (call, callback) => callback(null, { message: GREETING_PREFIX + call.request.name }),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  announce(port);
});
