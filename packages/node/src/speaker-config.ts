import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseConfig, type SpeakerConfig } from '@tabby/bgp';
import { BGPD_TEMPLATE_PATH, type ConfdMetrics, ConfdTemplate } from '@tabby/confd';
import { computeFlatView, type FlatViewInput } from '@tabby/datastore';

export interface SpeakerTemplateOptions {
  nodeName: string;
  /** The confd template to render (default: the shipped `bgpd.yaml.template`). */
  templatePath?: string;
  /** Session timers (s) for every session; the template's defaults when absent. */
  holdTime?: number;
  connectRetryTime?: number;
  /** Counts renders and failures (label: the template's file name). */
  metrics?: ConfdMetrics;
}

/**
 * The node's speaker config, rendered the way confd renders it: the datastore's resources become
 * Calico's flat key view (`computeFlatView`), the speaker template turns the view into a bgpd
 * YAML document, and the speaker's own loader validates it. `tabby confd` with the same template
 * writes the same file, so an operator can run the speaker from confd instead of the agent.
 */
export class SpeakerConfigRenderer {
  private readonly template: ConfdTemplate;
  private readonly source: string;

  constructor(private readonly opts: SpeakerTemplateOptions) {
    const path = opts.templatePath ?? BGPD_TEMPLATE_PATH;
    this.source = path;
    this.template = new ConfdTemplate(readFileSync(path, 'utf8'), path, {
      NODENAME: opts.nodeName,
      ...(opts.holdTime !== undefined ? { TABBY_HOLD_TIME: String(opts.holdTime) } : {}),
      ...(opts.connectRetryTime !== undefined ? { TABBY_CONNECT_RETRY_TIME: String(opts.connectRetryTime) } : {}),
    });
  }

  /** Renders and validates; throws with the template's or the loader's message (file, line, field). */
  render(input: FlatViewInput): { yaml: string; config: SpeakerConfig } {
    const name = basename(this.source);
    try {
      const out = this.renderOnce(input);
      this.opts.metrics?.rendered(name);
      return out;
    } catch (err) {
      this.opts.metrics?.failed(name);
      throw err;
    }
  }

  private renderOnce(input: FlatViewInput): { yaml: string; config: SpeakerConfig } {
    const kv = computeFlatView(input);
    const yaml = this.template.render(
      [...kv].map(([key, value]) => ({ key, value })),
      '/calico',
    );
    return { yaml, config: parseConfig(yaml, `${this.source} rendered for node ${this.opts.nodeName}`) };
  }
}
