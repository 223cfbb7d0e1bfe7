// @tabby/route-reflector: see README.md. Nothing is exported yet.
export {};
