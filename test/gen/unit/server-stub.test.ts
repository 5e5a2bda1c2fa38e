// `tsk proto server` stubs are the user's files from then on: they must pass the
// generated project's own `biome check` (npm run lint) as written, at any name length.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderServerStub, stubFileName } from '../../../src/gen/server-stub.js';
import { repoRoot } from '../../helpers/cli.js';
import { compileInline } from './compile-inline.js';

const LONG = `syntax = "proto3";
package warehouse.inventory.v1;
import "google/api/annotations.proto";

message ReserveInventoryForCustomerOrderRequest { string order_id = 1; }
message ReserveInventoryForCustomerOrderReply { string reservation_id = 1; }
message InventoryChangeNotification { string sku = 1; }

service WarehouseInventoryReservationCoordinationService {
  rpc ReserveInventoryForCustomerOrder(ReserveInventoryForCustomerOrderRequest) returns (ReserveInventoryForCustomerOrderReply) {
    option (google.api.http) = { post: "/v1/reservations" body: "*" };
  }
  rpc WatchInventoryChangesForCustomerOrder(ReserveInventoryForCustomerOrderRequest) returns (stream InventoryChangeNotification);
  rpc StreamInventoryAdjustmentsFromScanners(stream InventoryChangeNotification) returns (ReserveInventoryForCustomerOrderReply);
  rpc ExchangeInventoryNotificationsWithPeers(stream InventoryChangeNotification) returns (stream InventoryChangeNotification);
}
`;

const MEDIUM = `syntax = "proto3";
package loyalty.v1;
message Points { int64 balance = 1; }
service CustomerLoyaltyPointsLedgerService {
  rpc Balance(Points) returns (Points);
}
`;

const SHORT = `syntax = "proto3";
package shop.v1;
message Item { string sku = 1; }
service Shelf {
  rpc Get(Item) returns (Item);
  rpc Watch(Item) returns (stream Item);
}
`;

/** Runs biome check, with the generated project's biome.jsonc, over the files; its output when it objects. */
function biomeCheck(files: Record<string, string>): { status: number; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-stub-lint-'));
  try {
    const config = fs.readFileSync(path.join(repoRoot, 'templates/service/biome.jsonc'), 'utf8');
    // Outside a git checkout: the project's setting to follow .gitignore does not apply.
    fs.writeFileSync(path.join(dir, 'biome.jsonc'), config.replace(/"vcs":\s*\{[^}]*\},?/, ''));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const r = spawnSync(path.join(repoRoot, 'node_modules/.bin/biome'), ['check', ...Object.keys(files)], {
      cwd: dir,
      encoding: 'utf8',
    });
    return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('renderServerStub', () => {
  it('writes stubs the project formatter and linter accept, long names and every method kind included', async () => {
    const input = await compileInline({
      'warehouse/inventory/v1/inventory.proto': LONG,
      'loyalty/v1/ledger.proto': MEDIUM,
      'shop/v1/shelf.proto': SHORT,
    });
    const files: Record<string, string> = {};
    for (const file of input.files) {
      for (const service of file.services) {
        files[stubFileName(service)] = renderServerStub({
          service,
          targetDir: '/p/internal/service',
          protoRoot: '/p/api',
          runtimeDir: '/p/internal/pkg',
        });
      }
    }
    expect(Object.keys(files).sort()).toEqual([
      'customer_loyalty_points_ledger.ts',
      'shelf.ts',
      'warehouse_inventory_reservation_coordination.ts',
    ]);
    const long = files['warehouse_inventory_reservation_coordination.ts']!;
    // The long names did need wrapping: the check below covers the wrapped shapes.
    expect(long).toContain('import type {\n');
    expect(long).toContain('  async reserveInventoryForCustomerOrder(\n    _ctx: Context,\n');
    expect(long).toContain('\n  implements\n    WarehouseInventoryReservationCoordinationServiceHTTPServer,\n');
    expect(files['customer_loyalty_points_ledger.ts']).toContain(
      'export class CustomerLoyaltyPointsLedgerService\n  implements CustomerLoyaltyPointsLedgerServiceHTTPServer, ',
    );
    expect(files['shelf.ts']).toContain('  async get(_ctx: Context, _request: Item): Promise<Item> {\n');
    const lint = biomeCheck(files);
    expect(lint.status, lint.output).toBe(0);
  });

  it('leaves out its own register function where api/services.ts serves every service', async () => {
    const input = await compileInline({ 'shop/v1/shelf.proto': SHORT });
    const service = input.files[0]!.services[0]!;
    const common = { service, targetDir: '/p/internal/service', protoRoot: '/p/api', runtimeDir: '/p/internal/pkg' };
    const byHand = renderServerStub(common);
    const served = renderServerStub({ ...common, servedByServicesModule: true });
    expect(byHand).toContain('export function registerShelfService(');
    expect(served).not.toMatch(/register|HttpServer|GrpcServer/);
    const lint = biomeCheck({ 'shelf.ts': served });
    expect(lint.status, lint.output).toBe(0);
  });
});
