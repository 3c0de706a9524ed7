/**
 * A small unbounded async queue with one reader: the outgoing side of the
 * worker stream. Whatever is pushed comes out of `for await` in order;
 * `close()` lets the reader finish what is queued and then ends it, which
 * half-closes the bidi call that reads the channel.
 *
 * @example
 * ```ts
 * const out = createChannel<WorkerMessage>();
 * const responses = client.connect(out);
 * out.push(hello);
 * out.close(); // the server sees the end of the request stream
 * ```
 */

/** The writer's and the reader's view of a channel. */
export interface Channel<T> extends AsyncIterable<T> {
  /** Queue a value; false (and dropped) once the channel is closed. */
  push(value: T): boolean;
  /** No more values: the reader drains the queue, then sees the end. */
  close(): void;
  readonly closed: boolean;
}

/**
 * Create a channel. Iterate it once; a second iterator shares the same queue.
 *
 * @example
 * ```ts
 * const ch = createChannel<number>();
 * ch.push(1); ch.close();
 * for await (const n of ch) console.log(n); // 1
 * ```
 */
export function createChannel<T>(): Channel<T> {
  const queue: T[] = [];
  let closed = false;
  let waiting: ((r: IteratorResult<T, undefined>) => void) | undefined;

  const wake = (): void => {
    const w = waiting;
    if (!w) return;
    if (queue.length > 0) {
      waiting = undefined;
      w({ value: queue.shift() as T, done: false });
    } else if (closed) {
      waiting = undefined;
      w({ value: undefined, done: true });
    }
  };

  const iterator: AsyncIterator<T, undefined> = {
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift() as T, done: false });
      if (closed) return Promise.resolve({ value: undefined, done: true });
      if (waiting) return Promise.reject(new Error("channel: only one pending read at a time"));
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return() {
      // The reader gave up (the call ended): nothing queued will be read.
      abandon();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err: unknown) {
      // Connect aborts a request stream this way; like a generator without
      // a catch, the channel ends and the error comes back.
      abandon();
      return Promise.reject(err);
    },
  };

  function abandon(): void {
    closed = true;
    queue.length = 0;
    wake();
  }

  return {
    push(value) {
      if (closed) return false;
      queue.push(value);
      wake();
      return true;
    },
    close() {
      closed = true;
      wake();
    },
    get closed() {
      return closed;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
}
