// The three services together, as the README walks through them: each started from its
// sources on free loopback ports, with no etcd (each client is given the address of the
// service it calls), and called over HTTP through the gateway. `npm test` runs it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

const services = {};

/** Starts a service from its sources; resolves once it has started, with its addresses. */
function start(name, env = {}) {
  const prefix = name.toUpperCase();
  const child = spawn(process.execPath, ['--import', 'tsx', `cmd/${name}/main.ts`, '--conf', 'configs/config.yaml'], {
    cwd: new URL(`../${name}/`, import.meta.url),
    env: {
      ...process.env,
      [`${prefix}_SERVER_HTTP_ADDR`]: '127.0.0.1:0',
      [`${prefix}_SERVER_GRPC_ADDR`]: '127.0.0.1:0',
      [`${prefix}_SERVER_DRAIN_DELAY_MS`]: '0',
      [`${prefix}_REGISTRY_KIND`]: 'none',
      [`${prefix}_TELEMETRY_OTLP_ENDPOINT`]: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service = { child, output: '', exited: new Promise((resolve) => child.once('exit', resolve)) };
  services[name] = service;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${service.output}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it started:\n${service.output}`)));
    child.stderr.on('data', (chunk) => (service.output += chunk));
    child.stdout.on('data', (chunk) => {
      service.output += chunk;
      for (const line of service.output.split('\n')) {
        if (!line.includes('"endpoints"')) continue;
        const { msg, endpoints } = JSON.parse(line);
        if (!msg.endsWith(' started')) continue;
        clearTimeout(timer);
        const address = (scheme) => new URL(endpoints.find((e) => e.startsWith(`${scheme}://`))).host;
        resolve(Object.assign(service, { http: `http://${address('http')}`, grpc: address('grpc') }));
      }
    });
  });
}

const post = (url, body) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The error JSON of a failed call, checked against its HTTP status. */
async function failure(response, status) {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.code, status);
  return body;
}

let gateway = '';

describe('user, order and gateway', () => {
  before(async () => {
    const user = await start('user');
    const order = await start('order', { ORDER_CLIENTS_USER_ENDPOINT: user.grpc });
    const front = await start('gateway', {
      GATEWAY_CLIENTS_USER_ENDPOINT: user.grpc,
      GATEWAY_CLIENTS_ORDER_ENDPOINT: order.grpc,
    });
    gateway = front.http;
  });

  after(() => {
    for (const { child } of Object.values(services)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('creates a user and places an order for her through the gateway', async () => {
    const created = await post(`${gateway}/v1/users`, { name: 'Ada', email: 'ada@example.com' });
    assert.equal(created.status, 200);
    const ada = await created.json();
    assert.equal(ada.name, 'Ada');

    const placed = await post(`${gateway}/v1/orders`, { userId: ada.id, productId: 'book', quantity: 2 });
    assert.equal(placed.status, 200);
    const order = await placed.json();
    assert.deepEqual(
      { userId: order.userId, productId: order.productId, quantity: order.quantity, userName: order.userName },
      { userId: ada.id, productId: 'book', quantity: 2, userName: 'Ada' },
    );
    const fetched = await fetch(`${gateway}/v1/orders/${order.id}`);
    assert.equal(fetched.status, 200);
    assert.equal((await fetched.json()).id, order.id);
  });

  it('answers errors with their reason, across both hops', async () => {
    const ada = await (await fetch(`${gateway}/v1/users/u1`)).json();
    const order = (body) => post(`${gateway}/v1/orders`, { userId: ada.id, productId: 'book', quantity: 1, ...body });
    assert.equal((await failure(await order({ userId: 'nobody' }), 404)).reason, 'USER_NOT_FOUND');
    assert.equal((await failure(await order({ productId: 'lamp', quantity: 3 }), 400)).reason, 'INSUFFICIENT_STOCK');
    assert.equal((await failure(await order({ productId: 'car' }), 404)).reason, 'PRODUCT_NOT_FOUND');
    const invalid = await failure(await order({ quantity: 0 }), 400);
    assert.equal(invalid.reason, 'VALIDATOR');
    assert.equal(invalid.metadata.field, 'quantity');
    const again = await post(`${gateway}/v1/users`, { name: 'Ada', email: 'ada@example.com' });
    assert.equal((await failure(again, 409)).reason, 'USER_ALREADY_EXISTS');
    const bad = await post(`${gateway}/v1/users`, { name: 'Bob', email: 'not-an-email' });
    assert.equal((await failure(bad, 400)).reason, 'INVALID_USER_INPUT');
    assert.equal((await failure(await fetch(`${gateway}/v1/orders/o999`), 404)).reason, 'ORDER_NOT_FOUND');
    const malformed = await fetch(`${gateway}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"userId":',
    });
    assert.equal((await failure(malformed, 400)).reason, 'CODEC');
  });

  it('stops each service on SIGTERM, exit code 0', async () => {
    for (const name of ['gateway', 'order', 'user']) {
      const { child, exited } = services[name];
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `${name}:\n${services[name].output}`);
    }
  });
});
