/**
 * Binary min-heap keyed by due time. The scheduler keeps one timer for the
 * earliest entry, so 100k jobs cost one heap and one setTimeout, not 100k timers.
 * Removal is lazy: callers bump an entry's version and stale nodes are skipped.
 */
export interface HeapNode {
  due: number;
  name: string;
  version: number;
}

export class MinHeap {
  private readonly nodes: HeapNode[] = [];

  get size(): number {
    return this.nodes.length;
  }

  peek(): HeapNode | undefined {
    return this.nodes[0];
  }

  push(node: HeapNode): void {
    const a = this.nodes;
    a.push(node);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((a[parent] as HeapNode).due <= node.due) break;
      a[i] = a[parent] as HeapNode;
      i = parent;
    }
    a[i] = node;
  }

  pop(): HeapNode | undefined {
    const a = this.nodes;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && (a[r] as HeapNode).due < (a[l] as HeapNode).due ? r : l;
      if ((a[child] as HeapNode).due >= last.due) break;
      a[i] = a[child] as HeapNode;
      i = child;
    }
    a[i] = last;
    return top;
  }

  clear(): void {
    this.nodes.length = 0;
  }
}
