/** Minimal `--name value` / `--name=value` / `--flag` parsing with clear errors. */
export function parseFlags(args: string[], known: readonly string[], booleans: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (booleans.includes(name)) {
      out[name] = eq === -1 ? 'true' : arg.slice(eq + 1);
      continue;
    }
    if (!known.includes(name)) throw new Error(`unknown option --${name} (known: ${[...known, ...booleans].map((k) => `--${k}`).join(', ')})`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new Error(`--${name} needs a value`);
    out[name] = value;
  }
  return out;
}

/** Positional arguments first, then flags. */
export function splitPositional(args: string[]): { positional: string[]; rest: string[] } {
  const i = args.findIndex((a) => a.startsWith('--'));
  return i === -1 ? { positional: args, rest: [] } : { positional: args.slice(0, i), rest: args.slice(i) };
}
