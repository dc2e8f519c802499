// The fake's own controls; the port behaviour it shares with the binding is covered by the
// contract suite (test/contract).
import { describe, expect, it } from 'vitest';
import { NvmlShutdownError } from '../nvml.errors.js';
import { NvmlEventType } from '../nvml.types.js';
import { FakeNvmlClient } from './fake-nvml.client.js';
import { nvmlPreset } from './nvml.presets.js';

const [gpu0, gpu1] = nvmlPreset('h100x8').gpus.map((g) => g.uuid) as [string, string];

describe('FakeNvmlClient controls', () => {
  it('refuses faults on functions the binding never calls and on GPUs the preset lacks', () => {
    const fake = new FakeNvmlClient({ preset: 'h100x8' });
    expect(() => fake.failCall('nvmlDeviceGetTemprature', 3)).toThrow('nvmlDeviceGetTemprature is not an NVML function the binding calls');
    expect(() => fake.loseGpu('GPU-00000000-0000-0000-0000-000000000000')).toThrow('no GPU GPU-00000000-0000-0000-0000-000000000000 in preset h100x8');
    expect(() => new FakeNvmlClient({ preset: 'h300' as never })).toThrow("unknown NVML preset 'h300'");
  });

  it('applies a fault for the given number of calls only', async () => {
    const fake = new FakeNvmlClient({ preset: 'h100x8' });
    await fake.init();
    fake.failCall('nvmlDeviceGetPowerUsage', 4, { uuid: gpu0, times: 1 });
    expect((await fake.sampleDevice(gpu1)).errors.powerUsageMilliwatts).toBeUndefined();
    expect((await fake.sampleDevice(gpu0)).errors.powerUsageMilliwatts?.code).toBe(4);
    expect((await fake.sampleDevice(gpu0)).errors.powerUsageMilliwatts).toBeUndefined();
  });

  it('reflects changes to a GPU state in the next sample', async () => {
    const fake = new FakeNvmlClient({ preset: 'h100x8' });
    await fake.init();
    fake.gpu(gpu0).readings.temperatureCelsius = 87;
    expect((await fake.sampleDevice(gpu0)).readings.temperatureCelsius).toBe(87);
  });

  it('counts calls per NVML function, refused calls after shutdown, and calls in flight', async () => {
    const fake = new FakeNvmlClient({ preset: 'h100x8' });
    await fake.init();
    const hang = fake.hangCall('nvmlDeviceGetTemperature');
    const pending = [fake.sampleDevice(gpu0), fake.sampleDevice(gpu1), fake.sampleDevice(gpu0)];
    await expect.poll(() => hang.entered).toBe(2);
    expect(fake.runningCalls()).toEqual([`device:${gpu0}`, `device:${gpu1}`]);
    hang.release();
    await Promise.all(pending);
    await fake.shutdown();
    await expect(fake.listDevices()).rejects.toBeInstanceOf(NvmlShutdownError);

    const counters = fake.counters();
    expect(counters).toMatchObject({ callsAfterShutdown: 1, maxInFlight: 2 });
    expect(counters.calls).toMatchObject({ nvmlInit_v2: 1, nvmlShutdown: 1, nvmlDeviceGetTemperature: 2, nvmlDeviceGetHandleByUUID: 2 });
    expect(counters.calls.nvmlDeviceGetCount_v2).toBeUndefined();
    expect(fake.callStats().find((s) => s.fn === 'nvmlDeviceGetTemperature')).toMatchObject({ calls: 2, errorsByCode: {} });
  });

  it('delivers an XID event only to watches registered for that GPU and event type', async () => {
    const fake = new FakeNvmlClient({ preset: 'h100x8' });
    await fake.init();
    const xids: string[] = [];
    const eccOnly: string[] = [];
    await fake.watchEvents([gpu0], NvmlEventType.XID_CRITICAL_ERROR, { onEvent: (e) => xids.push(`${e.uuid}:${e.xid}`), onError: () => undefined });
    await fake.watchEvents([gpu0, gpu1], NvmlEventType.DOUBLE_BIT_ECC_ERROR, { onEvent: (e) => eccOnly.push(e.uuid), onError: () => undefined });
    fake.emitXid(gpu1, 48);
    fake.emitXid(gpu0, 79);
    await expect.poll(() => xids).toEqual([`${gpu0}:79`]);
    expect(eccOnly).toEqual([]);
  });

  it('answers a MIG UUID given to sampleDevice with an explicit error', async () => {
    const fake = new FakeNvmlClient({ preset: 'a100-mig' });
    await fake.init();
    const mig = fake.preset.gpus[0]!.migDevices[0]!.uuid;
    await expect(fake.sampleDevice(mig)).rejects.toThrow('samples whole GPUs only');
  });
});
