import { type DynamicModule, type InjectionToken, Module, type ModuleMetadata } from '@nestjs/common';
import { ThreadedNvmlClient, type ThreadedNvmlClientOptions } from './koffi/threaded-nvml.client.js';
import { NvmlClient } from './nvml.client.js';

/** Options of NvmlModule.forRootAsync. */
export interface NvmlModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: InjectionToken[];
  useFactory: (...args: never[]) => ThreadedNvmlClientOptions | Promise<ThreadedNvmlClientOptions>;
}

/**
 * Provides `NvmlClient` (the koffi binding on worker threads). Nothing is loaded until the
 * client's `init()`; tests replace the `NvmlClient` provider with `FakeNvmlClient`.
 */
@Module({})
export class NvmlModule {
  static forRootAsync(options: NvmlModuleAsyncOptions): DynamicModule {
    return {
      module: NvmlModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: NvmlClient,
          inject: options.inject ?? [],
          useFactory: async (...args: never[]) => new ThreadedNvmlClient(await options.useFactory(...args)),
        },
      ],
      exports: [NvmlClient],
    };
  }
}
