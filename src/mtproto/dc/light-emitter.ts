// A small typed event emitter for objects a process keeps thousands of (one per DC connection): nothing is
// allocated until a listener is added. Node's EventEmitter costs about 200 bytes per instance before any listener
// (four fields and a dictionary-mode `_events` object), and `once` adds a state object and a bound function.
// The EventEmitter subset people use, with its semantics: listeners run synchronously in the order they were added,
// with `this` set to the emitter; a listener added or removed during an emit does not change that emit; `once`
// listeners can be removed by the function given to `once`. Unlike EventEmitter, 'error' is not special.

type Listener<A extends unknown[]> = (...args: A) => void
type AnyListener = (...args: any[]) => void

type Handlers<E> = Partial<Record<keyof E, AnyListener[]>>

/** A `once` wrapper remembers the listener it wraps, so that off(event, listener) finds it. */
interface OnceWrapper extends AnyListener {
  listener: AnyListener
}

export class LightEmitter<E extends Record<keyof E, unknown[]>> {
  /** Listeners by event; created on the first on(). */
  private handlers: Handlers<E> | undefined

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const handlers = (this.handlers ??= {} as Handlers<E>)
    const list = handlers[event]
    if (list) list.push(listener)
    else handlers[event] = [listener]
    return this
  }

  addListener<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.on(event, listener)
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const emitter = this
    const wrapper = function (this: unknown, ...args: E[K]): void {
      emitter.off(event, wrapper)
      listener.apply(this, args)
    } as OnceWrapper
    wrapper.listener = listener
    return this.on(event, wrapper)
  }

  /** Removes the most recently added registration of `listener` (given to on() or once()). */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.handlers?.[event]
    if (!list) return this
    for (let i = list.length - 1; i >= 0; i--) {
      const l = list[i]!
      if (l === listener || (l as Partial<OnceWrapper>).listener === listener) {
        if (list.length === 1) delete this.handlers![event]
        else list.splice(i, 1)
        break
      }
    }
    return this
  }

  removeListener<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.off(event, listener)
  }

  removeAllListeners(event?: keyof E): this {
    if (event === undefined) this.handlers = undefined
    else if (this.handlers) delete this.handlers[event]
    return this
  }

  listenerCount(event: keyof E): number {
    return this.handlers?.[event]?.length ?? 0
  }

  /** Calls every listener of `event`; true if there was one. */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.handlers?.[event]
    if (!list) return false
    if (list.length === 1) list[0]!.apply(this, args)
    else for (const l of list.slice()) l.apply(this, args)
    return true
  }
}
