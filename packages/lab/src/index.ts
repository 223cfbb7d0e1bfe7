// @tabby/lab: see README.md. Nothing is exported yet.
export {};
