import { DynamicModule, Global, Module } from '@nestjs/common';
import { RUNTIME, type CairnRuntime } from './runtime';

/** Makes the runtime injectable (`@Inject(RUNTIME)`) in every feature module. */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(runtime: CairnRuntime): DynamicModule {
    return { module: RuntimeModule, providers: [{ provide: RUNTIME, useValue: runtime }], exports: [RUNTIME] };
  }
}
