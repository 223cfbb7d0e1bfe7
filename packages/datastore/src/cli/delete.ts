import type { Datastore } from '../datastore.js';
import { NotFoundError } from '../errors.js';
import { ResourceStore } from '../resources/store.js';
import { NAMESPACED_KINDS } from '../resources/types.js';
import { type CliIo, type DatastoreArgs, kindList, parseKind, withDatastore } from './common.js';

export interface DeleteArgs extends DatastoreArgs {
  kind: string;
  name: string;
  namespace?: string;
}

/** `tabby delete KIND NAME`. */
export async function runDelete(args: DeleteArgs, io: CliIo, ds?: Datastore): Promise<number> {
  const kind = parseKind(args.kind);
  if (!kind) {
    io.stderr(`tabby delete: unknown kind ${JSON.stringify(args.kind)}; known kinds: ${kindList()}\n`);
    return 1;
  }
  return withDatastore(
    args,
    io,
    async (store) => {
      const ns = NAMESPACED_KINDS.has(kind) ? (args.namespace ?? 'default') : undefined;
      try {
        await new ResourceStore(store).delete(kind, args.name, ns);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        io.stderr(`tabby delete: ${kind} ${JSON.stringify(args.name)} not found\n`);
        return 1;
      }
      io.stdout(`${kind}/${ns ? `${ns}/` : ''}${args.name} deleted\n`);
      return 0;
    },
    ds,
  );
}
