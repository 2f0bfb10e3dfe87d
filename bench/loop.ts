/** Runs the scenario for about `ms` milliseconds and returns its rate in operations per second. */
export type Timed = (ms: number) => Promise<number>

/**
 * Turns a one-op function into a timed loop: one op at a time, each awaited, as a request would.
 * Only Web APIs: the same loop runs inside the EdgeVM.
 */
export function loop(op: () => unknown): Timed {
  return async (ms) => {
    const start = performance.now()
    let n = 0
    // Check the clock every 16 ops: performance.now() is cheap but not free next to a 3 µs op.
    while (true) {
      for (let i = 0; i < 16; i++) await op()
      n += 16
      const elapsed = performance.now() - start
      if (elapsed >= ms) return n / (elapsed / 1000)
    }
  }
}
