/** How a BoundedCache is bounded: entries, total weight (each value's `weigh`), and age. */
export interface CacheBounds<V> {
  /** The most entries kept. */
  maxEntries?: number;
  /** The most total weight kept (a value heavier than this alone is not kept at all). */
  maxWeight?: number;
  /** The weight of a value (default 1). */
  weigh?: (value: V) => number;
  /** How long an entry is served after it was set (milliseconds). */
  ttlMs?: number;
  /** The clock (unix milliseconds), for tests. */
  now?: () => number;
}

interface Slot<V> {
  value: V;
  weight: number;
  expires: number;
}

/**
 * A map that stays within its bounds: the least recently used entries leave first when there are too many or
 * they weigh too much, and an entry older than `ttlMs` is never served (expired entries at the old end are
 * dropped on every write, the others when they are read).
 */
export class BoundedCache<K, V> {
  private readonly slots = new Map<K, Slot<V>>();
  private total = 0;

  constructor(private readonly bounds: CacheBounds<V>) {}

  /** The number of entries kept. */
  get size(): number {
    return this.slots.size;
  }

  /** The total weight kept. */
  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.slots.delete(key);
    if (slot.expires <= this.now()) {
      this.total -= slot.weight;
      return undefined;
    }
    this.slots.set(key, slot);
    return slot.value;
  }

  /** Keeps `value` under `key`; false when it weighs more than the whole cache may (it is then not kept). */
  set(key: K, value: V): boolean {
    this.delete(key);
    const weight = this.bounds.weigh?.(value) ?? 1;
    const { maxEntries = Infinity, maxWeight = Infinity, ttlMs = Infinity } = this.bounds;
    const now = this.now();
    if (weight > maxWeight || maxEntries < 1 || ttlMs <= 0) return false;
    this.slots.set(key, { value, weight, expires: now + ttlMs });
    this.total += weight;
    for (const [oldest, slot] of this.slots) {
      if (this.slots.size <= maxEntries && this.total <= maxWeight && slot.expires > now) break;
      this.delete(oldest);
    }
    return true;
  }

  delete(key: K): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.slots.delete(key);
    this.total -= slot.weight;
  }

  private now(): number {
    return this.bounds.now?.() ?? Date.now();
  }
}
