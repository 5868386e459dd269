/**
 * Splits a byte stream into NDJSON lines without holding more than one line (bounded by
 * `maxLineBytes`) and the current chunk: a line longer than that is reported as too long, its
 * bytes skipped up to the next newline, never buffered. Lines are numbered from 1 as in the file;
 * blank lines (and a lone `\r` before the newline) are skipped but keep their number.
 */
export type NdjsonLine =
  | { readonly line: number; readonly bytes: Buffer; readonly tooLong?: undefined }
  | { readonly line: number; readonly tooLong: true; readonly size: number };

const NEWLINE = 0x0a;
const CR = 0x0d;

export async function* ndjsonLines(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<NdjsonLine> {
  let line = 1;
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = false;
  const finish = (tail: Buffer): NdjsonLine | null => {
    if (overflow) {
      const total = size + tail.length;
      parts = [];
      size = 0;
      overflow = false;
      return { line, tooLong: true, size: total };
    }
    let bytes = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
    parts = [];
    size = 0;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    if (line === 1 && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3, end);
    else if (end !== bytes.length) bytes = bytes.subarray(0, end);
    if (isBlank(bytes)) return null;
    return { line, bytes };
  };
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const stop = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, stop);
      if (!overflow && size + piece.length > maxLineBytes) {
        overflow = true;
        parts = [];
      }
      if (nl === -1) {
        if (overflow) size += piece.length;
        else if (piece.length > 0) {
          // Copied: the chunk's memory may be reused by the stream once we return it.
          parts.push(Buffer.from(piece));
          size += piece.length;
        }
        break;
      }
      const out = finish(piece);
      if (out !== null) yield out;
      line++;
      start = nl + 1;
    }
  }
  if (size > 0 || overflow) {
    const out = finish(Buffer.alloc(0));
    if (out !== null) yield out;
  }
}

function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}
