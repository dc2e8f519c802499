/**
 * A minimal DevTools-protocol client for a process started with `--inspect=127.0.0.1:0`: finds
 * its WebSocket in the "Debugger listening on ws://..." line, then runs a full garbage
 * collection and reads the JS heap, so memory figures can tell retained heap from RSS.
 */
export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (result: Record<string, unknown>) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown> };
      if (message.id !== undefined) this.pending.get(message.id)?.(message.result ?? {});
    });
  }

  /** Connects to the URL in a `Debugger listening on ws://...` line. */
  static async connect(line: string): Promise<Inspector> {
    const url = line.match(/ws:\/\/\S+/)?.[0];
    if (!url) throw new Error(`no inspector URL in: ${line}`);
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
    return new Inspector(socket);
  }

  private send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Full GC of the main thread's heap, then its used size, bytes. */
  async heapAfterGc(): Promise<number> {
    await this.send('HeapProfiler.collectGarbage');
    const usage = await this.send('Runtime.getHeapUsage');
    return Number(usage.usedSize);
  }

  close(): void {
    this.socket.close();
  }
}
