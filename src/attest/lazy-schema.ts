// zod schemas built on first use instead of at module load. Building a zod schema is not free (each node is an object
// with its methods attached), and the pure libraries declare many that a given process never uses: a cold re-check
// of one zk entry (docs/recheck.md "Speed") used to build every attestation, task-pack and bulk-read schema before
// its first request. A module declares `export const xSchema = lazySchema(() => z.object(...))`; importers use
// `xSchema` exactly as before (parse, safeParse, shape, extend, as a member of another schema, z.infer), and the
// first of those builds it, once.

/**
 * The value `build()` returns, built the first time a property of it is read. The result stands in for that object
 * everywhere (every read, write and prototype test goes to it), so callers cannot tell the two apart, except by
 * identity: the stand-in is not `===` the object it forwards to (zod's own methods close over the built schema, so
 * what they return refers to that one).
 */
export function lazySchema<T extends object>(build: () => T): T {
  let schema: T | undefined;
  const built = (): T => (schema ??= build());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(built(), key),
    set: (_, key, value) => Reflect.set(built(), key, value),
    has: (_, key) => Reflect.has(built(), key),
    deleteProperty: (_, key) => Reflect.deleteProperty(built(), key),
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(built(), key, descriptor),
    ownKeys: () => Reflect.ownKeys(built()),
    getPrototypeOf: () => Reflect.getPrototypeOf(built()),
    getOwnPropertyDescriptor: (target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(built(), key);
      // A proxy may report a non-configurable property only if its own target has it (ECMA-262 §10.5.5); zod's
      // `_zod` is one.
      if (descriptor && !descriptor.configurable && !Reflect.getOwnPropertyDescriptor(target, key)) Reflect.defineProperty(target, key, descriptor);
      return descriptor;
    },
  });
}
