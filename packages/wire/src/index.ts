// @tabby/wire: see README.md. Nothing is exported yet.
export {};
