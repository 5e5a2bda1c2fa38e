// The in-memory repository stays bounded: past max_users it forgets the least
// recently greeted names first.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GreeterRepoInMemory } from '../internal/data/greeter.js';

describe('GreeterRepoInMemory', () => {
  it('keeps at most maxUsers names, dropping the least recently used', async () => {
    const data = { users: new Map() };
    const repo = new GreeterRepoInMemory(data, 3);
    for (const name of ['a', 'b', 'c']) await repo.recordGreeting(name);
    await repo.recordGreeting('a'); // a is now the most recent
    await repo.recordGreeting('d'); // b goes
    assert.equal(data.users.size, 3);
    assert.equal(await repo.find('b'), undefined);
    assert.deepEqual(await repo.find('a'), { name: 'a', greetCount: 2 });
    for (let i = 0; i < 1000; i++) await repo.recordGreeting(`n${i}`);
    assert.equal(data.users.size, 3);
  });
});
