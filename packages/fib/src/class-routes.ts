import type { RouteClass } from './constants.js';
import type { RouteTarget } from './types.js';

/** Routes one manager wants for one (class, interface): the argument triple of `setRoutes`. */
export interface ClassRoutes {
  cls: RouteClass;
  iface: string;
  routes: RouteTarget[];
}
