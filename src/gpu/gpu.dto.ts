import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { GPU_VIEW_STATUSES } from './gpu.view.js';

// OpenAPI shapes of the GPU views (gpu.view.ts). Readings a GPU cannot report are null, never 0;
// `unavailable` says why.

const UNAVAILABLE_REASONS = ['not_supported', 'mig_enabled', 'no_permission', 'function_not_found', 'no_data', 'nvml_error'];

export class UnavailableDto {
  @ApiProperty({ enum: UNAVAILABLE_REASONS, example: 'not_supported' })
  reason!: string;

  @ApiProperty({ description: 'nvmlReturn_t', example: 3 })
  nvmlCode!: number;

  @ApiProperty({ example: 'NVML_ERROR_NOT_SUPPORTED' })
  nvmlName!: string;
}

export class ReasonDto {
  @ApiProperty({ description: 'Policy reason (README, health policy)', example: 'gpu_lost' })
  reason!: string;

  @ApiProperty({ enum: ['warn', 'fail'], description: 'Effect on readiness', example: 'fail' })
  effect!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-15T09:30:00.000Z' })
  since!: string;

  @ApiProperty({ example: 'nvmlDeviceGetMemoryInfo_v2: NVML_ERROR_GPU_IS_LOST (15): GPU is lost' })
  detail!: string;

  @ApiProperty({ type: Number, nullable: true, example: 15 })
  nvmlCode!: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'NVML_ERROR_GPU_IS_LOST' })
  nvmlName!: string | null;

  @ApiProperty({ type: Number, nullable: true, description: 'XID for xid_critical', example: null })
  xid!: number | null;
}

export class ProcessDto {
  @ApiProperty({ description: 'PID as the driver reports it (a host PID when the container has its own PID namespace)', example: 4242 })
  pid!: number;

  @ApiProperty({ type: String, nullable: true, description: 'Name from this container’s /proc; null for PIDs that are not ours', example: 'python3' })
  name!: string | null;

  @ApiProperty({ type: Number, nullable: true, description: 'bytes', example: 1073741824 })
  usedMemoryBytes!: number | null;
}

export class MigDeviceDto {
  @ApiProperty({ example: 'MIG-1f2e3d4c-5b6a-7988-a7b6-c5d4e3f2a1b0' })
  uuid!: string;

  @ApiProperty({ example: 0 })
  index!: number;

  @ApiProperty({ type: String, nullable: true, example: 'NVIDIA A100-SXM4-80GB MIG 3g.40gb' })
  name!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 1 })
  gpuInstanceId!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 0 })
  computeInstanceId!: number | null;

  @ApiProperty({ description: 'Selected through CUDA_VISIBLE_DEVICES (or the whole GPU is used)', example: true })
  selected!: boolean;

  @ApiProperty({ enum: [...GPU_VIEW_STATUSES], description: 'Follows the parent GPU', example: 'up' })
  status!: string;

  @ApiProperty({ type: Number, nullable: true, description: 'bytes', example: 42144366592 })
  memoryTotalBytes!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'bytes', example: 0 })
  memoryUsedBytes!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'bytes', example: 42144366592 })
  memoryFreeBytes!: number | null;
}

export class MigDto {
  @ApiProperty({ type: Boolean, nullable: true, description: 'MIG mode in effect; null where MIG is not supported', example: false })
  enabled!: boolean | null;

  @ApiProperty({ type: [MigDeviceDto] })
  devices!: MigDeviceDto[];
}

const n = (description: string, example: number | null) => ApiProperty({ type: Number, nullable: true, description, example });

