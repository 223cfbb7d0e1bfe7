// @tabby/bgp: see README.md. Nothing is exported yet.
export {};
