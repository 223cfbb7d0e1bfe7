// @tabby/bgpctl: see README.md. Nothing is exported yet.
export {};
