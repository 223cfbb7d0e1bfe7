// @tabby/node: see README.md. Nothing is exported yet.
export {};
