// The process's own metrics beside the request metrics, as a Go service's /metrics has
// its go_* and process_* series: CPU time, resident memory, the V8 heap by space and how
// late the event loop runs. Names and attributes are the OpenTelemetry semantic
// conventions' for process and Node.js runtime metrics. All are read when a reader
// collects (a scrape, an OTLP push): nothing runs per request. With OpenTelemetry's
// runtime-node instrumentation enabled (getNodeAutoInstrumentations() has it), its own
// event-loop and heap metrics take the place of these, which share their names.
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import { metrics } from '@opentelemetry/api';

/** The instrumentation that measures the Node.js runtime under the same metric names. */
export const RUNTIME_NODE_INSTRUMENTATION = '@opentelemetry/instrumentation-runtime-node';

/**
 * Registers the instruments and, unless `nodeRuntime` is false (the runtime-node
 * instrumentation measures it), starts watching the event loop; returns what stops it.
 */
export function observeRuntime({ nodeRuntime = true }: { nodeRuntime?: boolean } = {}): () => void {
  const meter = metrics.getMeter('tsk');
  meter
    .createObservableCounter('process.cpu.time', { unit: 's', description: 'CPU time the process used, by state' })
    .addCallback((result) => {
      const { user, system } = process.cpuUsage();
      result.observe(user / 1e6, { 'process.cpu.state': 'user' });
      result.observe(system / 1e6, { 'process.cpu.state': 'system' });
    });
  meter
    .createObservableUpDownCounter('process.memory.usage', { unit: 'By', description: 'Resident set size' })
    .addCallback((result) => result.observe(process.memoryUsage.rss()));
  if (!nodeRuntime) return () => {};

  // Sampled every 20 ms: finer than that costs timer wake-ups and shows nothing a p99 would not.
  const resolutionMs = 20;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  // The histogram holds each sample's whole interval; how late the loop ran is what exceeds it.
  const late = (ns: number) => Math.max(0, ns / 1e6 - resolutionMs) / 1e3;
  delay.enable();
  let utilizationSince = performance.eventLoopUtilization();

  const heapUsed = meter.createObservableUpDownCounter('v8js.memory.heap.used', {
    unit: 'By',
    description: 'V8 heap in use, by space',
  });
  const heapLimit = meter.createObservableUpDownCounter('v8js.memory.heap.limit', {
    unit: 'By',
    description: 'V8 heap reserved, by space',
  });
  meter.addBatchObservableCallback(
    (result) => {
      for (const space of v8.getHeapSpaceStatistics()) {
        const attributes = { 'v8js.heap.space.name': space.space_name };
        result.observe(heapUsed, space.space_used_size, attributes);
        result.observe(heapLimit, space.space_size, attributes);
      }
    },
    [heapUsed, heapLimit],
  );

  // Event-loop delay and utilization cover the time since the previous collection.
  const delayGauge = (stat: string) =>
    meter.createObservableGauge(`nodejs.eventloop.delay.${stat}`, {
      unit: 's',
      description: `How late the event loop ran, ${stat} since the last collection`,
    });
  const delayP50 = delayGauge('p50');
  const delayP99 = delayGauge('p99');
  const delayMax = delayGauge('max');
  const utilization = meter.createObservableGauge('nodejs.eventloop.utilization', {
    unit: '1',
    description: 'Share of time the event loop was busy since the last collection',
  });
  meter.addBatchObservableCallback(
    (result) => {
      if (delay.count > 0) {
        result.observe(delayP50, late(delay.percentile(50)));
        result.observe(delayP99, late(delay.percentile(99)));
        result.observe(delayMax, late(delay.max));
      }
      delay.reset();
      const now = performance.eventLoopUtilization();
      result.observe(utilization, performance.eventLoopUtilization(now, utilizationSince).utilization);
      utilizationSince = now;
    },
    [delayP50, delayP99, delayMax, utilization],
  );
  return () => delay.disable();
}
