/**
 * One output stream of a script, bounded: keeps the first `limit` bytes and (to find a result line
 * at the very end) a rolling window of the last `limit` bytes; everything between is read and dropped,
 * so a chatty script neither blocks on a full pipe nor grows the runner's memory.
 */
export class BoundedCapture {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Bytes that fell out of both the head and the tail window. */
  private dropped = false;
  truncated = false;

  constructor(private readonly limit: number) {}

  write(chunk: Buffer): void {
    let rest = chunk;
    const room = this.limit - this.headBytes;
    if (room > 0) {
      const kept = rest.subarray(0, room);
      this.head.push(kept);
      this.headBytes += kept.length;
      rest = rest.subarray(kept.length);
    }
    if (rest.length === 0) return;
    this.truncated = true;
    this.tail.push(rest);
    this.tailBytes += rest.length;
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= this.limit) {
      this.tailBytes -= this.tail.shift()!.length;
      this.dropped = true;
    }
  }

  /** The kept text: at most `limit` bytes of UTF-8, never ending in a cut character. */
  text(): string {
    const bytes = Buffer.concat(this.head);
    return bytes.subarray(0, this.truncated ? endOfLastWholeChar(bytes) : bytes.length).toString('utf8');
  }

  /** The last non-empty line of everything written, when it fits in the tail window. */
  lastLine(): string | undefined {
    const end = this.dropped ? this.tail : [...this.head, ...this.tail];
    const lines = Buffer.concat(end).toString('utf8').split('\n');
    // With dropped bytes the first line of the window is a fragment: never take it.
    const whole = this.dropped ? lines.slice(1) : lines;
    for (let i = whole.length - 1; i >= 0; i--) {
      const line = whole[i]!.trim();
      if (line !== '') return line;
    }
    return undefined;
  }
}

/** Length of `bytes` without a trailing, incomplete UTF-8 sequence. */
function endOfLastWholeChar(bytes: Buffer): number {
  let start = bytes.length - 1;
  // Walk back over continuation bytes (10xxxxxx) to the lead byte of the last sequence.
  while (start > 0 && bytes.length - start < 4 && (bytes[start]! & 0xc0) === 0x80) start--;
  if (start < 0) return 0;
  const lead = bytes[start]!;
  const length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start + length <= bytes.length ? bytes.length : start;
}
