export * from './bootstrap';
export * from './runtime';
export { AppModule } from './app.module';
