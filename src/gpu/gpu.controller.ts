import { BadRequestException, Controller, Get, NotFoundException, Param, type PipeTransform } from '@nestjs/common';
import { ApiBadRequestResponse, ApiExtraModels, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ErrorDto, GpuDto, GpuListDto, UnavailableDto } from './gpu.dto.js';
import { GpuMonitor } from './gpu.monitor.js';
import { gpuView, type GpuView } from './gpu.view.js';

const UUID = /^(GPU|MIG)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Rejects anything that is not a GPU or MIG UUID with 400. */
class GpuUuidPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) {
      throw new BadRequestException('expected a GPU UUID (GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or a MIG UUID (MIG-...)');
    }
    return value.slice(0, 4).toUpperCase() + value.slice(4).toLowerCase();
  }
}

/** The GPU inventory: every selected GPU, by UUID, with its health and readings. */
@ApiTags('gpus')
@ApiExtraModels(UnavailableDto)
@Controller('gpus')
export class GpuController {
  constructor(private readonly monitor: GpuMonitor) {}

  @Get()
  @ApiOperation({ summary: 'All selected GPUs', description: 'Answers from a snapshot no older than GPU_SNAPSHOT_MAX_AGE_MS.' })
  @ApiOkResponse({ type: GpuListDto })
  async list(): Promise<GpuListDto> {
    const snapshotAgeMs = await this.monitor.fresh();
    const inventory = this.monitor.getInventory()!;
    const now = Date.now();
    return {
      simulated: inventory.library.simulator,
      system: inventory.system,
      snapshotAgeMs,
      gpus: this.monitor.list().map((gpu) => gpuView(gpu, now)) as GpuDto[],
    };
  }

  @Get(':uuid')
  @ApiOperation({ summary: 'One GPU by UUID', description: 'A MIG UUID returns the GPU it belongs to.' })
  @ApiParam({ name: 'uuid', example: 'GPU-a7edcf28-a056-2c49-34b6-5db71afeea6a' })
  @ApiOkResponse({ type: GpuDto })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'Not a GPU or MIG UUID' })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No selected GPU has this UUID' })
  async get(@Param('uuid', GpuUuidPipe) uuid: string): Promise<GpuView> {
    await this.monitor.fresh();
    const gpu =
      this.monitor.get(uuid) ?? this.monitor.list().find((g) => g.inventory.identity.migDevices.some((m) => m.uuid === uuid));
    if (!gpu) throw new NotFoundException(`no GPU with UUID ${uuid}`);
    return gpuView(gpu, Date.now());
  }
}
