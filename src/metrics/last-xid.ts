/**
 * The last XID per GPU, as dcgm-exporter's DCGM_FI_DEV_XID_ERRORS reports it, derived from the
 * per-XID event counts GpuMonitor keeps: an XID whose count rose since the previous look is the
 * newest. When several different XIDs arrived between two looks their order is unknown here;
 * the XID of the GPU's critical-XID finding wins, else the highest number. (DCGM samples this
 * field too, so it also shows one XID per interval.)
 */
export class LastXid {
  private readonly counts = new Map<string, Map<number, number>>();
  private readonly last = new Map<string, number>();

  /**
   * Takes the current counts and returns the last XID of each GPU seen so far.
   * `criticalXid(uuid)` is the XID of the GPU's active critical-XID finding, if any.
   */
  update(
    counts: ReadonlyMap<string, ReadonlyMap<number, number>>,
    criticalXid: (uuid: string) => number | undefined,
  ): ReadonlyMap<string, number> {
    for (const [uuid, byXid] of counts) {
      const before = this.counts.get(uuid) ?? new Map<number, number>();
      const rose = [...byXid].filter(([xid, count]) => count > (before.get(xid) ?? 0)).map(([xid]) => xid);
      if (rose.length > 0) {
        const hint = criticalXid(uuid);
        this.last.set(uuid, hint !== undefined && rose.includes(hint) ? hint : Math.max(...rose));
      }
      this.counts.set(uuid, new Map(byXid));
    }
    return this.last;
  }
}
