import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * confd's collectors on a daemon's registry, by template (label `template`): renders, failed
 * renders (template or validation errors) and when a render last succeeded. The renderer reports
 * each render with `rendered` or `failed`.
 */
export class ConfdMetrics {
  private readonly renders: Counter<'template'>;
  private readonly errors: Counter<'template'>;
  private readonly lastSuccess: Gauge<'template'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['template'] as const;
    this.renders = new Counter({
      name: 'tabby_confd_renders_total',
      help: 'Template renders that succeeded.',
      labelNames,
      registers,
    });
    this.errors = new Counter({
      name: 'tabby_confd_render_errors_total',
      help: 'Template renders that failed (template error, or output its check refused).',
      labelNames,
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'tabby_confd_last_success_timestamp_seconds',
      help: 'When a render of the template last succeeded (Unix time).',
      labelNames,
      registers,
    });
  }

  rendered(template: string): void {
    this.renders.inc({ template });
    this.errors.inc({ template }, 0);
    this.lastSuccess.set({ template }, Date.now() / 1000);
  }

  failed(template: string): void {
    this.errors.inc({ template });
    this.renders.inc({ template }, 0);
  }
}
