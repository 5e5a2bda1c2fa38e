// The image's HEALTHCHECK: a `node -e` script that finds the HTTP address the service
// listens on the way the service itself does, then asks it for /healthz. The config is the
// one the running service was given: the `--conf` files and directories on PID 1's command
// line, merged in order (a CMD or a Deployment that names others), else CONF_PATH, else the
// image's own configs/config.yaml; `<PREFIX>SERVER_HTTP_ADDR` wins over it, as it does in the
// service. A store named by --conf is not read: an address set there goes unseen.

/** The script, as one line for `node -e`. */
export function healthcheckScript(envPrefix: string, httpPort: number): string {
  return [
    "const fs = require('node:fs');",
    "let argv = []; try { argv = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0'); } catch {}",
    // Every --conf in order (the service merges them so); a store (etcd://, consul://) is not read here.
    "const confs = argv.flatMap((a, i) => (a === '--conf' ? [argv[i + 1]] : a.startsWith('--conf=') ? [a.slice(7)] : [])).filter((c) => c && !/^(etcd|consul)(\\+https)?:\\/\\//.test(c));",
    "if (confs.length === 0) confs.push(process.env.CONF_PATH || 'configs/config.yaml');",
    'let addr;',
    // A directory is its config files in name order, dot-names (a ConfigMap's versions) left out.
    'for (const conf of confs) try {',
    "const files = fs.statSync(conf).isDirectory() ? fs.readdirSync(conf).filter((f) => !f.startsWith('.') && /\\.(ya?ml|json)$/.test(f)).sort().map((f) => conf + '/' + f) : [conf];",
    "for (const f of files) addr = require('yaml').parse(fs.readFileSync(f, 'utf8'))?.server?.http?.addr ?? addr;",
    '} catch {}',
    `addr = String(process.env.${envPrefix}SERVER_HTTP_ADDR || addr || ':${httpPort}');`,
    "const colon = addr.lastIndexOf(':');",
    "let host = addr.slice(0, colon).replace(/^\\[(.*)\\]$/, '$1');",
    // A wildcard address is reached on loopback; a specific one where it is.
    "if (!host || host === '0.0.0.0' || host === '::') host = '127.0.0.1';",
    "fetch('http://' + (host.includes(':') ? '[' + host + ']' : host) + ':' + addr.slice(colon + 1) + '/healthz')",
    '.then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));',
  ].join(' ');
}
