// Prints, as one JSON line, what telemetrySettingsWarnings finds for this process's
// OTEL_* variables (what a service's `--check` prints), then exits as --check does.
import { telemetrySettingsWarnings } from '../../src/runtime/telemetry/sdk.js';

const warnings = await telemetrySettingsWarnings({ endpoint: '127.0.0.1:4317' });
process.stdout.write(`${JSON.stringify(warnings)}\n`);
process.exit(0);
