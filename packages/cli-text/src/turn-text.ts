// A turn that makes more than this is written at once: a long listing is never held whole.
const PENDING_LIMIT = 64 * 1024;

/**
 * Text gathered over one turn of the event loop and handed to `write` as one string, at the end of
 * the turn, or at once when 64 KiB wait. Both command lines print a line per file: one write each
 * cost the server ~12 µs a stored file (sonic-boom re-measures its pending buffer on every write)
 * and `ferry send` ~5 µs (a write(2) each) (docs/performance.md, "W2, third session" and "W1 and
 * W2, fourth session"). flush() writes what waits now: before another writer of the same output,
 * and at exit. No I/O of its own: `write` does it.
 */
export function textPerTurn(write: (text: string) => void): { write(text: string): void; flush(): void } {
  let pending = "";
  let scheduled = false;
  const flush = (): void => {
    if (pending === "") return;
    const text = pending;
    pending = "";
    write(text);
  };
  return {
    write(text) {
      pending += text;
      if (pending.length >= PENDING_LIMIT) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          scheduled = false;
          flush();
        });
      }
    },
    flush,
  };
}
