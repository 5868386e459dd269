export * from './bootstrap';
export * from './runtime';
export { AppModule } from './app.module';
export { PROJECTOR_THREAD_DIED } from './errors/cairn-exception.filter';