/** One GPU: identity, health and readings. */
export class GpuDto {
  @ApiProperty({ example: 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a' })
  uuid!: string;

  @ApiProperty({ description: 'NVML index, for display; GPUs are keyed by UUID', example: 0 })
  index!: number;

  @ApiProperty({ example: 'NVIDIA H200' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, example: '1654024077256' })
  serial!: string | null;

  @ApiProperty({ example: '00000000:00:06.0' })
  pciBusId!: string;

  @ApiProperty({ type: String, nullable: true, example: '9.0' })
  computeCapability!: string | null;

  @ApiProperty({ enum: [...GPU_VIEW_STATUSES], example: 'up' })
  status!: string;

  @ApiProperty({ type: [ReasonDto] })
  reasons!: ReasonDto[];

  @ApiProperty({ type: Number, nullable: true, description: 'Device-wide nvmlReturn_t behind down/lost', example: null })
  nvmlCode!: number | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  nvmlName!: string | null;

  @ApiProperty({ type: String, nullable: true, format: 'date-time', example: '2026-01-15T09:30:00.120Z' })
  sampledAt!: string | null;

  @n('Age of the readings, ms', 120)
  ageMs!: number | null;

  @n('bytes (nvmlDeviceGetMemoryInfo_v2)', 150754820096)
  memoryTotalBytes!: number | null;

  @n('bytes reserved by driver and firmware', 644939776)
  memoryReservedBytes!: number | null;

  @n('bytes used by processes (reserved excluded, as nvidia-smi shows it)', 0)
  memoryUsedBytes!: number | null;

  @n('bytes', 150109880320)
  memoryFreeBytes!: number | null;

  @n('°C', 41)
  temperatureCelsius!: number | null;

  @n('°C (NVML_TEMPERATURE_THRESHOLD_SLOWDOWN)', 89)
  temperatureSlowdownCelsius!: number | null;

  @n('°C (NVML_TEMPERATURE_THRESHOLD_SHUTDOWN)', 95)
  temperatureShutdownCelsius!: number | null;

  @n('mW', 128458)
  powerUsageMilliwatts!: number | null;

  @n('mW (enforced limit)', 700000)
  powerLimitMilliwatts!: number | null;

  @n('mJ since the driver loaded', 2254251)
  energyConsumedMillijoules!: number | null;

  @n('%', 0)
  utilizationGpuPercent!: number | null;

  @n('%', 0)
  utilizationMemoryPercent!: number | null;

  @n('0 = P0 (maximum performance) … 15', 0)
  performanceState!: number | null;

  @n('nvmlClocksEventReason* bitmask', 1)
  clockEventReasons!: number | null;

  @ApiProperty({ type: [String], nullable: true, example: ['gpu_idle'] })
  clockEventReasonNames!: string[] | null;

  @n('MHz', 1980)
  smClockMhz!: number | null;

  @n('MHz', 3201)
  memoryClockMhz!: number | null;

  @n('% (null on fanless datacenter GPUs)', null)
  fanSpeedPercent!: number | null;

  @ApiProperty({ type: Boolean, nullable: true, example: true })
  eccEnabled!: boolean | null;

  @n('uncorrectable ECC errors since the driver loaded', 0)
  eccVolatileUncorrected!: number | null;

  @n('corrected ECC errors since the driver loaded', 0)
  eccVolatileCorrected!: number | null;

  @n('uncorrectable ECC errors over the device lifetime', 0)
  eccAggregateUncorrected!: number | null;

  @n('rows remapped for correctable errors', 0)
  remappedRowsCorrectable!: number | null;

  @n('rows remapped for uncorrectable errors', 0)
  remappedRowsUncorrectable!: number | null;

  @ApiProperty({ type: Boolean, nullable: true, example: false })
  remappedRowsPending!: boolean | null;

  @ApiProperty({ type: Boolean, nullable: true, example: false })
  remappedRowsFailure!: boolean | null;

  @ApiProperty({ type: [ProcessDto], nullable: true })
  processes!: ProcessDto[] | null;

  @ApiProperty({ type: MigDto })
  mig!: MigDto;

  @ApiProperty({
    description: 'Why each null reading is null, by field name',
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(UnavailableDto) },
    example: { fanSpeedPercent: { reason: 'not_supported', nvmlCode: 3, nvmlName: 'NVML_ERROR_NOT_SUPPORTED' } },
  })
  unavailable!: Record<string, UnavailableDto>;
}

export class SystemDto {
  @ApiProperty({ example: '580.159.04' })
  driverVersion!: string;

  @ApiProperty({ example: '13.580.159.04' })
  nvmlVersion!: string;

  @ApiProperty({ type: String, nullable: true, example: '13.0' })
  cudaDriverVersion!: string | null;
}

export class SimulatorDto {
  @ApiProperty({ type: String, nullable: true, example: 'h200' })
  preset!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Scenario file the simulator runs', example: '/app/build/sim/run-h200.ini' })
  scenario!: string | null;
}

export class GpuListDto {
  @ApiProperty({ type: SimulatorDto, nullable: true, description: 'Set when the GPUs are simulated' })
  simulated!: SimulatorDto | null;

  @ApiProperty({ type: SystemDto })
  system!: SystemDto;

  @ApiProperty({ description: 'Age of the snapshot, ms', example: 230 })
  snapshotAgeMs!: number;

  @ApiProperty({ type: [GpuDto] })
  gpus!: GpuDto[];
}

export class ErrorDto {
  @ApiProperty({ example: 404 })
  statusCode!: number;

  @ApiProperty({ example: 'Not Found' })
  error!: string;

  @ApiPropertyOptional({ example: 'no GPU with UUID GPU-00000000-0000-0000-0000-000000000000' })
  message?: string;
}
