import type { Readable } from 'node:stream';

/**
 * The chunks of a byte stream as they come, with at most `ahead` of them
 * held unread (the stream is paused meanwhile). A byte stream's own async
 * iterator calls read(), which joins whatever is buffered into one new
 * Buffer: a copy of every 1 MiB chunk that arrived while the consumer was
 * busy. A failure of the stream is thrown after the chunks that came before
 * it.
 */
export async function* streamChunks(stream: Readable, ahead: number): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length >= ahead) stream.pause();
    poke();
  };
  const onEnd = (): void => {
    ended = true;
    poke();
  };
  const onError = (e: Error): void => {
    failure = e;
    poke();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (queue.length < ahead && stream.isPaused()) stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
  }
}
