// Starts a real etcd (Debian's etcd-server) on free loopback ports for a test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';

/** Ports freePort has handed out in this process: the kernel may offer a just-closed one again. */
const handedOut = new Set<number>();

/** A loopback port free now and not handed out before in this process (two taken in a row once were one port). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const bound = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(bound));
      });
    });
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

export function etcdAvailable(): boolean {
  return spawnSync('etcd', ['--version'], { encoding: 'utf8' }).status === 0;
}

export class EtcdProcess {
  private child?: ChildProcess;
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-etcd-'));
  constructor(
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  static async create(): Promise<EtcdProcess> {
    return new EtcdProcess(await freePort(), await freePort());
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  async start(): Promise<void> {
    const url = this.endpoint;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.child = spawn(
      'etcd',
      [
        '--name',
        'test',
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        url,
        '--advertise-client-urls',
        url,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `test=${peer}`,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore', env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } },
    );
    for (let i = 0; i < 100; i++) {
      try {
        const res = await fetch(`${url}/health`);
        if (res.ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('etcd did not become healthy');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A real etcd for the tests of the describe block that calls this, started before them and
 * removed after, with an etcd3 client of its own to write keys with (not the code under test).
 */
export function etcdForTests(): { readonly etcd: EtcdProcess; readonly admin: Etcd3 } {
  const live = {} as { etcd: EtcdProcess; admin: Etcd3 };
  beforeAll(async () => {
    live.etcd = await EtcdProcess.create();
    await live.etcd.start();
    live.admin = new Etcd3({ hosts: live.etcd.endpoint });
  });
  afterAll(async () => {
    live.admin?.close();
    await live.etcd?.destroy();
  });
  return live;
}
