/**
 * A tiny typed event emitter. Unlike Node's `EventEmitter`, an `error`
 * event with no listener is simply dropped, and a throwing listener cannot
 * break the worker.
 *
 * @example
 * ```ts
 * const events = createEmitter<{ tick: number }>();
 * const off = events.on("tick", (n) => console.log(n));
 * events.emit("tick", 1);
 * off();
 * ```
 */

type Listener<T> = (payload: T) => void;

/** Subscribe to and emit events of the map `E` (event name → payload). */
export interface Emitter<E> {
  /** Listen; returns a function that stops listening. */
  on<K extends keyof E>(name: K, listener: Listener<E[K]>): () => void;
  off<K extends keyof E>(name: K, listener: Listener<E[K]>): void;
  /** The next event `name` whose payload passes `filter`. */
  once<K extends keyof E>(name: K, filter?: (payload: E[K]) => boolean): Promise<E[K]>;
  emit<K extends keyof E>(name: K, payload: E[K]): void;
  /** Whether anyone listens to `name` (to skip building a payload nobody reads). */
  heard(name: keyof E): boolean;
}

/**
 * Create an emitter. `onListenerError` hears about listeners that threw
 * (default: `console.error`).
 *
 * @example
 * ```ts
 * const events = createEmitter<WorkerEvents>();
 * const ack = await events.once("ack", (a) => a.taskId === id);
 * ```
 */
export function createEmitter<E>(onListenerError: (err: unknown, name: keyof E) => void = reportToConsole): Emitter<E> {
  const listeners = new Map<keyof E, Set<Listener<never>>>();
  const self: Emitter<E> = {
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener as Listener<never>);
      return () => self.off(name, listener);
    },
    off(name, listener) {
      listeners.get(name)?.delete(listener as Listener<never>);
    },
    once(name, filter) {
      return new Promise((resolve) => {
        const off = self.on(name, (payload) => {
          if (filter && !filter(payload)) return;
          off();
          resolve(payload);
        });
      });
    },
    heard(name) {
      return (listeners.get(name)?.size ?? 0) > 0;
    },
    emit(name, payload) {
      for (const listener of [...(listeners.get(name) ?? [])]) {
        try {
          (listener as Listener<E[typeof name]>)(payload);
        } catch (err) {
          // A listener's bug must not break the worker: report it and go on.
          onListenerError(err, name);
        }
      }
    },
  };
  return self;
}

function reportToConsole(err: unknown, name: PropertyKey): void {
  console.error(`weft: a "${String(name)}" listener threw`, err);
}
