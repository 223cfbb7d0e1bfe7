// @tabby/datastore: see README.md. Nothing is exported yet.
export {};
