import type { KernelRoute } from './types.js';

/** One change a driver applies: replace (add or overwrite) or delete a route. */
export type RouteOp =
  | { readonly op: 'replace'; readonly route: KernelRoute }
  | { readonly op: 'delete'; readonly route: KernelRoute };

/** An op the driver could not apply, with the reason (e.g. the kernel's error text). */
export interface RouteOpFailure {
  op: RouteOp;
  reason: string;
}

/** What a driver reads back: every route in the table, and the interfaces that exist. */
export interface TableSnapshot {
  routes: KernelRoute[];
  links: string[];
}

/**
 * A change seen in the table that the route table may not have made itself. `route` events carry
 * enough for cheap filtering; `link` means interfaces appeared, vanished or changed state.
 */
export type TableEvent =
  | {
      kind: 'route';
      deleted: boolean;
      dst: string;
      protocol: number;
      dev: string | undefined;
      /** The gateway of a single-path route, when the event shows one. */
      via?: string | undefined;
    }
  | { kind: 'link' };

/**
 * Backend of a `RouteTable`: the kernel through iproute2, or memory. A driver knows nothing about
 * route classes or ownership: it reads back, applies ops and reports outside changes.
 */
export interface RouteDriver {
  readonly kind: string;
  /** Reads back every route of the table (both families) and the interface names. */
  read(): Promise<TableSnapshot>;
  /** Applies ops in order; each op is atomic on its own. Returns the ops that failed. */
  apply(ops: readonly RouteOp[]): Promise<RouteOpFailure[]>;
  /** Starts reporting table changes; returns a function that stops. */
  watch(onEvent: (ev: TableEvent) => void): () => void;
  close(): Promise<void>;
}
