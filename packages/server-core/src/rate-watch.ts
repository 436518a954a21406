import type { Socket } from "node:net";
import { ServerError } from "./errors.js";

/**
 * Minimum data rate (slowloris defence): every `windowMs`, a connection that was in the middle of
 * something at both ends of the window — an upload, a download, a raw stream, a half-received
 * frame, as `isBusy` says — must have moved `minBytesPerSecond` on average, or `onSlow` is called
 * with a TOO_SLOW error. A connection resting between requests is left to the idle timeout.
 */
export class RateWatch {
  readonly #timer: NodeJS.Timeout;
  #movedAtTick = 0;
  #busyAtTick = false;

  constructor(
    socket: Socket,
    limits: { minBytesPerSecond: number; windowMs: number },
    isBusy: () => boolean,
    onSlow: (error: ServerError) => void,
  ) {
    const { minBytesPerSecond, windowMs } = limits;
    this.#timer = setInterval(() => {
      const moved = socket.bytesRead + socket.bytesWritten;
      const delta = moved - this.#movedAtTick;
      this.#movedAtTick = moved;
      const busy = isBusy();
      const judged = busy && this.#busyAtTick;
      this.#busyAtTick = busy;
      if (judged && delta < (minBytesPerSecond * windowMs) / 1000) {
        onSlow(new ServerError(`transfer slower than ${minBytesPerSecond} bytes/s over ${windowMs} ms (${delta} bytes moved)`, { code: "TOO_SLOW" }));
      }
    }, windowMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
