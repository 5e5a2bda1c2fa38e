// The Node.js binary of the generated Dockerfile's base image, for running the
// image's build steps and service outside Docker: the host's own node when it is
// of the same major line, else the one .ci/run downloads into TSK_IMAGE_NODE.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { SERVICE_NODE_MAJOR } from '../../src/scaffold/package-json.js';

/** The Dockerfile's `ARG NODE_VERSION` default (`24.21`), which both stages' FROM lines use. */
export function dockerfileNodeVersion(dockerfile: string): string | undefined {
  return /^ARG NODE_VERSION=(\d+(?:\.\d+)*)$/m.exec(dockerfile)?.[1];
}

/** A node binary of `version`'s major line, or undefined when none is at hand. */
export function nodeBinaryFor(version: string): string | undefined {
  const major = version.split('.')[0];
  const candidates = [process.execPath, process.env['TSK_IMAGE_NODE']].filter((c): c is string => Boolean(c));
  return candidates.find((node) => {
    const r = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.trim().split('.')[0] === major;
  });
}

/**
 * The environment for running a generated project's npm scripts on the Node line it is
 * made for (its `engines`): that line's node first on PATH when the host runs another.
 * `npm test` there relies on Node 22+ (the test runner expands its glob itself).
 */
export function serviceNodeEnv(): Record<string, string> {
  const node = nodeBinaryFor(String(SERVICE_NODE_MAJOR));
  return node ? { PATH: `${path.dirname(node)}${path.delimiter}${process.env['PATH'] ?? ''}` } : {};
}
