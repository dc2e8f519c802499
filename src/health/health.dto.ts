import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One check's outcome, as Terminus reports it; each check adds its own fields. */
export class HealthCheckDetailDto {
  @ApiProperty({ enum: ['up', 'down', 'degraded'], example: 'up' })
  status!: string;

  @ApiPropertyOptional({ description: 'Why it is down, when it is', example: 'insufficient_healthy_gpus' })
  reason?: string;
}

const checks = {
  type: 'object',
  additionalProperties: { $ref: '#/components/schemas/HealthCheckDetailDto' },
} as const;

/** The Terminus health body. */
export class HealthResponseDto {
  @ApiProperty({ enum: ['ok', 'degraded', 'error', 'shutting_down'], example: 'ok' })
  status!: string;

  @ApiProperty({ ...checks, description: 'Checks that are up or degraded', example: { heap: { status: 'up', usedBytes: 21474836, limitBytes: 1954210316 } } })
  info!: Record<string, HealthCheckDetailDto>;

  @ApiProperty({ ...checks, description: 'Checks that are down', example: {} })
  error!: Record<string, HealthCheckDetailDto>;

  @ApiProperty({ ...checks, description: 'Every check that ran', example: { heap: { status: 'up', usedBytes: 21474836, limitBytes: 1954210316 } } })
  details!: Record<string, HealthCheckDetailDto>;
}

export class TransitionReasonDto {
  @ApiProperty({ example: 'gpu_lost' })
  reason!: string;

  @ApiProperty({ example: 'nvmlDeviceGetMemoryInfo_v2: NVML_ERROR_GPU_IS_LOST (15): GPU is lost' })
  detail!: string;

  @ApiPropertyOptional({ type: Number, example: 15 })
  nvmlCode?: number;

  @ApiPropertyOptional({ type: String, example: 'NVML_ERROR_GPU_IS_LOST' })
  nvmlName?: string;

  @ApiPropertyOptional({ type: Number, example: 79 })
  xid?: number;
}

export class TransitionDto {
  @ApiProperty({ example: 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a' })
  uuid!: string;

  @ApiProperty({ example: 0 })
  index!: number;

  @ApiProperty({ example: 'NVIDIA H200' })
  name!: string;

  @ApiProperty({ enum: ['up', 'degraded', 'down'], example: 'up' })
  from!: string;

  @ApiProperty({ enum: ['up', 'degraded', 'down'], example: 'down' })
  to!: string;

  @ApiProperty({ format: 'date-time', example: '2026-01-15T09:30:00.000Z' })
  at!: string;

  @ApiProperty({ description: 'How long the previous status lasted, ms', example: 360000 })
  previousDurationMs!: number;

  @ApiProperty({ type: [TransitionReasonDto] })
  reasons!: TransitionReasonDto[];
}

export class TransitionsDto {
  @ApiProperty({ type: [TransitionDto] })
  transitions!: TransitionDto[];
}
