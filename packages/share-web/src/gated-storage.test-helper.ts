// A Storage that holds every resumable upload's writes once it holds `holdAt` bytes of its file,
// until release(): the browser test closes its page while uploads are provably mid-way,
// whatever the machine's speed. Everything else goes straight to the wrapped storage.
import type { ResumableUpload, Storage } from "@ferry/server-core";

export interface Gate {
  /** Resolves once `count` uploads are held. */
  held(count: number): Promise<void>;
  /** Lets every held upload go on, and holds nothing from now on. */
  release(): void;
}

/**
 * `holdAt`: resumable uploads are held once they hold this many bytes of their file; `readsHoldAt`
 * (optional): reads of stored files at or past this position wait too.
 */
export function gateResumableWrites(storage: Storage, holdAt: number, readsHoldAt = Infinity): { storage: Storage; gate: Gate } {
  let open = false;
  let releaseAll!: () => void;
  const released = new Promise<void>((resolve) => (releaseAll = resolve));
  let heldCount = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const onHeld = (): void => {
    heldCount++;
    for (const waiter of waiters.filter((w) => heldCount >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const unwrapped = new WeakMap<object, ResumableUpload>();
  const wrapUpload = (file: ResumableUpload, offset: number): ResumableUpload => {
    // Counted from the start of the file: each PATCH opens the upload again at what it holds.
    let written = offset;
    let holding: Promise<void> | null = null;
    const proxy = new Proxy(file, {
      get(target, key) {
        if (key === "write") {
          return (chunk: Buffer): boolean => {
            const ready = target.write(chunk);
            written += chunk.length;
            if (!open && holding === null && written >= holdAt) {
              holding = released;
              onHeld();
            }
            return ready && (open || holding === null);
          };
        }
        if (key === "drained") return async () => {
          if (holding) await holding;
          await target.drained();
        };
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    unwrapped.set(proxy, file);
    return proxy;
  };
  const gated = new Proxy(storage, {
    get(target, key) {
      if (key === "openResumable") {
        return async (...args: Parameters<Storage["openResumable"]>) => {
          const opened = await target.openResumable(...args);
          return { ...opened, file: wrapUpload(opened.file, opened.offset) };
        };
      }
      if (key === "openForRead") {
        return async (name: string) => {
          const reader = await target.openForRead(name);
          let counted = false;
          return new Proxy(reader, {
            get(inner, innerKey) {
              if (innerKey === "read") {
                return async (buffer: Buffer, length: number, position: number) => {
                  if (!open && position + length > readsHoldAt) {
                    if (!counted) {
                      counted = true;
                      onHeld();
                    }
                    await released;
                  }
                  return inner.read(buffer, length, position);
                };
              }
              const value = Reflect.get(inner, innerKey) as unknown;
              return typeof value === "function" ? value.bind(inner) : value;
            },
          });
        };
      }
      if (key === "publish") {
        return (file: ResumableUpload, ...rest: unknown[]) => (target.publish as (...a: unknown[]) => unknown)(unwrapped.get(file) ?? file, ...rest);
      }
      if (key === "folder") return async (relative: string) => gateResumableWrites(await target.folder(relative), holdAt, readsHoldAt).storage;
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    storage: gated,
    gate: {
      held: (count) => (heldCount >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
      release: () => {
        open = true;
        releaseAll();
      },
    },
  };
}
