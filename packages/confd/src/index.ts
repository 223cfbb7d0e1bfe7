// @tabby/confd: see README.md. Nothing is exported yet.
export {};
