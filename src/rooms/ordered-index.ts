// The Directory's in-memory order of listed rooms: (createdAt, roomID), kept sorted with binary search,
// so a page of `get_room_list` is a slice (O(cnt)) instead of an SQL OFFSET walk (O(index)).

export interface OrderKey {
  createdAt: number;
  roomID: string;
}

/** Total order of the room list: creation time, then roomID (code-unit order; roomIDs are ASCII). */
export function compareKeys(a: OrderKey, b: OrderKey): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  if (a.roomID === b.roomID) return 0;
  return a.roomID < b.roomID ? -1 : 1;
}

export class OrderedIndex {
  private readonly keys: OrderKey[];

  /** Takes ownership of `keys` (any order; duplicates of one roomID are the caller's bug). */
  constructor(keys: OrderKey[] = []) {
    this.keys = keys.sort(compareKeys);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Inserts the key unless present. O(log n) search plus an O(n) memmove. */
  insert(key: OrderKey): void {
    const at = this.lowerBound(key);
    const found = this.keys[at];
    if (found && compareKeys(found, key) === 0) return;
    this.keys.splice(at, 0, { createdAt: key.createdAt, roomID: key.roomID });
  }

  /** Removes the key if present. */
  remove(key: OrderKey): boolean {
    const at = this.lowerBound(key);
    const found = this.keys[at];
    if (!found || compareKeys(found, key) !== 0) return false;
    this.keys.splice(at, 1);
    return true;
  }

  /** The keys at positions [index, index + cnt): an empty list when cnt <= 0 or index is past the end. */
  page(index: number, cnt: number): OrderKey[] {
    if (!(cnt > 0)) return [];
    const start = Math.max(0, Math.floor(Number.isFinite(index) ? index : 0));
    return this.keys.slice(start, start + Math.floor(cnt));
  }

  /** First position whose key is >= `key`. */
  private lowerBound(key: OrderKey): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
