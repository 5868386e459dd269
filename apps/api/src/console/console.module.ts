import { Module } from '@nestjs/common';
import { ConsoleHttpController } from './console.http.controller';

/** Serves the web console's build at /console (sources in console/, docs/console.md). */
@Module({ controllers: [ConsoleHttpController] })
export class ConsoleModule {}
