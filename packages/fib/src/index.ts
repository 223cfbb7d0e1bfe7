// @tabby/fib: see README.md. Nothing is exported yet.
export {};
