// @tabby/cni: see README.md. Nothing is exported yet.
export {};
