import { type DynamicModule, type InjectionToken, Module, type ModuleMetadata } from '@nestjs/common';
import { CudaClient } from './cuda.client.js';
import { ThreadedCudaClient, type ThreadedCudaClientOptions } from './koffi/threaded-cuda.client.js';

/** Options of CudaModule.forRootAsync. */
export interface CudaModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: InjectionToken[];
  useFactory: (...args: never[]) => ThreadedCudaClientOptions | Promise<ThreadedCudaClientOptions>;
}

/** Provides `CudaClient` (the koffi binding on worker threads); nothing loads before a call. */
@Module({})
export class CudaModule {
  static forRootAsync(options: CudaModuleAsyncOptions): DynamicModule {
    return {
      module: CudaModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: CudaClient,
          inject: options.inject ?? [],
          useFactory: async (...args: never[]) => new ThreadedCudaClient(await options.useFactory(...args)),
        },
      ],
      exports: [CudaClient],
    };
  }
}
