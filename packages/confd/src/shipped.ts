import { fileURLToPath } from 'node:url';

/**
 * The confd directory shipped with this package (`conf.d/bird.toml` and
 * `templates/bird.cfg.template`). Resolves the same from `src/` and `dist/`.
 */
export const SHIPPED_CONFDIR: string = fileURLToPath(new URL('../confdir', import.meta.url));

/** The shipped BIRD 2 template. */
export const BIRD_TEMPLATE_PATH: string = fileURLToPath(
  new URL('../confdir/templates/bird.cfg.template', import.meta.url),
);

/** The shipped template for Tabby's own speaker (`tabby bgpd` YAML), the same peerings as the BIRD one. */
export const BGPD_TEMPLATE_PATH: string = fileURLToPath(
  new URL('../confdir/templates/bgpd.yaml.template', import.meta.url),
);
